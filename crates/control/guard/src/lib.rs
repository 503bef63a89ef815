//! Guardrails for Rampart's LLM use: prompt-injection detection, PII minimisation, output grounding.

mod confusables;
pub mod dataset;
pub mod decode;
mod error;
pub mod eval;
pub mod features;
mod guard;
pub mod model;
pub mod normalize;
pub mod output;
pub mod pii;
pub mod prompt;
pub mod signals;
pub mod split;
pub mod train;
pub mod untrusted;

pub use error::GuardError;
pub use guard::{Guard, MAX_SCAN_BYTES, Reason, ScanResult};
pub use model::GuardModel;
pub use signals::Signal;
