//! `rampart train`, `eval`, `model explain` and scoring in `rampart run`, end to end with the
//! real binary on the bundled NSL-KDD rows: models are signed when trained, verified before
//! every load, and a changed model stops the run.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step should abort the test with its message"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn rampart(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("RAMPART_CONFIG")
        .env("RAMPART_LOG", "warn")
        .output()
        .expect("rampart runs")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "rampart failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn flows() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/nsl-kdd-200.txt")
}

fn train(data_dir: &Path, kind: &str) -> Value {
    let input = flows();
    json_of(&rampart(
        data_dir,
        &[
            "train",
            "--kind",
            kind,
            "--input",
            input.to_str().unwrap(),
            "--trees",
            "40",
            "--json",
        ],
    ))
}

#[test]
fn trained_models_are_signed_evaluated_explained_and_score_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let input = flows();
    let input = input.to_str().unwrap();

    let scorer = train(data, "scorer");
    assert_eq!(scorer["model"], "scorer-nsl-kdd");
    assert_eq!(scorer["rows"], 200);
    assert!(
        scorer["evaluation"]["roc_auc"].as_f64().unwrap() > 0.9,
        "{scorer}"
    );
    let dir = data.join("models/scorer-nsl-kdd");
    for file in ["model.json", "model.sig", "provenance.json"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let anomaly = train(data, "anomaly");
    assert!(anomaly["rows_fitted"].as_u64().unwrap() < 200);

    // Training again into the same directory needs --replace.
    let again = rampart(data, &["train", "--kind", "scorer", "--input", input]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));

    // The signature verifies with the standard verifier, and the provenance names the input.
    json_of(&rampart(
        data,
        &["model", "verify", dir.to_str().unwrap(), "--json"],
    ));
    let provenance = json_of(&rampart(
        data,
        &["model", "provenance", dir.to_str().unwrap(), "--json"],
    ));
    assert!(
        provenance.to_string().contains("nsl-kdd-200.txt"),
        "{provenance}"
    );

    let eval = json_of(&rampart(
        data,
        &[
            "eval",
            "--model",
            dir.to_str().unwrap(),
            "--input",
            input,
            "--json",
        ],
    ));
    for key in [
        "rows",
        "roc_auc",
        "pr_auc",
        "precision",
        "recall",
        "f1",
        "threshold",
    ] {
        assert!(eval[key].is_number(), "`{key}` missing in {eval}");
    }
    assert_eq!(eval["rows"], 200);

    let explained = json_of(&rampart(
        data,
        &[
            "model",
            "explain",
            dir.to_str().unwrap(),
            "--input",
            input,
            "--row",
            "2",
            "--json",
        ],
    ));
    let why = &explained["explanation"];
    let sum: f64 = why["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contribution"].as_f64().unwrap())
        .sum();
    assert!(why["additivity_error"].as_f64().unwrap() < 1e-9, "{why}");
    // Only the top 10 are shown, so their sum is close to, not exactly, output - base.
    assert!(sum.is_finite());

    // A hand-written record with an unseen category and a missing column is flagged, not lost.
    let odd = json_of(&rampart(
        data,
        &[
            "model",
            "explain",
            dir.to_str().unwrap(),
            "--event",
            r#"{"duration":0,"protocol_type":"quic","service":"http","flag":"SF","src_bytes":1e12}"#,
            "--json",
        ],
    ));
    let issues = odd["issues"].to_string();
    assert!(
        issues.contains("protocol_type") && issues.contains("dst_bytes"),
        "{issues}"
    );

    // The run scores every flow with both verified models and stores explained alerts.
    let run = json_of(&rampart(data, &["run", "--input", input, "--json"]));
    let by_source = &run["alerts_by_source"];
    assert!(by_source["scorer"].as_u64().unwrap() > 0, "{run}");
    assert!(by_source["anomaly"].as_u64().unwrap() > 0, "{run}");
    let alerts = json_of(&rampart(
        data,
        &["alerts", "list", "--kind", "scorer", "--json"],
    ));
    let alert = &alerts.as_array().unwrap()[0];
    for key in [
        "id",
        "kind",
        "rule_id",
        "title",
        "level",
        "score",
        "techniques",
        "tactics",
        "entities",
        "event_ids",
        "provenance",
    ] {
        assert!(!alert[key].is_null(), "`{key}` missing in {alert}");
    }
    assert_eq!(alert["explanation"]["model"], "scorer-nsl-kdd");
    assert!(
        alert["provenance"]["model_version"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Re-running the same input raises no new alert.
    let rerun = json_of(&rampart(data, &["run", "--input", input, "--json"]));
    assert_eq!(rerun["alerts_raised"], 0, "{rerun}");

    // A model changed after signing stops the run, and the refusal is in the audit log.
    let model_file = dir.join("model.json");
    // An attacker lowers the threshold so that every flow alerts (or raises it to hide one).
    let mut model: Value = serde_json::from_slice(&std::fs::read(&model_file).unwrap()).unwrap();
    model["threshold"] = Value::from(0.0001);
    std::fs::write(&model_file, serde_json::to_vec_pretty(&model).unwrap()).unwrap();
    let refused = rampart(data, &["run", "--input", input]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("failed verification") && stderr.contains("model.json"),
        "{stderr}"
    );
    let audit = json_of(&rampart(data, &["audit", "verify", "--json"]));
    assert!(audit.to_string().contains("entries"), "{audit}");
}

#[test]
fn degenerate_training_inputs_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let windows = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/splunk-T1047-wmi.jsonl.gz");
    let out = rampart(
        data,
        &[
            "train",
            "--kind",
            "scorer",
            "--input",
            windows.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no event carries flow features"),
        "{stderr}"
    );

    let missing = rampart(
        data,
        &["eval", "--model", "/nonexistent", "--input", "/nonexistent"],
    );
    assert!(!missing.status.success());
}

/// The demo's Windows events go through Sigma, correlation, Cedar decisions and narratives;
/// the incident's score replays exactly, and approvals follow the quorum rules.
#[test]
fn the_demo_incident_is_explained_decided_and_approved_by_distinct_people() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let demo = json_of(&rampart(data, &["demo", "--json"]));
    let incidents = demo["incidents"].as_array().unwrap();
    let top = &incidents[0];
    let techniques: Vec<&str> = top["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    // The bundled events were recorded while ATT&CK T1047 (WMI) ran.
    assert!(techniques.contains(&"T1047"), "{techniques:?}");
    let id = top["id"].as_str().unwrap();

    let explained = json_of(&rampart(data, &["incidents", "explain", id, "--json"]));
    let total = explained["explanation"]["total"].as_f64().unwrap();
    assert_eq!(
        total,
        explained["stored_score"].as_f64().unwrap(),
        "{explained}"
    );
    let contributions = explained["explanation"]["contributions"]
        .as_array()
        .unwrap();
    let sum: f64 = contributions
        .iter()
        .map(|c| c["value"].as_f64().unwrap())
        .sum();
    assert!((sum - total).abs() < 1e-9, "{sum} vs {total}");
    let first = contributions[0]["alert_id"].as_str().unwrap();
    let without = json_of(&rampart(
        data,
        &["incidents", "explain", id, "--without", first, "--json"],
    ));
    assert!(without["without_explanation"]["total"].as_f64().unwrap() < total);

    let shown = json_of(&rampart(data, &["incidents", "show", id, "--json"]));
    assert!(shown["narrative"]["text"].as_str().unwrap().contains(id));
    assert!(
        shown["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "Windows Management Instrumentation"),
        "{}",
        shown["techniques"]
    );

    let decisions = json_of(&rampart(data, &["decisions", "list", "--json"]));
    let contain = decisions
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["action"] == "contain_host")
        .expect("the default policies ask to contain the host");
    assert_eq!(contain["status"], "pending (0 of 2 approvals)");
    let did = contain["id"].as_str().unwrap();
    let vote = |by: &str| {
        rampart(
            data,
            &["decisions", "approve", did, "--by", by, "--reason", "seen"],
        )
    };
    assert!(
        !vote("rampart").status.success(),
        "the requester cannot approve"
    );
    assert!(vote("alice").status.success());
    assert!(!vote("alice").status.success(), "one person, one approval");
    let approved = json_of(&rampart(
        data,
        &[
            "decisions",
            "approve",
            did,
            "--by",
            "bob",
            "--reason",
            "seen",
            "--json",
        ],
    ));
    assert_eq!(approved["decision"]["status"], "approved");
    assert_eq!(approved["executed"], "dry_run");

    // Re-running the demo's input decides nothing twice.
    let input = data.join("demo-input");
    let rerun = json_of(&rampart(
        data,
        &["run", "--input", input.to_str().unwrap(), "--json"],
    ));
    assert_eq!(rerun["decisions"], 0, "{rerun}");
    let after = json_of(&rampart(data, &["decisions", "list", "--json"]));
    assert_eq!(
        after.as_array().unwrap().len(),
        decisions.as_array().unwrap().len()
    );
    // The audit log still verifies with every decision and vote in it.
    json_of(&rampart(data, &["audit", "verify", "--json"]));
}
