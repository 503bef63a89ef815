//! `[enrich]` end to end with the real binary: an IOC feed raises indicator alerts, a MISP
//! warninglist suppresses a match, and the asset inventory's criticality multiplies the risk
//! the incident's score is made of.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step should abort the test with its message"
)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::{json_of, rampart};

/// An ECS network event from `host` at second `second` to `destination`.
fn flow(host: &str, second: u32, destination: &str) -> String {
    serde_json::json!({
        "@timestamp": format!("2026-11-01T10:00:{second:02}Z"),
        "event": {"kind": "event", "category": ["network"], "type": ["connection"]},
        "host": {"name": host},
        "source": {"ip": "10.20.30.40", "port": 50_000 + second},
        "destination": {"ip": destination, "port": 443},
    })
    .to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn feeds_warninglists_and_the_inventory_shape_alerts_and_risk() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let files = tmp.path();
    // Documentation ranges only (RFC 5737).
    let feed = write(
        files,
        "c2.txt",
        "# C2 servers\n198.51.100.23\n203.0.113.9\n",
    );
    let warninglist = write(
        files,
        "list.json",
        r#"{"name":"Known CDN ranges","version":7,"type":"cidr","description":"test","list":["203.0.113.0/24"]}"#,
    );
    let inventory = write(
        files,
        "assets.csv",
        "kind,value,criticality,owner,tags\nhost,web-01,critical,it-ops,dmz\nhost,web-02,nonsense,x,y\n",
    );
    let config = write(
        files,
        "rampart.toml",
        &format!(
            "[enrich]\nintel = [{feed:?}]\nwarninglists = [{warninglist:?}]\ninventory = {inventory:?}\n"
        ),
    );
    let events = [
        flow("web-01", 1, "198.51.100.23"),
        flow("web-01", 2, "203.0.113.9"),
        flow("web-01", 3, "192.0.2.200"),
    ]
    .join("\n");
    let input = write(files, "flows.ndjson", &(events + "\n"));

    let output = rampart(
        &data,
        &["--config", &config, "run", "--input", &input, "--json"],
    );
    // The inventory's bad row is reported with its file and line; the rest loads.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("inventory row rejected") && stderr.contains("line 3"),
        "{stderr}"
    );
    let run = json_of(&output);
    // One match raises an alert; the other is on the warninglist; the third is clean.
    assert_eq!(run["alerts_by_source"]["indicator"], 1, "{run}");
    let alerts = json_of(&rampart(
        &data,
        &[
            "--config",
            &config,
            "alerts",
            "list",
            "--kind",
            "indicator",
            "--json",
        ],
    ));
    let alert = &alerts.as_array().unwrap()[0];
    assert!(alert.to_string().contains("198.51.100.23"), "{alert}");

    let incidents = json_of(&rampart(
        &data,
        &["--config", &config, "incidents", "list", "--json"],
    ));
    let id = incidents[0]["id"].as_str().unwrap();
    let explained = json_of(&rampart(
        &data,
        &["--config", &config, "incidents", "explain", id, "--json"],
    ));
    let contributions = explained["explanation"]["contributions"]
        .as_array()
        .unwrap();
    let host: Vec<&Value> = contributions
        .iter()
        .filter(|c| c["entity"]["value"] == "web-01")
        .collect();
    // The inventory says web-01 is critical: its risk counts double.
    assert!(!host.is_empty(), "{explained}");
    assert!(host.iter().all(|c| c["criticality"] == 2.0), "{explained}");
}
