//! OCSF reader: golden ECS mappings of the fixtures (one per class), JSON lines and
//! pretty-printed framing, and properties that hold for any input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart_core::{Format, Ingested};
use rampart_ingest::{ReadOptions, read_bytes_all, read_path_all};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocsf")
}

fn forced() -> ReadOptions {
    ReadOptions {
        format: Some(Format::Ocsf),
        ..ReadOptions::default()
    }
}

/// What a golden snapshot pins: the ECS fields and how many `ocsf.*` attributes were kept.
fn summary(items: &[Ingested]) -> Value {
    let list: Vec<Value> = items
        .iter()
        .map(|item| match item {
            Ingested::Event(event) => json!({
                "format": event.provenance.format,
                "position": event.provenance.position,
                "ecs": event.ecs,
                "ocsf_attributes": event.attributes.keys().filter(|k| k.starts_with("ocsf.")).count(),
            }),
            Ingested::DeadLetter(letter) => json!({"dead_letter": letter.reason}),
            Ingested::Intel(object) => json!({"intel": object.stix_id}),
        })
        .collect();
    Value::Array(list)
}

#[test]
fn golden_ecs_mapping_of_every_fixture() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            Path::new(name)
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        // Detection, not a forced format: the fixtures must be recognised as OCSF.
        let items = read_path_all(&fixtures().join(&name), &ReadOptions::default()).unwrap();
        assert_eq!(items.len(), 1, "{name}: {items:?}");
        let snapshot = name.trim_end_matches(".json").to_owned();
        insta::assert_json_snapshot!(snapshot, summary(&items));
    }
}

#[test]
fn json_lines_give_the_same_events_as_the_documents() {
    let lines = read_path_all(&fixtures().join("events.ndjson"), &ReadOptions::default()).unwrap();
    assert_eq!(lines.len(), 10);
    for (index, item) in lines.iter().enumerate() {
        let Ingested::Event(event) = item else {
            panic!("line {}: {item:?}", index + 1)
        };
        assert_eq!(event.provenance.format, Some(Format::Ocsf));
        assert!(event.ecs.timestamp.is_some(), "line {}", index + 1);
        assert!(event.ecs.event.code.is_some());
    }
}

#[test]
fn class_specific_fields_are_mapped() {
    let read = |name: &str| {
        let items = read_path_all(&fixtures().join(name), &ReadOptions::default()).unwrap();
        let Some(Ingested::Event(event)) = items.into_iter().next() else {
            panic!("{name}: no event")
        };
        event
    };
    let dns = read("dns_activity_4003_zeek_dns.json");
    assert_eq!(
        dns.ecs.dns.question.name.as_deref(),
        Some("updates.example.net")
    );
    let http = read("http_activity_4002_zeek_http.json");
    assert_eq!(
        http.ecs.url.full.as_deref(),
        Some("http://www.example.com/wp-login.php")
    );
    let logon = read("authentication_3002_okta.json");
    assert_eq!(logon.ecs.event.outcome.as_deref(), Some("failure"));
    assert_eq!(logon.ecs.user.name.as_deref(), Some("Jane Doe"));
    let process = read("process_activity_1007_windows_4688.json");
    assert_eq!(process.ecs.process.pid, Some(4696));
    assert_eq!(process.ecs.process.parent.pid, Some(3948));
    let finding = read("detection_finding_2004_attacks.json");
    assert_eq!(finding.ecs.event.kind.as_deref(), Some("alert"));
    assert_eq!(
        finding.ecs.threat.technique.id,
        ["T1059", "T1059.001", "T1027"]
    );
    assert_eq!(finding.ecs.rule.id.as_deref(), Some("rule-0001"));
    assert_eq!(finding.ecs.process.pid, Some(6120));
}

#[test]
fn records_without_class_uid_are_dead_letters() {
    let items = read_bytes_all(
        "ocsf.ndjson",
        b"{\"class_uid\":4001,\"time\":1}\n{\"time\":1}\n[1]\nnot json\n",
        &forced(),
    );
    assert_eq!(items.len(), 4);
    assert!(matches!(items[0], Ingested::Event(_)));
    assert!(
        items[1..]
            .iter()
            .all(|item| matches!(item, Ingested::DeadLetter(_)))
    );
}

/// Arbitrary JSON whose keys are often the ones the mapping reads.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("class_uid".to_owned()),
        Just("time".to_owned()),
        Just("src_endpoint".to_owned()),
        Just("ip".to_owned()),
        Just("port".to_owned()),
        Just("finding_info".to_owned()),
        Just("attacks".to_owned()),
        Just("technique".to_owned()),
        Just("uid".to_owned()),
        Just("process".to_owned()),
        Just("evidences".to_owned()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just(4001_i64),
            Just(4002),
            Just(4003),
            Just(3002),
            Just(1007),
            Just(2004)
        ]
        .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let items = read_bytes_all("input.json", &bytes, &forced());
        for item in items {
            prop_assert!(matches!(item, Ingested::Event(_) | Ingested::DeadLetter(_)));
        }
    }

    #[test]
    fn arbitrary_json_objects_give_one_item_each(
        mut object in prop::collection::btree_map("[a-z_]{1,8}", json_value(), 0..8),
        class in prop_oneof![Just(4001_u64), Just(4002), Just(4003), Just(3002), Just(1007), Just(2004), Just(9999)],
    ) {
        object.insert("class_uid".to_owned(), json!(class));
        let line = serde_json::to_vec(&object).unwrap();
        let items = read_bytes_all("input.json", &line, &forced());
        prop_assert_eq!(items.len(), 1);
    }
}
