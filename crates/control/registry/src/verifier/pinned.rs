//! Models that ship inside the repository, trusted through digests compiled
//! into the binary rather than a signature.

use std::path::Path;

use rampart_audit::{AuditKind, AuditSink};

use super::{ModelSigner, VerifiedModel, record};
use crate::error::{RegistryError, Result};
use crate::manifest::{Manifest, ResourceName};
use crate::model_dir::sha256_file;
use crate::statement::parse_sha256_hex;

/// A model whose files and SHA-256 digests are pinned in the source.
///
/// ```
/// use rampart_registry::PinnedModel;
///
/// const TINY: PinnedModel<'static> = PinnedModel {
///     name: "tiny",
///     files: &[(
///         "weights.json",
///         "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
///     )],
/// };
/// assert_eq!(TINY.files.len(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedModel<'a> {
    /// Model name for audit records.
    pub name: &'a str,
    /// `(relative file name, lowercase hex SHA-256)` for every file that may be read.
    pub files: &'a [(&'a str, &'a str)],
}

impl PinnedModel<'_> {
    /// The pinned digests as a manifest.
    pub fn manifest(&self) -> Result<Manifest> {
        let mut entries = Vec::with_capacity(self.files.len());
        for (file, digest) in self.files {
            let digest = parse_sha256_hex(digest).ok_or_else(|| {
                RegistryError::malformed(
                    "pinned model",
                    format!("digest of `{file}` in `{}` is not 64 hex digits", self.name),
                )
            })?;
            entries.push((ResourceName::new(file)?, digest));
        }
        if entries.is_empty() {
            return Err(RegistryError::malformed(
                "pinned model",
                format!("`{}` pins no file", self.name),
            ));
        }
        Manifest::from_files(entries)
    }

    /// Checks every pinned file in `dir` and records the outcome in `audit`.
    /// Only the pinned files can be read from the returned model; other files
    /// in the directory are irrelevant to it.
    pub fn load(&self, dir: &Path, audit: &dyn AuditSink) -> Result<VerifiedModel> {
        let outcome = self.check(dir);
        match outcome {
            Ok(manifest) => {
                let model = VerifiedModel {
                    dir: dir.to_path_buf(),
                    name: self.name.to_owned(),
                    manifest,
                    signer: ModelSigner::Pinned,
                };
                record(
                    audit,
                    AuditKind::ModelLoaded,
                    "rampart",
                    self.name,
                    serde_json::json!({
                        "dir": dir.display().to_string(),
                        "trust": "pinned",
                        "root_digest": model.root_digest_hex(),
                        "files": model.manifest.len(),
                    }),
                )?;
                Ok(model)
            }
            Err(error) => {
                record(
                    audit,
                    AuditKind::ModelRefused,
                    "rampart",
                    self.name,
                    serde_json::json!({
                        "dir": dir.display().to_string(),
                        "trust": "pinned",
                        "reason": error.to_string(),
                    }),
                )?;
                Err(error)
            }
        }
    }

    fn check(&self, dir: &Path) -> Result<Manifest> {
        let expected = self.manifest()?;
        let mut actual = Vec::with_capacity(expected.len());
        for (file, _) in expected.iter() {
            let path = dir.join(file);
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_file() => {
                    actual.push((ResourceName::new(file)?, sha256_file(&path)?));
                }
                Ok(_) => {
                    return Err(RegistryError::UnsupportedPath {
                        path,
                        reason: "pinned model files must be regular files",
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RegistryError::io(&path, e)),
            }
        }
        let actual = Manifest::from_files(actual)?;
        match expected.diff(&actual) {
            Some(diff) => Err(RegistryError::Mismatch {
                model: self.name.to_owned(),
                diff,
            }),
            None => Ok(expected),
        }
    }
}
