//! Guardrails for Rampart's LLM use: prompt-injection detection, PII minimisation, output grounding.

mod confusables;
pub mod decode;
mod error;
pub mod features;
mod guard;
pub mod model;
pub mod normalize;
pub mod signals;

pub use error::GuardError;
pub use guard::{Guard, MAX_SCAN_BYTES, Reason, ScanResult};
pub use model::GuardModel;
pub use signals::Signal;
