//! The crate's one error type.
//!
//! Variants keep "the untrusted input is bad" (a bundle, a key file, a model
//! directory that does not match its signature) apart from "the caller asked for
//! something impossible", so a runner can turn the first kind into a refused load
//! and the second into a bug report.

use std::path::{Path, PathBuf};

use crate::manifest::ManifestDiff;

/// Everything that can go wrong while signing, verifying or loading a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A file or directory could not be read or written.
    // The reason is part of the message and deliberately not a `source`, so
    // `{:#}` chains do not print it twice.
    #[error("cannot access `{path}`: {reason}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's reason.
        reason: std::io::Error,
    },

    /// An untrusted file is larger than the cap for its kind; nothing was read.
    #[error("{what} `{path}` is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// What the file was supposed to be (`signature bundle`, `public key`, ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Its size on disk.
        size: u64,
        /// The cap that applies to it.
        limit: u64,
    },

    /// An untrusted document (bundle, statement, provenance, key, trust policy)
    /// does not have the expected shape.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it was rejected, with the offending value in backticks.
        reason: String,
    },

    /// The document is well formed but uses a variant this crate does not implement.
    #[error("unsupported {what} `{value}`; {hint}")]
    Unsupported {
        /// Which field.
        what: &'static str,
        /// The value found.
        value: String,
        /// What is supported instead.
        hint: &'static str,
    },

    /// A key could not be parsed, generated or used.
    #[error("key error: {0}")]
    Key(String),

    /// The DSSE signature does not verify with the candidate key(s).
    #[error("signature on `{subject}` does not verify: {reason}")]
    BadSignature {
        /// The model (or provenance) the signature claims to cover.
        subject: String,
        /// Which keys were tried, or why none could be.
        reason: String,
    },

    /// No key in the trust policy is allowed to sign this model.
    #[error(
        "model `{model}` is not signed by a trusted key (signer `{key_id}`); \
         trust the signer with `rampart trust add PUB.pem --name NAME --models GLOB`"
    )]
    Untrusted {
        /// The model name the trust globs were matched against.
        model: String,
        /// The signer's key id (hex SHA-256 of its PEM text), or `unknown`.
        key_id: String,
    },

    /// The signer is trusted, but not for this model name.
    #[error(
        "key `{key_name}` (`{key_id}`) is trusted, but not for model `{model}`; \
         allow it with `rampart trust add PUB.pem --name {key_name} --models GLOB`"
    )]
    NotTrustedForModel {
        /// The model name.
        model: String,
        /// Trust-policy name of the signer.
        key_name: String,
        /// The signer's key id.
        key_id: String,
    },

    /// The directory's files differ from the signed manifest.
    #[error("model `{model}` does not match its signature: {diff}")]
    Mismatch {
        /// The model name.
        model: String,
        /// Every changed, missing and extra file.
        diff: ManifestDiff,
    },

    /// A path in the model directory cannot be signed (symlink, socket, device).
    #[error("cannot sign or verify `{path}`: {reason}")]
    UnsupportedPath {
        /// The offending path.
        path: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A model directory holds no file to sign.
    #[error("model directory `{0}` holds no file to sign")]
    EmptyModel(PathBuf),

    /// A file was requested that the verified manifest does not list.
    #[error("file `{file}` is not part of verified model `{model}`")]
    NotInManifest {
        /// The model name.
        model: String,
        /// The requested file.
        file: String,
    },

    /// A file's bytes changed between verification and the read.
    #[error(
        "file `{file}` of model `{model}` changed after verification \
         (expected sha256 `{expected}`, read `{actual}`); verify the model again"
    )]
    ChangedAfterVerification {
        /// The model name.
        model: String,
        /// The file.
        file: String,
        /// Digest recorded at verification.
        expected: String,
        /// Digest of the bytes just read.
        actual: String,
    },

    /// The audit sink refused to record a load; the load is refused with it.
    #[error("audit sink refused to record the load of `{model}`: {reason}")]
    Audit {
        /// The model name.
        model: String,
        /// The sink's error.
        reason: String,
    },

    /// A trust-policy operation was given bad arguments.
    #[error("trust policy: {0}")]
    Policy(String),
}

impl RegistryError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: &Path, reason: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            reason,
        }
    }

    /// A malformed-input error.
    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            reason: reason.into(),
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
