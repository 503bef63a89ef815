//! The model file as untrusted input: round trips, targeted corruptions, caps
//! checked before allocation, and arbitrary mutations that must never panic.
#![cfg(test)]

use proptest::prelude::*;
use rampart_ml::MlError;
use rampart_ml::model::Model;
use rampart_ml::model_file::{ModelFile, ModelLimits};
use serde_json::Value as Json;

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}.model.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

type Corruption = Box<dyn Fn(&mut Json)>;

fn load(json: &Json) -> Result<Model, MlError> {
    Model::from_bytes(&serde_json::to_vec(json).unwrap(), &ModelLimits::default())
}

#[test]
fn round_trip_is_byte_identical() {
    for name in ["nsl_scorer", "nsl_anomaly"] {
        let original = bytes(name);
        let model = Model::from_bytes(&original, &ModelLimits::default()).unwrap();
        let again = model.to_bytes().unwrap();
        let reparsed = ModelFile::from_bytes(&again, &ModelLimits::default()).unwrap();
        assert_eq!(&reparsed, model.file());
        assert_eq!(
            again,
            Model::from_bytes(&again, &ModelLimits::default())
                .unwrap()
                .to_bytes()
                .unwrap()
        );
    }
}

#[test]
fn targeted_corruptions_are_rejected_with_reasons() {
    let good: Json = serde_json::from_slice(&bytes("nsl_scorer")).unwrap();
    let cases: Vec<(&str, Corruption)> = vec![
        (
            "cycle",
            Box::new(|j| j["body"]["trees"][0]["children_left"][1] = Json::from(0)),
        ),
        (
            "self loop",
            Box::new(|j| j["body"]["trees"][0]["children_left"][0] = Json::from(0)),
        ),
        (
            "out of range child",
            Box::new(|j| j["body"]["trees"][0]["children_right"][0] = Json::from(100_000)),
        ),
        (
            "short array",
            Box::new(|j| {
                j["body"]["trees"][0]["cover"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "feature out of range",
            Box::new(|j| j["body"]["trees"][0]["features"][0] = Json::from(1_000_000)),
        ),
        (
            "zero cover",
            Box::new(|j| j["body"]["trees"][0]["cover"][0] = Json::from(0.0)),
        ),
        (
            "kind mismatch",
            Box::new(|j| j["kind"] = Json::from("anomaly")),
        ),
        (
            "future version",
            Box::new(|j| j["version"] = Json::from(99)),
        ),
        (
            "wrong format",
            Box::new(|j| j["format"] = Json::from("pickle")),
        ),
        (
            "unknown field",
            Box::new(|j| j["exec"] = Json::from("rm -rf /")),
        ),
        (
            "feature names",
            Box::new(|j| {
                j["feature_names"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "no trees",
            Box::new(|j| j["body"]["trees"] = Json::Array(vec![])),
        ),
    ];
    for (what, corrupt) in cases {
        let mut j = good.clone();
        corrupt(&mut j);
        let err = load(&j).expect_err(what);
        let message = err.to_string();
        assert!(
            !message.is_empty() && !message.ends_with('.'),
            "{what}: {message}"
        );
    }
    assert!(matches!(
        load(&{
            let mut j = good.clone();
            j["version"] = Json::from(2);
            j
        }),
        Err(MlError::UnsupportedVersion { found: 2, .. })
    ));
}

#[test]
fn caps_are_enforced() {
    let good = bytes("nsl_anomaly");
    let tight = ModelLimits {
        max_bytes: 100,
        ..ModelLimits::default()
    };
    assert!(matches!(
        Model::from_bytes(&good, &tight),
        Err(MlError::LimitExceeded { .. })
    ));
    let shallow = ModelLimits {
        tree: rampart_ml::tree::TreeLimits {
            max_nodes: 1 << 17,
            max_depth: 2,
        },
        ..ModelLimits::default()
    };
    assert!(matches!(
        Model::from_bytes(&good, &shallow),
        Err(MlError::LimitExceeded { .. })
    ));
    // A tree array longer than the per-tree cap fails while parsing, before it is stored.
    let mut j: Json = serde_json::from_slice(&good).unwrap();
    j["body"]["trees"][0]["values"] = Json::Array(vec![Json::from(0.0); (1 << 17) + 1]);
    let err = load(&j).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn mutated_files_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut b = bytes("nsl_scorer");
        for (at, byte) in edits {
            let i = at.index(b.len());
            b[i] = byte;
        }
        let _ = Model::from_bytes(&b, &ModelLimits::default());
        let end = cut.index(b.len());
        let _ = Model::from_bytes(&b[..end], &ModelLimits::default());
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Model::from_bytes(&b, &ModelLimits::default());
    }
}
