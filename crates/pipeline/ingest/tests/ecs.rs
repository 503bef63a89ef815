//! ECS reader: golden mappings of the fixtures written from the ECS reference examples and
//! of the Kibana alert example, and properties that hold for any input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart_core::{Format, Ingested};
use rampart_ingest::{ReadOptions, read_bytes_all, read_path_all};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ecs")
        .join(name)
}

fn forced() -> ReadOptions {
    ReadOptions {
        format: Some(Format::Ecs),
        ..ReadOptions::default()
    }
}

/// The value with every object's keys in sorted order, so snapshots do not depend on whether
/// `serde_json` preserves insertion order (a feature another dependency may switch on).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn summary(item: &Ingested, with_attribute_values: bool) -> Value {
    match item {
        Ingested::Event(event) => {
            let attributes = if with_attribute_values {
                sorted(Value::Object(event.attributes.clone()))
            } else {
                json!(event.attributes.keys().collect::<Vec<_>>())
            };
            json!({
                "format": event.provenance.format,
                "position": event.provenance.position,
                "ecs": event.ecs,
                "attributes": attributes,
            })
        }
        Ingested::DeadLetter(letter) => json!({"dead_letter": letter.reason}),
        Ingested::Intel(object) => json!({"intel": object.stix_id}),
    }
}

#[test]
fn golden_ecs_documents() {
    let items = read_path_all(&fixture("events.ndjson"), &ReadOptions::default()).unwrap();
    assert_eq!(items.len(), 7);
    let all: Vec<Value> = items.iter().map(|item| summary(item, true)).collect();
    insta::assert_json_snapshot!("events", all);
}

#[test]
fn golden_kibana_alert() {
    let items = read_path_all(&fixture("kibana-alert.ndjson"), &ReadOptions::default()).unwrap();
    assert_eq!(items.len(), 1);
    let Ingested::Event(alert) = &items[0] else {
        panic!("{items:?}")
    };
    let mut techniques = alert.ecs.threat.technique.id.clone();
    techniques.sort();
    assert_eq!(techniques, ["T1218", "T1218.010"]);
    assert_eq!(alert.ecs.process.name.as_deref(), Some("regsvr32.exe"));
    assert_eq!(alert.ecs.event.kind.as_deref(), Some("signal"));
    insta::assert_json_snapshot!("kibana_alert", summary(&items[0], false));
}

#[test]
fn values_that_do_not_fit_stay_in_attributes() {
    let items = read_path_all(&fixture("events.ndjson"), &ReadOptions::default()).unwrap();
    let Ingested::Event(odd) = &items[6] else {
        panic!("{:?}", items[6])
    };
    assert!(odd.ecs.timestamp.is_none());
    assert_eq!(odd.attributes["@timestamp"], "not a date");
    assert_eq!(odd.attributes["source.ip"], "not-an-ip");
    assert_eq!(odd.attributes["process.pid"], -1);
    assert_eq!(odd.attributes["message"], "Hello World");
}

#[test]
fn non_objects_are_dead_letters() {
    let items = read_bytes_all("ecs.ndjson", b"{\"@timestamp\":1}\n[]\n42\n{\n", &forced());
    assert_eq!(items.len(), 4);
    assert!(matches!(items[0], Ingested::Event(_)));
    assert!(
        items[1..]
            .iter()
            .all(|item| matches!(item, Ingested::DeadLetter(_)))
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("@timestamp".to_owned()),
        Just("source".to_owned()),
        Just("ip".to_owned()),
        Just("port".to_owned()),
        Just("event".to_owned()),
        Just("category".to_owned()),
        Just("threat".to_owned()),
        Just("technique".to_owned()),
        Just("id".to_owned()),
        Just("process.pid".to_owned()),
        Just("host.ip".to_owned()),
        "[a-z_.]{1,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!("10.0.0.1")),
        Just(json!("2016-05-23T08:05:34.853Z")),
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
        for item in read_bytes_all("input.json", &bytes, &forced()) {
            prop_assert!(matches!(item, Ingested::Event(_) | Ingested::DeadLetter(_)));
        }
    }

    #[test]
    fn arbitrary_json_objects_give_one_event_each(
        object in prop::collection::btree_map("[a-z@_.]{1,10}", json_value(), 0..8),
    ) {
        let line = serde_json::to_vec(&object).unwrap();
        let items = read_bytes_all("input.json", &line, &forced());
        prop_assert_eq!(items.len(), 1);
        prop_assert!(matches!(items[0], Ingested::Event(_)));
    }
}
