//! `rampart train`, `eval`, `model explain` and scoring in `rampart run`, end to end with the
//! real binary on the bundled NSL-KDD rows: models are signed when trained, verified before
//! every load, and a changed model stops the run.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step should abort the test with its message"
)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{json_of, rampart};

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
fn trained_models_are_signed_evaluated_and_explained() {
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
}

#[test]
fn the_run_scores_with_verified_models_and_refuses_a_changed_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let input = flows();
    let input = input.to_str().unwrap();
    train(data, "scorer");
    train(data, "anomaly");
    let dir = data.join("models/scorer-nsl-kdd");

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

/// Labelled Zeek conn logs train a model from the store: the Stratosphere captures, the
/// `Background` rows left out as unknown.
#[test]
fn a_scorer_trains_on_labelled_zeek_events_in_the_store() {
    let shared = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    let capture = shared.join("stratosphere-zeek-labeled/008-zeek-mixed/data/conn.log.labeled");
    if !capture.exists() {
        eprintln!(
            "SKIPPED: {} is absent; set RAMPART_SHARED_DATA to run this test",
            capture.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    json_of(&rampart(
        data,
        &["run", "--input", capture.to_str().unwrap(), "--json"],
    ));
    let trained = json_of(&rampart(
        data,
        &[
            "train",
            "--kind",
            "scorer",
            "--from-store",
            "--trees",
            "40",
            "--json",
        ],
    ));
    assert_eq!(trained["layout"], "zeek-conn");
    assert!(
        trained["rows_unused"].as_u64().unwrap() > 0,
        "background rows are unknown: {trained}"
    );
    assert!(
        trained["evaluation"]["roc_auc"].as_f64().unwrap() > 0.95,
        "{trained}"
    );
    let provenance = json_of(&rampart(
        data,
        &[
            "model",
            "provenance",
            data.join("models/scorer-zeek-conn").to_str().unwrap(),
            "--json",
        ],
    ));
    assert!(provenance.to_string().contains("store:"), "{provenance}");
}
