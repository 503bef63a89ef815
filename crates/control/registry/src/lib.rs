//! Model signing in the `OpenSSF` OMS v1.0 format, trust policy, verify-before-load
//! and SLSA provenance.
//!
//! Inputs: a model directory, an ECDSA P-256 key, a trust policy, an audit sink.
//! Outputs: a signature bundle (`DIR/model.sig`, byte-compatible with
//! `model_signing sign key`), signed provenance (`DIR/provenance.json`), and a
//! [`VerifiedModel`] through which model bytes are read.
//!
//! - [`sign_model`] hashes every file of a directory (SHA-256, in parallel) and
//!   signs an in-toto statement with the OMS predicate in a DSSE envelope inside
//!   a Sigstore bundle v0.3.
//! - [`verify_model`] checks a bundle against a [`TrustPolicy`] (which keys may
//!   sign which model names) and the directory: any changed, missing or extra
//!   file fails with the file named.
//! - [`load_model`] and [`PinnedModel::load`] are the only ways to get a
//!   [`VerifiedModel`], and both record every load, allowed or refused, in an
//!   [`rampart_audit::AuditSink`].
//! - [`KeyStore::open_or_init`] creates the local key and policy on first use.
//! - [`write_provenance`] / [`show_provenance`] produce and check SLSA v1 provenance.
//!
//! Main design decision: verify-before-load is a property of the types, not of
//! the callers' discipline. A detector takes a `VerifiedModel`; the type has
//! private fields and no public constructor, and reading a file through it
//! re-checks the file's digest on the bytes returned. The one bypass,
//! [`LoadOptions::danger_allow_unsigned`], is named as such and audited.
//!
//! ```
//! use rampart_crypto::ecdsa::EcdsaSigningKey;
//! use rampart_registry::{SignOptions, TrustPolicy, sign_model, verify_model};
//!
//! let tmp = tempfile::tempdir()?;
//! let dir = tmp.path().join("scorer-v1");
//! std::fs::create_dir(&dir)?;
//! std::fs::write(dir.join("weights.json"), b"[0.5, 1.5]")?;
//!
//! let key = EcdsaSigningKey::generate()?;
//! let signed = sign_model(&dir, &key, &SignOptions::default())?;
//! let trust = TrustPolicy::single(key.verifying_key(), "team", &["scorer-*"])?;
//! let verified = verify_model(&dir, &signed.bundle, &trust)?;
//! assert_eq!(verified.manifest().len(), 1);
//!
//! std::fs::write(dir.join("weights.json"), b"[9.9, 1.5]")?;
//! let err = verify_model(&dir, &signed.bundle, &trust).unwrap_err();
//! assert!(err.to_string().contains("`weights.json`"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bundle;
mod dsse;
mod error;
mod fsio;
mod glob;
mod keys;
mod keystore;
mod manifest;
mod model_dir;
mod provenance;
mod sign;
mod statement;
mod trust;
mod verifier;

pub use bundle::{BUNDLE_MEDIA_TYPE, Bundle, PublicKeyHint, VerificationMaterial};
pub use dsse::{Envelope, EnvelopeSignature, pae};
pub use error::{RegistryError, Result};
pub use fsio::{MAX_BUNDLE_BYTES, MAX_KEY_BYTES, MAX_PROVENANCE_BYTES, MAX_TRUST_POLICY_BYTES};
pub use glob::ModelGlob;
pub use keys::{KeyId, load_public_key, load_signing_key, public_key_from_pem};
pub use keystore::{KeyStore, LOCAL_KEY_NAME};
pub use manifest::{
    GIT_IGNORE_PATHS, Manifest, ManifestDiff, OMS_PREDICATE_TYPE, OmsPredicate, Resource,
    ResourceName, Serialization, parse_oms_statement,
};
pub use model_dir::{IgnoreSet, hash_model_dir, sha256_bytes, sha256_file};
pub use provenance::{
    BuildDefinition, BuildMetadata, Builder, RunDetails, SLSA_PROVENANCE_V1, SlsaProvenance,
    TRAINING_BUILD_TYPE, TrainingRun, VerifiedProvenance, builder_id, dataset_file,
    parse_provenance_envelope, parse_provenance_statement, show_provenance, write_provenance,
};
pub use sign::{
    PROVENANCE_FILE, SIGNATURE_FILE, SignOptions, SignedModel, audit_signed, model_name,
    sign_model, sign_model_to_file,
};
pub use statement::{IN_TOTO_PAYLOAD_TYPE, ResourceDescriptor, STATEMENT_TYPE, Statement};
pub use trust::{TRUST_POLICY_FILE, TrustPolicy, TrustedKey};
pub use verifier::{
    LoadOptions, MAX_READ_BYTES, ModelSigner, PinnedModel, VerifiedManifest, VerifiedModel,
    VerifyOptions, load_model, verify_model, verify_model_with,
};
