//! STIX 2.1 reader: committed OASIS examples (golden), every STIX file of the shared data
//! sets (no dead letters), bad objects as dead letters, and properties for any input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart_core::{Format, Ingested, Position};
use rampart_ingest::{ReadOptions, read_bytes_all, read_path_all};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stix")
        .join(name)
}

fn shared_data() -> Option<PathBuf> {
    let root = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    root.is_dir().then_some(root)
}

fn forced() -> ReadOptions {
    ReadOptions {
        format: Some(Format::Stix),
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

fn summary(item: &Ingested) -> Value {
    match item {
        Ingested::Intel(object) => json!({
            "position": object.provenance.position,
            "stix_id": object.stix_id,
            "stix_type": object.stix_type,
            "modified": object.modified,
        }),
        Ingested::DeadLetter(letter) => json!({
            "position": letter.provenance.position,
            "dead_letter": letter.reason,
        }),
        Ingested::Event(event) => json!({"event": event.id.to_string()}),
    }
}

#[test]
fn golden_oasis_examples() {
    for name in [
        "indicators-for-C2-with-COA.json",
        "malicious-email-indicator-with-attachment.json",
    ] {
        let items = read_path_all(&fixture(name), &ReadOptions::default()).unwrap();
        assert!(
            items.iter().all(|item| matches!(item, Ingested::Intel(_))),
            "{items:?}"
        );
        let all: Vec<Value> = items.iter().map(summary).collect();
        insta::assert_json_snapshot!(name.trim_end_matches(".json"), all);
    }
}

#[test]
fn golden_indicator_object() {
    let items = read_path_all(
        &fixture("indicators-for-C2-with-COA.json"),
        &ReadOptions::default(),
    )
    .unwrap();
    let indicator = items
        .iter()
        .find_map(|item| match item {
            Ingested::Intel(object) if object.stix_type == "indicator" => Some(object),
            _ => None,
        })
        .unwrap();
    assert_eq!(indicator.provenance.format, Some(Format::Stix));
    insta::assert_json_snapshot!("indicator", sorted(indicator.object.clone()));
}

#[test]
fn every_type_is_kept_and_bad_objects_are_dead_letters() {
    let items = read_path_all(
        &fixture("types-and-bad-objects.json"),
        &ReadOptions::default(),
    )
    .unwrap();
    let all: Vec<Value> = items.iter().map(summary).collect();
    insta::assert_json_snapshot!("types_and_bad_objects", all);
    let dead: Vec<Position> = items
        .iter()
        .filter_map(|item| match item {
            Ingested::DeadLetter(letter) => Some(letter.provenance.position),
            _ => None,
        })
        .collect();
    assert_eq!(dead, [Position::Index(8), Position::Index(9)]);
}

#[test]
fn every_shared_stix_file_reads() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED stix corpus: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let root = data.join("threat-intel-stix-misp/stix21");
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = 0;
    for dir in ["examples", "examples/threat-reports"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        paths.sort();
        for path in paths {
            files += 1;
            let items = read_path_all(&path, &ReadOptions::default()).unwrap();
            assert!(!items.is_empty(), "{}", path.display());
            for item in items {
                let Ingested::Intel(object) = item else {
                    panic!("{}: {item:?}", path.display())
                };
                *by_type.entry(object.stix_type).or_default() += 1;
            }
        }
    }
    println!("stix examples: {files} files, objects by type: {by_type:?}");
    assert!(files >= 8);
    assert_eq!(by_type.get("indicator").copied(), Some(43));
    assert_eq!(by_type.get("relationship").copied(), Some(130));
    // `interop/` holds JSON Schemas for interoperability tests, not STIX content: detection
    // must turn them down rather than read them as STIX.
    let interop: Vec<PathBuf> = std::fs::read_dir(root.join("interop"))
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .collect();
    for path in &interop {
        for item in read_path_all(path, &ReadOptions::default()).unwrap() {
            let Ingested::DeadLetter(letter) = item else {
                panic!("{}: {item:?}", path.display())
            };
            assert!(
                letter.reason.starts_with("unsupported format"),
                "{}",
                letter.reason
            );
        }
    }
    println!(
        "stix interop: {} JSON Schema files, each an `unsupported format` dead letter",
        interop.len()
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for item in read_bytes_all("bundle.json", &bytes, &forced()) {
            prop_assert!(matches!(item, Ingested::Intel(_) | Ingested::DeadLetter(_)));
        }
    }

    #[test]
    fn each_bundle_object_gives_one_item(
        objects in prop::collection::vec(
            prop::collection::btree_map(
                prop_oneof![Just("type".to_owned()), Just("id".to_owned()), "[a-z_]{1,6}"],
                prop_oneof![Just(json!("indicator")), Just(json!("x--1")), "\\PC{0,8}".prop_map(Value::from), any::<i64>().prop_map(Value::from)],
                0..5,
            ),
            0..12,
        ),
        pretty in any::<bool>(),
    ) {
        let bundle = json!({"type": "bundle", "id": "bundle--1", "objects": objects});
        let bytes = if pretty { serde_json::to_vec_pretty(&bundle) } else { serde_json::to_vec(&bundle) }.unwrap();
        let items = read_bytes_all("bundle.json", &bytes, &forced());
        prop_assert_eq!(items.len(), objects.len());
        for (index, item) in items.iter().enumerate() {
            let position = match item {
                Ingested::Intel(object) => object.provenance.position,
                Ingested::DeadLetter(letter) => letter.provenance.position,
                Ingested::Event(_) => unreachable!(),
            };
            prop_assert_eq!(position, Position::Index(index as u64));
        }
    }

    #[test]
    fn truncated_bundles_never_panic(cut in 0usize..2000) {
        let text = std::fs::read(fixture("malicious-email-indicator-with-attachment.json")).unwrap();
        let end = cut.min(text.len());
        let items = read_bytes_all("bundle.json", &text[..end], &forced());
        for item in items {
            prop_assert!(matches!(item, Ingested::Intel(_) | Ingested::DeadLetter(_)));
        }
    }
}
