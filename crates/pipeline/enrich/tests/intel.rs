//! The intel store end to end: STIX objects, IOC lists and warninglists in, matches and
//! alerts out.

#![expect(clippy::unwrap_used, reason = "test setup fails the test by panicking")]

use chrono::{DateTime, Utc};
use rampart_core::{
    AlertSource, ContentHash, Ecs, EntityKind, EntityRef, Event, Level, Position, Provenance,
};
use rampart_enrich::{Added, IntelStore, SourceInfo, Tlp};
use serde_json::{Value, json};

fn event(ecs: Value) -> Event {
    let ecs: Ecs = serde_json::from_value(ecs).unwrap();
    let raw = serde_json::to_string(&ecs).unwrap();
    let provenance = Provenance {
        source: "conn.json".into(),
        position: Position::Line(7),
        format: None,
        parser: "test".into(),
        ingested_at: Utc::now(),
        content_hash: ContentHash::of(raw.as_bytes()),
    };
    Event::new(ecs, raw, provenance)
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn source() -> SourceInfo {
    SourceInfo::new("unit", "1")
}

fn indicator(id: &str, pattern: &str, extra: Value) -> Value {
    let mut object = json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
    });
    if let (Value::Object(target), Value::Object(extra)) = (&mut object, extra) {
        target.extend(extra);
    }
    object
}

const C2: &str = "indicator--11111111-1111-4111-8111-111111111111";

fn c2_event() -> Event {
    event(json!({
        "@timestamp": "2024-01-10T12:00:00Z",
        "source": {"ip": "10.0.0.5", "port": 50123},
        "destination": {"ip": "203.0.113.9", "port": 443}
    }))
}

#[test]
fn matches_carry_source_score_tlp_and_techniques() {
    let mut store = IntelStore::new();
    let amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
    let added = store
        .add_stix_object(
            &indicator(C2, "[ipv4-addr:value = '203.0.113.0/24']", json!({
                "name": "C2 range", "confidence": 80, "object_marking_refs": [amber],
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"}]
            })),
            &source(),
        )
        .unwrap();
    assert_eq!(added, Added::Indicator);
    let pattern = json!({"type": "attack-pattern", "id": "attack-pattern--aaaa", "name": "Application Layer Protocol",
        "external_references": [{"source_name": "mitre-attack", "external_id": "T1071"}]});
    assert_eq!(
        store.add_stix_object(&pattern, &source()).unwrap(),
        Added::AttackPattern
    );
    let relation = json!({"type": "relationship", "id": "relationship--r1", "relationship_type": "indicates",
        "source_ref": C2, "target_ref": "attack-pattern--aaaa"});
    assert_eq!(
        store.add_stix_object(&relation, &source()).unwrap(),
        Added::Relationship
    );

    let event = c2_event();
    let matches = store.match_event(&event, at("2024-01-10T12:00:00Z"));
    assert_eq!(matches.len(), 1);
    let m = &matches[0];
    assert_eq!(m.indicator_id, C2);
    assert_eq!(m.source, source());
    assert_eq!(m.tlp, Some(Tlp::Amber));
    assert_eq!(m.techniques, ["T1071"]);
    assert_eq!(m.tactics, ["command-and-control"]);
    assert_eq!(
        m.observables[0].entity,
        Some(EntityRef::new(EntityKind::Ip, "203.0.113.9"))
    );
    // IP rule: 60 days; nine and a half days in, the score has decayed below the base.
    assert!(m.score < 80.0 && m.score > 30.0, "{}", m.score);
    assert_eq!(m.level(), Level::High);

    let alerts = store.alerts_for(&event, at("2024-01-10T12:00:00Z"));
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(alert.source, AlertSource::Indicator);
    assert_eq!(alert.rule_id, C2);
    assert_eq!(alert.event_ids, [event.id]);
    assert_eq!(alert.techniques, ["T1071"]);
    assert_eq!(
        alert.entities,
        [EntityRef::new(EntityKind::Ip, "203.0.113.9")]
    );
    assert!(
        alert.title.contains("C2 range") && alert.title.contains("203.0.113.9"),
        "{}",
        alert.title
    );
    // Re-processing the same event gives the same alert id (idempotent), a later time too.
    let again = store.alerts_for(&event, at("2024-01-11T00:00:00Z"));
    assert_eq!(again[0].id, alert.id);
}

#[test]
fn validity_revocation_and_decay_gate_matches() {
    let mut store = IntelStore::new();
    store
        .add_stix_object(
            &indicator(
                C2,
                "[ipv4-addr:value = '203.0.113.9']",
                json!({"valid_until": "2024-02-01T00:00:00Z"}),
            ),
            &source(),
        )
        .unwrap();
    let event = c2_event();
    assert!(
        store
            .match_event(&event, at("2023-12-31T00:00:00Z"))
            .is_empty(),
        "not yet valid"
    );
    assert_eq!(
        store.match_event(&event, at("2024-01-02T00:00:00Z")).len(),
        1
    );
    assert!(
        store
            .match_event(&event, at("2024-02-01T00:00:00Z"))
            .is_empty(),
        "expired"
    );

    // A newer version that revokes the indicator replaces it; an older one is ignored.
    let revoked = indicator(
        C2,
        "[ipv4-addr:value = '203.0.113.9']",
        json!({"modified": "2024-01-05T00:00:00Z", "revoked": true}),
    );
    assert_eq!(
        store.add_stix_object(&revoked, &source()).unwrap(),
        Added::Indicator
    );
    assert!(
        store
            .match_event(&event, at("2024-01-06T00:00:00Z"))
            .is_empty(),
        "revoked"
    );
    let older = indicator(
        C2,
        "[ipv4-addr:value = '203.0.113.9']",
        json!({"modified": "2024-01-02T00:00:00Z"}),
    );
    assert_eq!(
        store.add_stix_object(&older, &source()).unwrap(),
        Added::Unchanged
    );
    assert_eq!(store.indicator_count(), 1);

    // Without valid_until, an IP indicator decays away after 60 days...
    let mut store = IntelStore::new();
    store
        .add_stix_object(
            &indicator(C2, "[ipv4-addr:value = '203.0.113.9']", json!({})),
            &source(),
        )
        .unwrap();
    assert!(
        store
            .match_event(&event, at("2024-03-02T00:00:00Z"))
            .is_empty(),
        "decayed"
    );
    // ...and a sighting restarts the curve at the base score.
    let sighting = json!({"type": "sighting", "id": "sighting--s1", "sighting_of_ref": C2,
        "created": "2024-02-20T00:00:00Z", "modified": "2024-02-20T00:00:00Z", "last_seen": "2024-02-25T00:00:00Z"});
    assert_eq!(
        store.add_stix_object(&sighting, &source()).unwrap(),
        Added::Sighting
    );
    let matches = store.match_event(&event, at("2024-03-02T00:00:00Z"));
    assert_eq!(matches.len(), 1);
    let fresh = store.match_event(&event, at("2024-02-25T00:00:00Z"));
    assert!((fresh[0].score - fresh[0].base_score).abs() < 1e-9);
    assert!(store.observe(C2, at("2024-04-01T00:00:00Z")));
    assert_eq!(
        store.match_event(&event, at("2024-04-10T00:00:00Z")).len(),
        1
    );
}

#[test]
fn warninglists_suppress_matches_and_alerts() {
    let mut store = IntelStore::new();
    store
        .add_stix_object(
            &indicator(
                C2,
                "[ipv4-addr:value = '10.0.0.0/8']",
                json!({"name": "internal"}),
            ),
            &source(),
        )
        .unwrap();
    let list = json!({"name": "List of RFC 1918 CIDR blocks", "version": 5, "type": "cidr", "description": "x",
        "list": ["10.0.0.0/8", "172.16.0.0/12"], "matching_attributes": ["ip-src", "ip-dst"]});
    let report = store.add_warninglist("rfc1918", &list.to_string()).unwrap();
    assert_eq!(report.loaded, 2);
    let event = c2_event();
    let matches = store.match_event(&event, at("2024-01-02T00:00:00Z"));
    assert_eq!(matches.len(), 1);
    let suppressed = matches[0].suppressed.as_ref().unwrap();
    assert_eq!(suppressed.warninglist, "List of RFC 1918 CIDR blocks");
    assert_eq!(suppressed.version, "5");
    assert_eq!(suppressed.entry, "10.0.0.0/8");
    assert!(
        store
            .alerts_for(&event, at("2024-01-02T00:00:00Z"))
            .is_empty()
    );
}

#[test]
fn bad_objects_are_reported_and_the_rest_loads() {
    let mut store = IntelStore::new();
    let bundle = json!({"type": "bundle", "id": "bundle--b1", "objects": [
        indicator("indicator--a", "[domain-name:value = 'evil.example']", json!({})),
        indicator("indicator--b", "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']", json!({})),
        indicator("indicator--c", "[ipv4-addr:value = ", json!({})),
        indicator("indicator--d", "rule x { condition: true }", json!({"pattern_type": "yara"})),
        {"type": "malware", "id": "malware--m", "name": "x", "is_family": true},
        {"id": "no-type"},
        indicator("indicator--e", "[url:value = 'http://x.example/']", json!({"confidence": 150})),
    ]});
    let report = store
        .add_stix_document("bundle.json", &bundle.to_string())
        .unwrap();
    assert_eq!(
        (report.loaded, report.ignored, report.errors.len()),
        (1, 1, 5),
        "{:#?}",
        report.errors
    );
    let items: Vec<&str> = report.errors.iter().map(|e| e.item.as_str()).collect();
    assert_eq!(
        items,
        [
            "object 1 (indicator--b)",
            "object 2 (indicator--c)",
            "object 3 (indicator--d)",
            "object 5 (no-type)",
            "object 6 (indicator--e)"
        ]
    );
    assert!(report.errors[0].reason.contains("FOLLOWEDBY"));
    assert!(report.errors[1].reason.contains("syntax error"));
    assert!(report.errors[2].reason.contains("yara"));
    assert!(report.errors[4].reason.contains("confidence"));
    assert!(report.errors.iter().all(|e| e.source == "bundle.json"));
    let dns = event(json!({"dns": {"question": {"name": "evil.example"}}}));
    assert_eq!(store.match_event(&dns, at("2024-01-02T00:00:00Z")).len(), 1);
    assert!(store.add_stix_document("x", "{not json").is_err());
}

#[test]
fn ioc_lists_load_and_match() {
    let mut store = IntelStore::new();
    let text = "# Last updated: 2024-04-04 07:03:03 UTC\nvalue,confidence\n203.0.113.9,90\nevil.example,40\n\
http://evil.example/a,x\n44d88612fea8a8f36de82e1278abb02f,10\nbad value,5\n";
    let report = store.add_ioc_list("feed.csv", text);
    assert_eq!(report.loaded, 3);
    assert_eq!(report.errors.len(), 2);
    assert_eq!(report.errors[0].item, "line 5");
    assert_eq!(report.errors[1].item, "line 7");
    let event = c2_event();
    let matches = store.match_event(&event, Utc::now());
    assert_eq!(matches.len(), 1);
    assert_eq!(
        matches[0].source,
        SourceInfo::new("ioc:feed.csv", "2024-04-04 07:03:03 UTC")
    );
    assert_eq!(matches[0].confidence, Some(90));
    assert_eq!(matches[0].indicator_id, "ioc--feed.csv--203.0.113.9");
    let file = event_with_hash("44D88612FEA8A8F36DE82E1278ABB02F");
    assert_eq!(store.match_event(&file, Utc::now())[0].level(), Level::Low);
}

fn event_with_hash(md5: &str) -> Event {
    event(json!({"file": {"hash": {"md5": md5}}}))
}

#[test]
fn intel_objects_from_ingestion_are_accepted() {
    let object = indicator(C2, "[ipv4-addr:value = '203.0.113.9']", json!({}));
    let intel = rampart_core::IntelObject {
        stix_id: C2.into(),
        stix_type: "indicator".into(),
        modified: Some("2024-01-01T00:00:00Z".into()),
        object,
        provenance: Provenance {
            source: "/intel/bundle.json".into(),
            position: Position::Index(0),
            format: Some(rampart_core::Format::Stix),
            parser: "stix/1".into(),
            ingested_at: Utc::now(),
            content_hash: ContentHash::of(b"x"),
        },
    };
    let mut store = IntelStore::new();
    assert_eq!(store.add_intel_object(&intel).unwrap(), Added::Indicator);
    let m = store.match_event(&c2_event(), at("2024-01-02T00:00:00Z"));
    assert_eq!(
        m[0].source,
        SourceInfo::new("stix:/intel/bundle.json", "2024-01-01T00:00:00Z")
    );
}

#[test]
fn stores_are_shareable_across_threads_and_reloads_do_not_grow() {
    fn shareable<T: Send + Sync>() {}
    shareable::<IntelStore>();
    shareable::<rampart_enrich::Catalog>();
    shareable::<rampart_enrich::Inventory>();
    let mut store = IntelStore::new();
    for _ in 0..3 {
        let report = store.add_ioc_list("feed.txt", "203.0.113.9\nevil.example\n");
        assert_eq!(report.loaded, 2);
    }
    assert_eq!(store.indicator_count(), 2);
    assert_eq!(store.match_event(&c2_event(), Utc::now()).len(), 1);
}

#[test]
fn warninglist_folders_load_each_list_and_report_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "good",
            r#"{"name": "good", "version": 1, "type": "string", "description": "x", "list": ["evil.example"]}"#,
        ),
        ("bad", "{not json"),
    ] {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("list.json"), text).unwrap();
    }
    let mut store = IntelStore::new();
    let reports = store.load_warninglists(dir.path()).unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports[0].source.ends_with("bad/list.json"));
    assert_eq!(reports[0].errors.len(), 1);
    assert!(
        reports[0].errors[0]
            .reason
            .contains("not a valid MISP warninglist"),
        "{}",
        reports[0].errors[0]
    );
    assert_eq!(reports[1].loaded, 1);
    assert_eq!(store.warninglist_count(), 1);
    assert!(store.load_warninglists(dir.path().join("missing")).is_err());
}
