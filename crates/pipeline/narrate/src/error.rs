//! The crate's one error type.

/// What can go wrong when setting up a narrator. Rendering itself never fails: an LLM
/// problem becomes a deterministic narrative with a recorded fallback reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NarrateError {
    /// The LLM configuration is incomplete or out of range.
    #[error("invalid narrate setting `{name}`: {reason}")]
    InvalidSetting {
        /// The setting (as named in `[narrate]`).
        name: &'static str,
        /// Why it was rejected, with the offending value in backticks.
        reason: String,
    },
    /// The guard could not provide what the LLM renderer needs (randomness, pseudonym key).
    #[error("guard: {0}")]
    Guard(#[from] rampart_guard::GuardError),
}
