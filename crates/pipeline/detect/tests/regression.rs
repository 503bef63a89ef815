//! `SigmaHQ`'s regression cases: every rule must fire on its own recorded event, and must not
//! fire once the values of the fields it tests are changed. Also loads the whole `SigmaHQ` rule
//! archive and prints what was loaded and rejected, by reason.
//!
//! Needs the shared data (`RAMPART_SHARED_DATA`, default `../shared/data` beside the
//! workspace); skips loudly when it is absent.

#![cfg(test)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_core::Ingested;
use rampart_detect::RuleSet;
use rampart_ingest::{ReadOptions, read_bytes_all, read_path_all};
use serde_json::Value;

fn shared_data() -> Option<PathBuf> {
    let path = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    path.join("sigma-rules").is_dir().then_some(path)
}

fn case_dirs(root: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.join("rule.yml").is_file() {
                out.push(path);
            } else {
                case_dirs(&path, out);
            }
        }
    }
}

fn events(path: &Path) -> Vec<rampart_core::Event> {
    read_path_all(path, &ReadOptions::default())
        .unwrap()
        .into_iter()
        .filter_map(|item| match item {
            Ingested::Event(event) => Some(*event),
            _ => None,
        })
        .collect()
}

/// Replaces the values of `fields` in the event data of every Windows event in `text`.
fn mutate(text: &str, fields: &[&str]) -> (String, usize) {
    let mut out = String::new();
    let mut changed = 0;
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let mut value = value.unwrap();
        if let Some(event) = value.get_mut("Event") {
            if let Some(Value::Object(data)) = event.get_mut("EventData") {
                changed += mutate_fields(data, fields);
            }
            // `UserData` wraps its fields in one element named after the event.
            if let Some(Value::Object(user_data)) = event.get_mut("UserData") {
                for child in user_data.values_mut() {
                    if let Value::Object(data) = child {
                        changed += mutate_fields(data, fields);
                    }
                }
            }
        }
        out.push_str(&serde_json::to_string(&value).unwrap());
        out.push('\n');
    }
    (out, changed)
}

fn mutate_fields(data: &mut serde_json::Map<String, Value>, fields: &[&str]) -> usize {
    let mut changed = 0;
    for (name, field) in data.iter_mut() {
        // Defender spells `Threat Name` where rules write `ThreatName`.
        let compact = name.replace(' ', "");
        if fields.contains(&compact.as_str()) {
            *field = match field {
                Value::Number(_) => Value::from(987_654_321u64),
                _ => Value::String(format!("rampart-negative-{name}")),
            };
            changed += 1;
        }
    }
    changed
}

#[test]
fn sigmahq_archive_loads_with_reasons_for_every_rejection() {
    let Some(data) = shared_data() else {
        eprintln!(
            "SKIPPED: shared data not found; set RAMPART_SHARED_DATA to load the SigmaHQ archive"
        );
        return;
    };
    let sigma = data.join("sigma-rules");
    let (all, report) = RuleSet::load(&sigma.join("sigmahq_rules_all.tar.gz")).unwrap();
    println!(
        "archive: {} files, {} loaded, {} correlations, {} rejected",
        report.files,
        report.loaded,
        report.correlations,
        report.rejections.len()
    );
    for (reason, count) in &report.by_reason {
        println!("  rejected {count:5}  {reason}");
    }
    for rejection in &report.rejections {
        if rejection.category() != "unsupported logsource" {
            println!("  REJECTED {}: {}", rejection.file, rejection.reason);
        }
    }
    assert_eq!(report.files, 3754);
    assert_eq!(report.loaded + report.rejections.len(), report.files);
    assert!(all.len() >= 2500, "only {} rules loaded", all.len());
}

#[test]
fn sigmahq_regression_cases() {
    let Some(data) = shared_data() else {
        eprintln!(
            "SKIPPED: shared data not found; set RAMPART_SHARED_DATA to run the Sigma regression cases"
        );
        return;
    };
    let sigma = data.join("sigma-rules");

    let mut dirs = Vec::new();
    case_dirs(&sigma.join("regression_cases"), &mut dirs);
    let (mut passed, mut negatives_passed, mut negatives_skipped) = (0usize, 0usize, 0usize);
    let mut failures = BTreeMap::new();
    let mut negative_failures = BTreeMap::new();
    for dir in &dirs {
        let name = dir.strip_prefix(&sigma).unwrap().display().to_string();
        let text = std::fs::read_to_string(dir.join("rule.yml")).unwrap();
        let rules = match RuleSet::from_yaml_str(&name, &text) {
            Ok(rules) => rules,
            Err(error) => {
                failures.insert(name, format!("rejected: {error}"));
                continue;
            }
        };
        let rule_id = rules.rules().next().unwrap().id.clone();
        let event_files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        let mut fired = false;
        for file in &event_files {
            for event in events(file) {
                let alerts = rules.evaluate(&event);
                if alerts.iter().any(|a| a.rule_id == rule_id) {
                    fired = true;
                    let alert = &alerts[0];
                    assert_eq!(alert.event_ids, [event.id]);
                    assert_eq!(rules.evaluate(&event), alerts, "alerts are deterministic");
                }
            }
        }
        if !fired {
            failures.insert(name, "no event fired the rule".to_owned());
            continue;
        }
        passed += 1;

        let fields = rules.rule_fields(&rule_id).unwrap();
        let mut any_changed = false;
        let mut negative_fired = false;
        for file in &event_files {
            let (mutated, changed) = mutate(&std::fs::read_to_string(file).unwrap(), &fields);
            any_changed |= changed > 0;
            for item in read_bytes_all("negative.json", mutated.as_bytes(), &ReadOptions::default())
            {
                if let Ingested::Event(event) = item {
                    negative_fired |= !rules.evaluate(&event).is_empty();
                }
            }
        }
        if !any_changed {
            println!(
                "  NEGATIVE NOT APPLICABLE {name}: tests no event-data field ({})",
                fields.join(", ")
            );
            negatives_skipped += 1;
        } else if negative_fired {
            negative_failures.insert(name, fields.join(", "));
        } else {
            negatives_passed += 1;
        }
    }
    println!(
        "regression: {} cases, {passed} passed, {} failed",
        dirs.len(),
        failures.len()
    );
    for (name, why) in &failures {
        println!("  FAIL {name}: {why}");
    }
    println!(
        "negatives: {negatives_passed} passed, {} fired, {negatives_skipped} without event-data fields to change",
        negative_failures.len()
    );
    for (name, fields) in &negative_failures {
        println!("  NEGATIVE FIRED {name} (changed: {fields})");
    }
    let rate = passed as f64 / dirs.len() as f64;
    assert!(
        dirs.len() >= 200,
        "only {} regression cases found",
        dirs.len()
    );
    assert!(rate >= 0.98, "regression pass rate {rate:.3} is under 0.98");
    assert!(
        negative_failures.len() * 50 <= negatives_passed,
        "too many negatives fired: {negative_failures:?}"
    );
}
