//! The scoring stage's one error type.

use thiserror::Error;

/// Why building rows, loading a model or scoring failed.
#[derive(Debug, Error)]
pub enum ScoreError {
    /// No event carried flow features of the requested kind.
    #[error("no usable rows: {reason}")]
    NoRows {
        /// What was missing.
        reason: String,
    },
    /// The model file inside a verified model directory is missing or invalid.
    #[error("model `{model}`: {source}")]
    Model {
        /// The model's name.
        model: String,
        /// The learning crate's error.
        #[source]
        source: rampart_ml::MlError,
    },
    /// Reading through the verifier failed (changed file, not in the manifest, audit).
    #[error(transparent)]
    Registry(#[from] rampart_registry::RegistryError),
    /// A learning-crate error outside a named model (training, evaluation).
    #[error(transparent)]
    Ml(#[from] rampart_ml::MlError),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ScoreError>;
