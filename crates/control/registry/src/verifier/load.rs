//! Loading a signed model: verify, audit, hand out a [`VerifiedModel`].

use std::path::{Path, PathBuf};

use rampart_audit::{AuditKind, AuditSink};

use super::{ModelSigner, VerifiedModel, VerifyOptions, record, verify_model_with};
use crate::bundle::Bundle;
use crate::error::{RegistryError, Result};
use crate::manifest::GIT_IGNORE_PATHS;
use crate::model_dir::{IgnoreSet, hash_model_dir};
use crate::sign::{PROVENANCE_FILE, SIGNATURE_FILE, model_name};
use crate::trust::TrustPolicy;

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Signature file; defaults to `DIR/model.sig`.
    pub signature_path: Option<PathBuf>,
    /// Name matched against the trust policy; defaults to the directory name.
    pub model_name: Option<String>,
    /// Who is loading, for the audit record (a stage or command name).
    pub actor: String,
    /// Load the model even when its signature is missing or does not verify.
    /// Every such load is audited as a danger event and logged at `warn`.
    pub danger_allow_unsigned: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            signature_path: None,
            model_name: None,
            actor: "rampart".to_owned(),
            danger_allow_unsigned: false,
        }
    }
}

/// Verifies the model in `dir` against `trust` and records the outcome in
/// `audit`, allowed or refused. Returns the only handle through which the
/// model's bytes can be read.
///
/// If the audit sink fails, the load fails too: a load that left no record
/// must not happen.
pub fn load_model(
    dir: &Path,
    trust: &TrustPolicy,
    audit: &dyn AuditSink,
    options: &LoadOptions,
) -> Result<VerifiedModel> {
    let name = options
        .model_name
        .clone()
        .unwrap_or_else(|| model_name(dir));
    let signature_path = options
        .signature_path
        .clone()
        .unwrap_or_else(|| dir.join(SIGNATURE_FILE));
    let verify_options = VerifyOptions {
        signature_path: Some(signature_path.clone()),
        model_name: Some(name.clone()),
    };
    let outcome = Bundle::read(&signature_path)
        .and_then(|bundle| verify_model_with(dir, &bundle, trust, &verify_options));
    match outcome {
        Ok(verified) => {
            let model = VerifiedModel {
                dir: dir.to_path_buf(),
                name: name.clone(),
                signer: ModelSigner::Key {
                    key_id: verified.key_id().clone(),
                    name: verified.key_name().to_owned(),
                },
                manifest: verified.manifest,
            };
            record(
                audit,
                AuditKind::ModelLoaded,
                &options.actor,
                &name,
                serde_json::json!({
                    "dir": dir.display().to_string(),
                    "trust": "signature",
                    "key_id": model_key_id(&model),
                    "key_name": verified.key_name,
                    "root_digest": model.root_digest_hex(),
                    "files": model.manifest.len(),
                }),
            )?;
            Ok(model)
        }
        Err(error) if options.danger_allow_unsigned => {
            load_unsigned(dir, &name, &signature_path, audit, options, &error)
        }
        Err(error) => {
            record(
                audit,
                AuditKind::ModelRefused,
                &options.actor,
                &name,
                serde_json::json!({
                    "dir": dir.display().to_string(),
                    "reason": error.to_string(),
                }),
            )?;
            Err(error)
        }
    }
}

fn model_key_id(model: &VerifiedModel) -> String {
    match &model.signer {
        ModelSigner::Key { key_id, .. } => key_id.to_string(),
        ModelSigner::Pinned | ModelSigner::DangerUnsigned => String::new(),
    }
}

/// The explicit bypass: digests are taken now, so later swaps are still caught,
/// but nothing vouches for the content.
fn load_unsigned(
    dir: &Path,
    name: &str,
    signature_path: &Path,
    audit: &dyn AuditSink,
    options: &LoadOptions,
    error: &RegistryError,
) -> Result<VerifiedModel> {
    let mut ignore = IgnoreSet::new(GIT_IGNORE_PATHS.iter().copied().chain([PROVENANCE_FILE]));
    if let Some(rel) = crate::sign::relative_inside(dir, signature_path) {
        ignore.insert(&rel);
    }
    let manifest = hash_model_dir(dir, &ignore)?;
    let model = VerifiedModel {
        dir: dir.to_path_buf(),
        name: name.to_owned(),
        manifest,
        signer: ModelSigner::DangerUnsigned,
    };
    tracing::warn!(
        model = name,
        reason = %error,
        "DANGER: loading an unverified model because danger_allow_unsigned is set"
    );
    record(
        audit,
        AuditKind::ModelLoaded,
        &options.actor,
        name,
        serde_json::json!({
            "dir": dir.display().to_string(),
            "trust": "danger_allow_unsigned",
            "danger": true,
            "verification_error": error.to_string(),
            "root_digest": model.root_digest_hex(),
            "files": model.manifest.len(),
        }),
    )?;
    Ok(model)
}
