//! The intel store over the real samples in the shared data folder: the OASIS STIX 2.1
//! examples (`stix21/interop` holds JSON schemas, not objects), the MISP warninglists and the abuse.ch Feodo blocklist snapshot. Each test skips
//! loudly when the shared data is absent.

#![expect(clippy::unwrap_used, reason = "test setup fails the test by panicking")]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use rampart_core::{ContentHash, Ecs, Event, Position, Provenance};
use rampart_enrich::{IntelStore, LoadReport};
use serde_json::{Value, json};

fn intel_dir() -> Option<PathBuf> {
    let root = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    let dir = root.join("threat-intel-stix-misp");
    dir.is_dir().then_some(dir)
}

fn event(ecs: Value) -> Event {
    let ecs: Ecs = serde_json::from_value(ecs).unwrap();
    let raw = serde_json::to_string(&ecs).unwrap();
    let provenance = Provenance {
        source: "sample.json".into(),
        position: Position::Line(1),
        format: None,
        parser: "test".into(),
        ingested_at: Utc::now(),
        content_hash: ContentHash::of(raw.as_bytes()),
    };
    Event::new(ecs, raw, provenance)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn load_stix(dir: &Path) -> (IntelStore, Vec<LoadReport>) {
    let mut store = IntelStore::new();
    let mut files = Vec::new();
    json_files(&dir.join("stix21/examples"), &mut files);
    let reports = files
        .iter()
        .map(|f| store.load_stix_bundle(f).unwrap())
        .collect();
    (store, reports)
}

/// The simple equality tests of a pattern: (object path, value).
fn equalities(pattern: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in pattern.trim_matches(['[', ']', ' ']).split(" OR ") {
        if let Some((path, value)) = part.split_once(" = ") {
            out.push((
                path.trim().to_owned(),
                value.trim().trim_matches('\'').to_owned(),
            ));
        }
    }
    out
}

#[test]
fn oasis_examples_load_with_named_rejections() {
    let Some(dir) = intel_dir() else {
        eprintln!("SKIPPED STIX examples: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let (store, reports) = load_stix(&dir);
    let errors: Vec<String> = reports
        .iter()
        .flat_map(|r| r.errors.iter().map(ToString::to_string))
        .collect();
    for error in &errors {
        eprintln!("rejected: {error}");
    }
    // Every rejection names an unsupported construct; none is a syntax error in OASIS's own
    // examples.
    assert!(
        errors.iter().all(|e| e.contains("unsupported")),
        "{errors:#?}"
    );
    assert!(errors.iter().any(|e| e.contains("x509-certificate")));
    assert!(errors.iter().any(|e| e.contains("email-message")));
    // poisonivy.json: 25 indicators (hashes, names, domains and addresses), all evaluated.
    let poisonivy = reports
        .iter()
        .find(|r| r.source.ends_with("poisonivy.json"))
        .unwrap();
    assert!(poisonivy.errors.is_empty(), "{:#?}", poisonivy.errors);
    // 43 indicators in the examples; the 2 x509-certificate and 2 email-message ones are
    // rejected.
    assert_eq!(store.indicator_count(), 39);
    eprintln!(
        "{} indicators from {} files, {} rejected",
        store.indicator_count(),
        reports.len(),
        errors.len()
    );
}

#[test]
fn every_example_indicator_matches_an_event_carrying_its_value() {
    let Some(dir) = intel_dir() else {
        eprintln!("SKIPPED STIX example matching: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let (store, reports) = load_stix(&dir);
    let mut checked = 0;
    for report in &reports {
        let text = std::fs::read_to_string(&report.source).unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        let objects = document
            .get("objects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_else(|| vec![document.clone()]);
        for object in objects.iter().filter(|o| o["type"] == "indicator") {
            let id = object["id"].as_str().unwrap();
            let Some(indicator) = store.indicator(id) else {
                continue;
            };
            let now: DateTime<Utc> =
                indicator.valid_from.unwrap_or_else(Utc::now) + Duration::days(1);
            for (path, value) in equalities(object["pattern"].as_str().unwrap()) {
                let ecs = match path.as_str() {
                    "ipv4-addr:value" if !value.contains('/') => {
                        json!({"destination": {"ip": value}})
                    }
                    "ipv4-addr:value" => {
                        json!({"destination": {"ip": value.split('/').next().unwrap()}})
                    }
                    "domain-name:value" => json!({"dns": {"question": {"name": value}}}),
                    "file:hashes.md5" => json!({"file": {"hash": {"md5": value}}}),
                    "file:hashes.'SHA-256'" => json!({"file": {"hash": {"sha256": value}}}),
                    "file:name" => json!({"file": {"name": value}}),
                    "url:value" => json!({"url": {"full": value}}),
                    other => panic!("no event shape for `{other}` in {id}"),
                };
                let matches = store.match_event(&event(ecs.clone()), now);
                assert!(
                    matches.iter().any(|m| m.indicator_id == id),
                    "{id} does not match {ecs}"
                );
                // The same event long after the indicator's lifetime does not match it.
                let late = store.match_event(&event(ecs), now + Duration::days(3650));
                assert!(
                    late.iter().all(|m| m.indicator_id != id),
                    "{id} still matches ten years on"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "{checked}");
}

#[test]
fn warninglists_load_and_suppress_the_private_c2_example() {
    let Some(dir) = intel_dir() else {
        eprintln!("SKIPPED warninglists: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let mut store = IntelStore::new();
    let reports = store
        .load_warninglists(dir.join("misp-warninglists/lists"))
        .unwrap();
    assert_eq!(reports.len(), 124);
    let mut entries = 0;
    for report in &reports {
        for error in &report.errors {
            eprintln!("warninglist entry skipped: {error}");
        }
        assert!(
            report.loaded > 0 || !report.errors.is_empty(),
            "{}",
            report.source
        );
        entries += report.loaded;
    }
    assert_eq!(store.warninglist_count(), 124);
    assert!(entries > 50_000, "{entries}");
    let report = store
        .load_stix_bundle(dir.join("stix21/examples/indicator-for-c2-ip-address.json"))
        .unwrap();
    assert_eq!(report.loaded, 1, "{report:?}");
    let private = event(json!({"source": {"ip": "192.0.2.10"}, "destination": {"ip": "10.0.0.0"}}));
    let now: DateTime<Utc> = "2014-05-09T00:00:00Z".parse().unwrap();
    let matches = store.match_event(&private, now);
    assert_eq!(matches.len(), 1);
    let suppressed = matches[0]
        .suppressed
        .as_ref()
        .expect("10.0.0.0 is on an allow-list");
    assert!(suppressed.entry.starts_with("10.0.0.0/"), "{suppressed:?}");
    eprintln!(
        "suppressed by `{}` entry {}",
        suppressed.warninglist, suppressed.entry
    );
    assert!(store.alerts_for(&private, now).is_empty());
    // Known-benign domains from the lists suppress domain indicators too.
    store.add_ioc_list("test", "bit.ly\n");
    let short = event(json!({"dns": {"question": {"name": "bit.ly"}}}));
    let m = store.match_event(&short, Utc::now());
    assert_eq!(m.len(), 1);
    assert!(m[0].is_suppressed(), "{m:?}");
}

#[test]
fn feodo_blocklist_loads_and_decays() {
    let Some(dir) = intel_dir() else {
        eprintln!("SKIPPED Feodo list: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let mut store = IntelStore::new();
    let report = store
        .load_ioc_list(dir.join("abusech-feodo/ipblocklist_2024-04-04.csv"))
        .unwrap();
    assert_eq!((report.loaded, report.errors.len()), (28, 0), "{report:?}");
    let c2 = event(
        json!({"source": {"ip": "10.1.1.1"}, "destination": {"ip": "192.9.135.73", "port": 1194}}),
    );
    let snapshot: DateTime<Utc> = "2024-04-04T07:03:03Z".parse().unwrap();
    let matches = store.match_event(&c2, snapshot);
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].indicator_name, "Pikabot 192.9.135.73");
    assert_eq!(matches[0].source.version, "2024-04-04 07:03:03 UTC");
    assert_eq!(store.alerts_for(&c2, snapshot).len(), 1);
    // The snapshot is old: 60 days after its `last_online` the address no longer counts.
    let later: DateTime<Utc> = "2024-06-15T00:00:00Z".parse().unwrap();
    assert!(store.match_event(&c2, later).is_empty());
}
