//! Verification, and the proof types it produces.
//!
//! [`verify_model`] checks a bundle against the trust policy and the directory
//! and returns a [`VerifiedManifest`]: a report, not a capability. The
//! capability is [`VerifiedModel`], the only way to read model bytes. Its fields
//! are private and it has no public constructor, no `Default`, no `Clone` and no
//! `Deserialize`, so the only ways to obtain one are the audited loaders in this
//! module: [`load_model`] (OMS signature + trust policy) and
//! [`PinnedModel::load`] (digests pinned in the source).
//!
//! ```compile_fail
//! // A VerifiedModel cannot be built outside the verifier.
//! let model = rampart_registry::VerifiedModel {
//!     dir: std::path::PathBuf::from("m"),
//!     name: String::from("m"),
//!     manifest: Default::default(),
//!     signer: rampart_registry::ModelSigner::Pinned,
//! };
//! ```
//!
//! ```compile_fail
//! // Nor deserialized from attacker-controlled JSON.
//! let model: rampart_registry::VerifiedModel = serde_json::from_str("{}").unwrap();
//! ```

mod load;
mod pinned;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rampart_audit::{AuditEvent, AuditKind, AuditSink};

pub use load::{LoadOptions, load_model};
pub use pinned::PinnedModel;

use crate::bundle::Bundle;
use crate::error::{RegistryError, Result};
use crate::keys::KeyId;
use crate::manifest::{GIT_IGNORE_PATHS, Manifest, OMS_PREDICATE_TYPE, manifest_from_statement};
use crate::model_dir::{IgnoreSet, hash_model_dir, sha256_bytes};
use crate::sign::{SIGNATURE_FILE, model_name, relative_inside};
use crate::statement::{IN_TOTO_PAYLOAD_TYPE, Statement};
use crate::trust::TrustPolicy;

/// Largest single model file [`VerifiedModel::read_file`] reads into memory.
pub const MAX_READ_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Options for [`verify_model`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Signature file location; defaults to `DIR/model.sig`. Excluded from the
    /// files compared when it lies inside the directory.
    pub signature_path: Option<PathBuf>,
    /// Name matched against the trust policy's globs; defaults to the
    /// directory's final path component (the OMS model name).
    pub model_name: Option<String>,
}

/// What a successful signature verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedManifest {
    model: String,
    signed_name: String,
    key_id: KeyId,
    key_name: String,
    manifest: Manifest,
}

impl VerifiedManifest {
    /// The name the trust policy was matched against.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The model name recorded by the signer (informative only).
    pub fn signed_name(&self) -> &str {
        &self.signed_name
    }

    /// Id of the key that signed.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// Trust-policy name of that key.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The verified files and digests.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// Why a [`VerifiedModel`] may be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelSigner {
    /// An OMS signature by a key the trust policy allows for this model.
    Key {
        /// Key id.
        key_id: KeyId,
        /// Trust-policy name of the key.
        name: String,
    },
    /// SHA-256 digests pinned in the source code.
    Pinned,
    /// Loaded without verification through `danger_allow_unsigned`; the
    /// digests were taken at load time and only guard against later swaps.
    DangerUnsigned,
}

/// A model directory whose files matched a trusted signature (or pinned
/// digests). The only way to read model bytes.
#[derive(Debug)]
pub struct VerifiedModel {
    dir: PathBuf,
    name: String,
    manifest: Manifest,
    signer: ModelSigner,
}

impl VerifiedModel {
    /// The model name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files and digests fixed at verification.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Who vouched for the model.
    pub fn signer(&self) -> &ModelSigner {
        &self.signer
    }

    /// Hex OMS root digest: names this exact model in provenance and audit records.
    pub fn root_digest_hex(&self) -> String {
        hex::encode(self.manifest.root_digest())
    }

    /// Reads one file of the model and checks its bytes against the digest
    /// recorded at verification, so a file swapped after verification is
    /// refused (and the refusal audited). The digest is computed over the very
    /// bytes returned, leaving no window between check and use.
    pub fn read_file(&self, file: &str, audit: &dyn AuditSink) -> Result<Vec<u8>> {
        let Some(expected) = self.manifest.digest(file) else {
            return Err(RegistryError::NotInManifest {
                model: self.name.clone(),
                file: file.to_owned(),
            });
        };
        let path = self.dir.join(file);
        let bytes = read_regular_file(&path)?;
        let actual = sha256_bytes(&bytes);
        if &actual != expected {
            let error = RegistryError::ChangedAfterVerification {
                model: self.name.clone(),
                file: file.to_owned(),
                expected: hex::encode(expected),
                actual: hex::encode(actual),
            };
            record(
                audit,
                AuditKind::ModelRefused,
                "rampart-registry",
                &self.name,
                serde_json::json!({ "file": file, "reason": error.to_string() }),
            )?;
            return Err(error);
        }
        Ok(bytes)
    }

    /// Like [`Self::read_file`] for UTF-8 text files.
    pub fn read_text(&self, file: &str, audit: &dyn AuditSink) -> Result<String> {
        let bytes = self.read_file(file, audit)?;
        String::from_utf8(bytes).map_err(|_| {
            RegistryError::malformed("model file", format!("`{file}` is not UTF-8 text"))
        })
    }
}

/// Reads a regular, non-symlink file up to [`MAX_READ_BYTES`].
fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let meta = fs::symlink_metadata(path).map_err(|e| RegistryError::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(RegistryError::UnsupportedPath {
            path: path.to_path_buf(),
            reason: "no longer a regular file",
        });
    }
    let file = fs::File::open(path).map_err(|e| RegistryError::io(path, e))?;
    let size = file
        .metadata()
        .map_err(|e| RegistryError::io(path, e))?
        .len();
    if size > MAX_READ_BYTES {
        return Err(RegistryError::TooLarge {
            what: "model file",
            path: path.to_path_buf(),
            size,
            limit: MAX_READ_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(MAX_READ_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| RegistryError::io(path, e))?;
    Ok(bytes)
}

/// Verifies `bundle` against `trust` and the files of `dir`.
///
/// Checks, in order: a trusted key for the model name exists and the
/// envelope's signature verifies with it; the payload is an in-toto statement
/// with the OMS v1.0 predicate and a consistent root digest; the directory
/// holds exactly the signed files with the signed digests.
pub fn verify_model(dir: &Path, bundle: &Bundle, trust: &TrustPolicy) -> Result<VerifiedManifest> {
    verify_model_with(dir, bundle, trust, &VerifyOptions::default())
}

/// [`verify_model`] with explicit options.
pub fn verify_model_with(
    dir: &Path,
    bundle: &Bundle,
    trust: &TrustPolicy,
    options: &VerifyOptions,
) -> Result<VerifiedManifest> {
    let model = options
        .model_name
        .clone()
        .unwrap_or_else(|| model_name(dir));
    let (payload, key_id, key_name) = verify_signature(bundle, &model, trust)?;
    let statement = Statement::parse(&payload, OMS_PREDICATE_TYPE)?;
    let (signed_name, serialization, expected) = manifest_from_statement(&statement)?;

    let mut ignore = IgnoreSet::new(
        serialization
            .ignore_paths
            .iter()
            .map(String::as_str)
            .chain(GIT_IGNORE_PATHS),
    );
    let signature_path = options
        .signature_path
        .clone()
        .unwrap_or_else(|| dir.join(SIGNATURE_FILE));
    if let Some(rel) = relative_inside(dir, &signature_path) {
        ignore.insert(&rel);
    }
    let actual = hash_model_dir(dir, &ignore)?;
    if let Some(diff) = expected.diff(&actual) {
        return Err(RegistryError::Mismatch { model, diff });
    }
    Ok(VerifiedManifest {
        model,
        signed_name,
        key_id,
        key_name,
        manifest: expected,
    })
}

/// Finds the trusted key for `model` that signed the envelope and returns the
/// verified payload.
fn verify_signature(
    bundle: &Bundle,
    model: &str,
    trust: &TrustPolicy,
) -> Result<(Vec<u8>, KeyId, String)> {
    let envelope = bundle.envelope()?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(RegistryError::Unsupported {
            what: "DSSE payload type",
            value: envelope.payload_type.clone(),
            hint: "expected `application/vnd.in-toto+json`",
        });
    }
    if let Some(hint) = bundle.key_hint() {
        let Some(key) = trust
            .keys_for_model(model)
            .find(|k| k.key_id().as_str() == hint)
        else {
            if let Some(known) = trust.find(hint) {
                return Err(RegistryError::NotTrustedForModel {
                    model: model.to_owned(),
                    key_name: known.name().to_owned(),
                    key_id: known.key_id().short().to_owned(),
                });
            }
            return Err(RegistryError::Untrusted {
                model: model.to_owned(),
                key_id: hint.chars().take(64).collect(),
            });
        };
        let payload = envelope.verify(key.public_key(), model)?;
        return Ok((payload, key.key_id().clone(), key.name().to_owned()));
    }
    // Pre-1.1 bundles carry no hint: try every key trusted for this model.
    for key in trust.keys_for_model(model) {
        if let Ok(payload) = envelope.verify(key.public_key(), model) {
            return Ok((payload, key.key_id().clone(), key.name().to_owned()));
        }
    }
    Err(RegistryError::Untrusted {
        model: model.to_owned(),
        key_id: "unknown (the bundle names no key)".to_owned(),
    })
}

/// Records one audit event, failing closed: an unrecorded load does not happen.
fn record(
    audit: &dyn AuditSink,
    kind: AuditKind,
    actor: &str,
    model: &str,
    details: serde_json::Value,
) -> Result<()> {
    audit
        .record(AuditEvent {
            kind,
            actor: actor.to_owned(),
            subject: model.to_owned(),
            details,
        })
        .map(|_| ())
        .map_err(|e| RegistryError::Audit {
            model: model.to_owned(),
            reason: e.to_string(),
        })
}
