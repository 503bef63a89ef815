//! The stage contract: every pipeline stage is a typed configuration section that builds a
//! runtime component. See `docs/specs/stage.md`.

use serde::de::DeserializeOwned;

/// The configuration of one stage: a section of `rampart.toml`.
///
/// Implementors derive `serde::Deserialize` with `#[serde(deny_unknown_fields)]` so that a
/// typo in the configuration is an error, and implement `Default` with the documented
/// defaults so that an absent section means "defaults".
pub trait StageConfig: DeserializeOwned + Default {
    /// The section name in `rampart.toml`, e.g. `ingest`.
    const SECTION: &'static str;
    /// The runtime component this configuration builds.
    type Stage;
    /// Why building failed (a bad path, an invalid value).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Validates the configuration and builds the runtime component.
    fn build(&self) -> Result<Self::Stage, Self::Error>;
}
