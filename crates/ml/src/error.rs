//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in `rampart-ml`.
///
/// Variants fall in two groups that callers treat differently: bad *data*
/// (a degenerate training set, a malformed model file, which come from outside)
/// and caller *misuse* (a hyperparameter out of range, arrays of mismatched length).
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum MlError {
    /// The training set has no rows.
    #[error("training set `{what}` has no rows; provide at least one labelled row")]
    EmptyTrainingSet {
        /// Which training set (e.g. `gbdt`, `isolation forest`).
        what: &'static str,
    },
    /// A supervised model was given only one class.
    #[error(
        "training labels contain only class `{class}`; a classifier needs both classes 0 and 1"
    )]
    SingleClass {
        /// The only class present.
        class: u8,
    },
    /// Every feature is constant, so no split or slope can be learnt.
    #[error("all `{features}` features are constant over the training rows; nothing can be learnt")]
    ConstantFeatures {
        /// Number of features.
        features: usize,
    },
    /// Two arrays that must agree in length do not.
    #[error("`{what}` has length `{got}`, expected `{expected}`")]
    LengthMismatch {
        /// What was measured.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A label outside {0, 1}.
    #[error("label `{value}` at row `{row}` is not 0 or 1")]
    InvalidLabel {
        /// Row index.
        row: usize,
        /// The offending value.
        value: f64,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("`{what}` contains a non-finite value at index `{index}`; impute or drop it first")]
    NonFinite {
        /// Which array.
        what: &'static str,
        /// Index of the first bad value.
        index: usize,
    },
    /// A hyperparameter outside its valid range.
    #[error("hyperparameter `{name}` = `{value}` is invalid: {reason}")]
    InvalidHyperparameter {
        /// Name of the hyperparameter.
        name: &'static str,
        /// The offending value, printed.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// A model file is larger than a configured limit (checked before allocating).
    #[error("model file: `{what}` is `{got}`, above the limit `{limit}`")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The count found.
        got: usize,
        /// The limit.
        limit: usize,
    },
    /// A model file parsed but describes an invalid model.
    #[error("model file is invalid: {reason}")]
    InvalidModel {
        /// What is wrong, with the offending value in backticks.
        reason: String,
    },
    /// A model file is not well-formed JSON or does not match the format.
    #[error("model file is not readable: {detail}")]
    ModelFormat {
        /// The parser's message.
        detail: String,
    },
    /// A model file of a format version this build does not read.
    #[error(
        "model file version `{found}` is not supported; this build reads version `{supported}`"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// A schema or table problem (duplicate or unknown column, wrong column kind).
    #[error("schema: {reason}")]
    Schema {
        /// What is wrong, with the offending name in backticks.
        reason: String,
    },
    /// A model of one kind was used where another was expected.
    #[error("model kind `{found}` cannot be used here; expected `{expected}`")]
    WrongModelKind {
        /// Kind in the model.
        found: &'static str,
        /// Kind required.
        expected: &'static str,
    },
}

/// Result alias for the crate.
pub type Result<T> = std::result::Result<T, MlError>;
