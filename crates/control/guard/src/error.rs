//! The crate's one error type.
//!
//! Variants keep "the untrusted input or file is bad" (a model file that does not match its
//! pin, a malformed dataset row) apart from "the caller asked for something the policy
//! forbids" (a field outside the allowlist, a flagged text pushed into a prompt).

use std::path::PathBuf;

/// Everything that can go wrong in the guard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// A dataset file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// A model file does not have the documented shape (see `docs/formats/guard-model.md`).
    #[error("malformed guard model: {0}")]
    MalformedModel(String),

    /// A model file's SHA-256 differs from the digest pinned for it.
    #[error(
        "guard model digest `{actual}` does not match the pinned digest `{expected}`; \
         refusing to load it (retrain with `rampart guard train` and update the pin)"
    )]
    DigestMismatch {
        /// The pinned digest (hex).
        expected: String,
        /// The digest of the bytes offered (hex).
        actual: String,
    },

    /// A dataset file does not have the shape its loader expects.
    #[error("malformed dataset file `{path}`: {reason}")]
    MalformedDataset {
        /// The file.
        path: PathBuf,
        /// What was wrong, with the offending value in backticks.
        reason: String,
    },

    /// Training or evaluation was asked to work on data it cannot use.
    #[error("cannot train or evaluate: {0}")]
    InvalidTrainingData(String),

    /// A field is not on the allowlist of fields that may reach a prompt.
    #[error("field `{0}` is not on the prompt allowlist; add it to the allowlist or leave it out")]
    FieldNotAllowed(String),

    /// A screened text was flagged as a likely prompt injection and cannot enter a prompt.
    #[error(
        "text from `{field}` was flagged as a likely prompt injection (score {score:.2}); \
         it cannot be placed in a prompt"
    )]
    FlaggedInjection {
        /// The field the text came from.
        field: String,
        /// The scan score in [0, 1].
        score: f32,
    },

    /// A configuration value is out of its allowed range.
    #[error("invalid guard setting `{name}`: {reason}")]
    InvalidSetting {
        /// The setting.
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// The operating system could not provide random bytes.
    #[error("cannot get random bytes: {0}")]
    Random(String),

    /// The pseudonymisation key was rejected.
    #[error("pseudonymisation failed: {0}")]
    Pseudonym(#[from] rampart_crypto::CryptoError),
}
