//! The demo's incident end to end with the real binary: Sigma alerts on real Windows events
//! become an incident whose score replays exactly, whose decisions follow the default
//! policies, and whose high-impact action waits for two distinct approvers.
#![expect(
    clippy::float_cmp,
    reason = "the replayed score must equal the stored one exactly"
)]

mod support;

use support::{json_of, rampart};

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
    // The replay is the run's own arithmetic on the same inputs: equal to the bit.
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
