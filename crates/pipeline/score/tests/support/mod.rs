//! Shared by the tests and the bench: real NSL-KDD rows read through the ingest crate, and
//! models trained on them, signed, and loaded through the verifier.

#![allow(dead_code, clippy::expect_used, reason = "test support")]

use std::path::PathBuf;

use rampart_audit::{LogConfig, MemoryStorage, TransparencyLog};
use rampart_core::{Event, Ingested};
use rampart_crypto::ecdsa::EcdsaSigningKey;
use rampart_crypto::ed25519::Ed25519SigningKey;
use rampart_ml::model_file::ModelKind;
use rampart_registry::{LoadOptions, SignOptions, TrustPolicy, load_model, sign_model_to_file};
use rampart_score::{LabelledRows, MODEL_FILE, ScoringModel, TrainOptions, Trained, train};

/// The 200 NSL-KDD rows bundled with the demo (citation licence, see the demo's ATTRIBUTION).
pub fn nsl_kdd_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rampart/demo/nsl-kdd-200.txt")
}

/// The bundled rows as events.
pub fn nsl_kdd_events() -> Vec<Event> {
    rampart_ingest::read_all(&[nsl_kdd_path()], &rampart_ingest::ReadOptions::default())
        .expect("reads the bundled rows")
        .into_iter()
        .filter_map(|item| match item {
            Ingested::Event(e) => Some(*e),
            _ => None,
        })
        .collect()
}

/// An in-memory audit log.
pub fn audit() -> TransparencyLog<MemoryStorage> {
    TransparencyLog::open(
        MemoryStorage::default(),
        Ed25519SigningKey::generate().expect("key"),
        LogConfig::new("test/audit"),
    )
    .expect("opens")
}

/// A trained, signed and verified model with the directory it lives in.
pub struct Fixture {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The training result.
    pub trained_rows: usize,
    /// The loaded model.
    pub model: ScoringModel,
    /// The audit log the load was recorded in.
    pub audit: TransparencyLog<MemoryStorage>,
}

/// Trains a small model of `kind` on `events`, signs its directory and loads it back.
pub fn signed_model(events: &[Event], kind: ModelKind) -> Fixture {
    let rows = LabelledRows::from_events(events, None).expect("rows");
    let mut options = TrainOptions::new(kind, "nsl-test");
    options.scorer.gbdt.n_trees = 30;
    options.scorer.gbdt.min_samples_leaf = 5;
    options.anomaly.forest.n_trees = 50;
    let Trained {
        model, rows_fitted, ..
    } = train(&rows, &options).expect("trains");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("nsl-test");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join(MODEL_FILE), model.to_bytes().expect("bytes")).expect("write");
    let key = EcdsaSigningKey::generate().expect("key");
    sign_model_to_file(&dir, &key, &SignOptions::default()).expect("signs");
    let trust = TrustPolicy::single(key.verifying_key(), "test", &["*"]).expect("policy");
    let audit = audit();
    let verified = load_model(&dir, &trust, &audit, &LoadOptions::default()).expect("verifies");
    let model = ScoringModel::load(&verified, &audit).expect("loads");
    Fixture {
        dir: tmp,
        trained_rows: rows_fitted,
        model,
        audit,
    }
}
