//! End-to-end checks of signing, verification and loading, including a bundle
//! made by the reference implementation (`model_signing` 1.1.1, committed under
//! `tests/fixtures/oms-python/`), so interoperability is checked without Python.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use rampart_crypto::ecdsa::EcdsaSigningKey;
use rampart_registry::{
    Bundle, LoadOptions, ModelSigner, PinnedModel, RegistryError, SignOptions, TrustPolicy,
    load_model, load_public_key, sign_model, sign_model_to_file, verify_model,
};

use rampart_audit::{AuditError, AuditEvent, AuditKind, AuditReceipt, AuditSink};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oms-python")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A private copy of the Python-signed fixture model, named `model`.
fn python_model() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    copy_dir(&fixture().join("model"), &dir);
    (tmp, dir)
}

fn python_trust() -> TrustPolicy {
    let key = load_public_key(&fixture().join("public-key.pem")).unwrap();
    TrustPolicy::single(key, "model_signing fixture", &["*"]).unwrap()
}

fn python_bundle(dir: &Path) -> Bundle {
    Bundle::read(&dir.join("model.sig")).unwrap()
}

#[derive(Default)]
struct MemoryAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl AuditSink for MemoryAudit {
    fn record(&self, event: AuditEvent) -> Result<AuditReceipt, AuditError> {
        let mut events = self.events.lock().unwrap();
        events.push(event);
        Ok(AuditReceipt {
            index: events.len() as u64 - 1,
            leaf_hash: [0; 32],
        })
    }
}

/// A sink that always fails, like a full disk.
struct BrokenAudit;

impl AuditSink for BrokenAudit {
    fn record(&self, _: AuditEvent) -> Result<AuditReceipt, AuditError> {
        Err(AuditError::Storage("disk full".to_owned()))
    }
}

impl MemoryAudit {
    fn kinds(&self) -> Vec<AuditKind> {
        self.events.lock().unwrap().iter().map(|e| e.kind).collect()
    }
}

#[test]
fn bundle_signed_by_model_signing_verifies() {
    let (_tmp, dir) = python_model();
    let verified = verify_model(&dir, &python_bundle(&dir), &python_trust()).unwrap();
    let names: Vec<_> = verified.manifest().iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "config.json",
            "tokenizer/empty.txt",
            "tokenizer/vocab.txt",
            "weights.bin"
        ]
    );
    assert_eq!(verified.signed_name(), "model");
}

#[test]
fn one_changed_byte_fails_naming_the_file() {
    let (_tmp, dir) = python_model();
    let path = dir.join("weights.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let err = verify_model(&dir, &python_bundle(&dir), &python_trust()).unwrap_err();
    match &err {
        RegistryError::Mismatch { diff, .. } => assert_eq!(diff.changed, ["weights.bin"]),
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("`weights.bin`"), "{err}");
}

#[test]
fn added_and_removed_files_fail() {
    let (_tmp, dir) = python_model();
    std::fs::write(dir.join("tokenizer/extra.txt"), b"x").unwrap();
    let err = verify_model(&dir, &python_bundle(&dir), &python_trust()).unwrap_err();
    assert!(
        err.to_string()
            .contains("unsigned extra file(s): `tokenizer/extra.txt`"),
        "{err}"
    );

    let (_tmp2, dir) = python_model();
    std::fs::remove_file(dir.join("tokenizer/empty.txt")).unwrap();
    let err = verify_model(&dir, &python_bundle(&dir), &python_trust()).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing file(s): `tokenizer/empty.txt`"),
        "{err}"
    );
}

#[test]
fn wrong_key_and_uncovered_model_are_untrusted() {
    let (_tmp, dir) = python_model();
    let stranger = EcdsaSigningKey::generate().unwrap().verifying_key();
    let trust = TrustPolicy::single(stranger, "other", &["*"]).unwrap();
    let err = verify_model(&dir, &python_bundle(&dir), &trust).unwrap_err();
    assert!(matches!(err, RegistryError::Untrusted { .. }), "{err}");

    let key = load_public_key(&fixture().join("public-key.pem")).unwrap();
    let narrow = TrustPolicy::single(key, "fixture", &["scorer-*"]).unwrap();
    let err = verify_model(&dir, &python_bundle(&dir), &narrow).unwrap_err();
    assert!(
        err.to_string()
            .contains("is trusted, but not for model `model`"),
        "{err}"
    );
}

#[test]
fn forged_payload_fails_the_signature() {
    let (_tmp, dir) = python_model();
    let mut bundle = python_bundle(&dir);
    let envelope = bundle.dsse_envelope.as_mut().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = String::from_utf8(b64.decode(&envelope.payload).unwrap()).unwrap();
    envelope.payload = b64.encode(payload.replace("config.json", "config.jsoN"));
    let err = verify_model(&dir, &bundle, &python_trust()).unwrap_err();
    assert!(matches!(err, RegistryError::BadSignature { .. }), "{err}");
}

#[test]
fn rampart_manifest_equals_model_signing_manifest() {
    let (_tmp, dir) = python_model();
    let python_payload = python_bundle(&dir).dsse_envelope.unwrap().payload;
    let key = EcdsaSigningKey::generate().unwrap();
    let ours = sign_model(&dir, &key, &SignOptions::default()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let theirs: serde_json::Value =
        serde_json::from_slice(&b64.decode(python_payload).unwrap()).unwrap();
    let mine: serde_json::Value = serde_json::from_slice(
        &b64.decode(&ours.bundle.dsse_envelope.as_ref().unwrap().payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        mine["predicate"]["resources"],
        theirs["predicate"]["resources"]
    );
    assert_eq!(mine["subject"], theirs["subject"]);
    assert_eq!(mine["predicateType"], theirs["predicateType"]);
    let ignore = mine["predicate"]["serialization"]["ignore_paths"].clone();
    assert!(ignore.as_array().unwrap().iter().any(|p| p == "model.sig"));
    assert!(
        ignore
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "provenance.json")
    );
    let hint = ours.bundle.key_hint().unwrap();
    let pem = key.verifying_key().public_key_pem().to_owned();
    assert_eq!(
        hint,
        hex::encode(rampart_registry::sha256_bytes(pem.as_bytes()))
    );
}

#[test]
fn rampart_signed_model_verifies_and_detects_tampering() {
    let (_tmp, dir) = python_model();
    let key = EcdsaSigningKey::generate().unwrap();
    let signed = sign_model_to_file(&dir, &key, &SignOptions::default())
        .unwrap()
        .0;
    let trust = TrustPolicy::single(key.verifying_key(), "k", &["model"]).unwrap();
    let reread = python_bundle(&dir);
    assert_eq!(reread, signed.bundle);
    verify_model(&dir, &reread, &trust).unwrap();
    // provenance.json is ignored by the signature, so writing it later is fine.
    std::fs::write(dir.join("provenance.json"), b"{}").unwrap();
    verify_model(&dir, &reread, &trust).unwrap();
    std::fs::write(dir.join("config.json"), b"{}").unwrap();
    assert!(verify_model(&dir, &reread, &trust).is_err());
}

#[test]
fn loads_are_audited_and_reads_recheck_digests() {
    let (_tmp, dir) = python_model();
    let sink = MemoryAudit::default();
    let model = load_model(&dir, &python_trust(), &sink, &LoadOptions::default()).unwrap();
    assert!(matches!(model.signer(), ModelSigner::Key { .. }));
    assert_eq!(sink.kinds(), [AuditKind::ModelLoaded]);
    assert_eq!(
        model.read_text("tokenizer/vocab.txt", &sink).unwrap(),
        "alpha\nbeta\ngamma\n"
    );
    assert!(matches!(
        model.read_file("model.sig", &sink),
        Err(RegistryError::NotInManifest { .. })
    ));
    assert!(model.read_file("../model/config.json", &sink).is_err());

    // Swap a file after verification: the read is refused and audited.
    std::fs::write(dir.join("config.json"), b"{\"evil\":true}").unwrap();
    let err = model.read_file("config.json", &sink).unwrap_err();
    assert!(
        matches!(err, RegistryError::ChangedAfterVerification { .. }),
        "{err}"
    );
    assert_eq!(
        sink.kinds(),
        [AuditKind::ModelLoaded, AuditKind::ModelRefused]
    );

    // A fresh load of the tampered directory is refused and audited.
    let err = load_model(&dir, &python_trust(), &sink, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, RegistryError::Mismatch { .. }), "{err}");
    assert_eq!(sink.kinds().last(), Some(&AuditKind::ModelRefused));
}

#[test]
fn unsigned_model_loads_only_with_the_danger_option() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("unsigned");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("w.bin"), b"w").unwrap();
    let sink = MemoryAudit::default();
    let err = load_model(&dir, &python_trust(), &sink, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, RegistryError::Io { .. }), "{err}");
    let options = LoadOptions {
        danger_allow_unsigned: true,
        ..LoadOptions::default()
    };
    let model = load_model(&dir, &python_trust(), &sink, &options).unwrap();
    assert_eq!(model.signer(), &ModelSigner::DangerUnsigned);
    assert_eq!(model.read_file("w.bin", &sink).unwrap(), b"w");
    let events = sink.events.lock().unwrap();
    assert_eq!(events[0].kind, AuditKind::ModelRefused);
    assert_eq!(events[1].kind, AuditKind::ModelLoaded);
    assert_eq!(events[1].details["danger"], true);
}

#[test]
fn pinned_models_verify_by_digest() {
    let (_tmp, dir) = python_model();
    let pinned = PinnedModel {
        name: "fixture",
        files: &[
            (
                "config.json",
                "b6313970febc0fe7522c52b1bb7121c042ff31407fae7e42df99644485d73c04",
            ),
            (
                "tokenizer/empty.txt",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ],
    };
    let sink = MemoryAudit::default();
    let model = pinned.load(&dir, &sink).unwrap();
    assert_eq!(model.signer(), &ModelSigner::Pinned);
    assert!(model.read_file("config.json", &sink).is_ok());
    assert!(model.read_file("weights.bin", &sink).is_err());

    std::fs::remove_file(dir.join("tokenizer/empty.txt")).unwrap();
    let err = pinned.load(&dir, &sink).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing file(s): `tokenizer/empty.txt`"),
        "{err}"
    );
    assert_eq!(
        sink.kinds(),
        [AuditKind::ModelLoaded, AuditKind::ModelRefused]
    );
}

#[test]
fn a_load_that_cannot_be_audited_does_not_happen() {
    let (_tmp, dir) = python_model();
    let err = load_model(&dir, &python_trust(), &BrokenAudit, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, RegistryError::Audit { .. }), "{err}");
}

#[test]
fn loads_land_in_the_transparency_log() {
    use rampart_audit::{LogConfig, TransparencyLog};
    let (_tmp, dir) = python_model();
    let key = rampart_crypto::ed25519::Ed25519SigningKey::generate().unwrap();
    let log = TransparencyLog::in_memory(key, LogConfig::new("test/registry")).unwrap();
    let model = load_model(&dir, &python_trust(), &log, &LoadOptions::default()).unwrap();
    std::fs::write(dir.join("weights.bin"), b"swapped").unwrap();
    assert!(model.read_file("weights.bin", &log).is_err());
    let report = log.verify().unwrap();
    assert_eq!(report.entries, 2);
}

#[test]
fn signing_can_be_audited() {
    let (_tmp, dir) = python_model();
    let key = EcdsaSigningKey::generate().unwrap();
    let (signed, path) = sign_model_to_file(&dir, &key, &SignOptions::default()).unwrap();
    let sink = MemoryAudit::default();
    rampart_registry::audit_signed(&sink, "trainer", &dir, &signed, &path).unwrap();
    let events = sink.events.lock().unwrap();
    assert_eq!(events[0].kind, AuditKind::ModelSigned);
    assert_eq!(events[0].details["key_id"], signed.key_id.as_str());
}
