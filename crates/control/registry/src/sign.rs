//! Signing a model directory into an OMS v1.0 bundle.

use std::path::{Path, PathBuf};

use rampart_audit::{AuditEvent, AuditKind, AuditReceipt, AuditSink};
use rampart_crypto::ecdsa::EcdsaSigningKey;

use crate::bundle::Bundle;
use crate::dsse::Envelope;
use crate::error::{RegistryError, Result};
use crate::keys::KeyId;
use crate::manifest::{
    GIT_IGNORE_PATHS, HASH_SHA256, METHOD_FILES, Manifest, OMS_PREDICATE_TYPE, OmsPredicate,
    Serialization,
};
use crate::model_dir::{IgnoreSet, hash_model_dir};
use crate::statement::{IN_TOTO_PAYLOAD_TYPE, ResourceDescriptor, STATEMENT_TYPE, Statement};

/// Default signature file name inside the model directory (as `model_signing`).
pub const SIGNATURE_FILE: &str = "model.sig";

/// Provenance file name inside the model directory; never part of the signature.
pub const PROVENANCE_FILE: &str = "provenance.json";

/// Options for [`sign_model`].
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// Where the signature will be written; defaults to `DIR/model.sig`. When it
    /// lies inside the model directory it is excluded from the signed files.
    pub signature_path: Option<PathBuf>,
    /// More root-relative paths to leave out of the signature.
    pub ignore_paths: Vec<String>,
}

impl SignOptions {
    /// The signature path these options resolve to for `dir`.
    pub fn signature_path_for(&self, dir: &Path) -> PathBuf {
        self.signature_path
            .clone()
            .unwrap_or_else(|| dir.join(SIGNATURE_FILE))
    }
}

/// A signed model: the bundle and the manifest it covers.
#[derive(Debug, Clone)]
pub struct SignedModel {
    /// The bundle to write next to the model.
    pub bundle: Bundle,
    /// The files and digests that were signed.
    pub manifest: Manifest,
    /// Id of the signing key.
    pub key_id: KeyId,
}

/// Hashes every file of `dir` and signs the manifest with `key`.
///
/// Git metadata, `provenance.json` and the signature file are excluded and
/// listed in `ignore_paths`, as `model_signing` does.
pub fn sign_model(dir: &Path, key: &EcdsaSigningKey, options: &SignOptions) -> Result<SignedModel> {
    let mut ignore = IgnoreSet::new(
        GIT_IGNORE_PATHS
            .iter()
            .copied()
            .chain([PROVENANCE_FILE])
            .chain(options.ignore_paths.iter().map(String::as_str)),
    );
    if let Some(rel) = relative_inside(dir, &options.signature_path_for(dir)) {
        ignore.insert(&rel);
    }
    let manifest = hash_model_dir(dir, &ignore)?;
    if manifest.is_empty() {
        return Err(RegistryError::EmptyModel(dir.to_path_buf()));
    }
    let name = model_name(dir);
    let predicate = OmsPredicate {
        serialization: Serialization {
            method: METHOD_FILES.to_owned(),
            hash_type: HASH_SHA256.to_owned(),
            allow_symlinks: false,
            ignore_paths: ignore.paths().to_vec(),
            shard_size: None,
        },
        resources: manifest.resources(),
    };
    let statement = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: vec![ResourceDescriptor::sha256(name, &manifest.root_digest())],
        predicate_type: OMS_PREDICATE_TYPE.to_owned(),
        predicate: serde_json::to_value(&predicate)
            .map_err(|e| RegistryError::malformed("OMS predicate", e.to_string()))?,
    };
    let payload = canonical_json(&statement)?;
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
    let key_id = KeyId::of(&key.verifying_key());
    Ok(SignedModel {
        bundle: Bundle::new(envelope, key_id.as_str()),
        manifest,
        key_id,
    })
}

/// Signs `dir` and writes the bundle to the signature path; returns the path.
pub fn sign_model_to_file(
    dir: &Path,
    key: &EcdsaSigningKey,
    options: &SignOptions,
) -> Result<(SignedModel, PathBuf)> {
    let signed = sign_model(dir, key, options)?;
    let path = options.signature_path_for(dir);
    signed.bundle.write(&path)?;
    Ok((signed, path))
}

/// Records a signing in the audit log (`model_signed`), with the key id, the
/// root digest and where the signature was written.
pub fn audit_signed(
    audit: &dyn AuditSink,
    actor: &str,
    dir: &Path,
    signed: &SignedModel,
    signature_path: &Path,
) -> Result<AuditReceipt> {
    let model = model_name(dir);
    audit
        .record(AuditEvent {
            kind: AuditKind::ModelSigned,
            actor: actor.to_owned(),
            subject: model.clone(),
            details: serde_json::json!({
                "dir": dir.display().to_string(),
                "signature": signature_path.display().to_string(),
                "key_id": signed.key_id.as_str(),
                "root_digest": hex::encode(signed.manifest.root_digest()),
                "files": signed.manifest.len(),
            }),
        })
        .map_err(|e| RegistryError::Audit {
            model,
            reason: e.to_string(),
        })
}

/// Statement bytes: compact JSON, object keys sorted (`serde_json`'s map is
/// ordered), resources in manifest order. The signature covers these exact
/// bytes, so the choice only needs to be deterministic.
pub(crate) fn canonical_json(statement: &Statement) -> Result<Vec<u8>> {
    let value = serde_json::to_value(statement)
        .map_err(|e| RegistryError::malformed("in-toto statement", e.to_string()))?;
    serde_json::to_vec(&value)
        .map_err(|e| RegistryError::malformed("in-toto statement", e.to_string()))
}

/// The name OMS gives a model: the final component of its directory path.
pub fn model_name(dir: &Path) -> String {
    let named = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned);
    named
        .or_else(|| {
            std::fs::canonicalize(dir)
                .ok()
                .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        })
        .unwrap_or_default()
}

/// `path` relative to `dir` as a POSIX string, when it lies inside `dir`.
/// Both are resolved first, so `./m/model.sig` and `/abs/m/model.sig` agree.
pub(crate) fn relative_inside(dir: &Path, path: &Path) -> Option<String> {
    let root = std::fs::canonicalize(dir).ok()?;
    let file_name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => std::fs::canonicalize(p).ok()?,
        _ => std::env::current_dir().ok()?,
    };
    let full = parent.join(file_name);
    let rel = full.strip_prefix(&root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_inside_resolves_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("sub")).unwrap();
        assert_eq!(
            relative_inside(&m, &m.join("model.sig")).as_deref(),
            Some("model.sig")
        );
        assert_eq!(
            relative_inside(&m, &m.join("sub/../sub/x.sig")).as_deref(),
            Some("sub/x.sig")
        );
        assert_eq!(relative_inside(&m, &dir.path().join("outside.sig")), None);
    }

    #[test]
    fn empty_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = EcdsaSigningKey::generate().unwrap();
        let err = sign_model(dir.path(), &key, &SignOptions::default()).unwrap_err();
        assert!(matches!(err, RegistryError::EmptyModel(_)), "{err}");
    }
}
