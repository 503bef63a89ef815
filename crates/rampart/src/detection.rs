//! The per-event detectors `rampart run` applies in its parse workers: every signed model
//! configured for scoring (and, as they are configured, the other per-event detectors).
//!
//! Detectors are shared read-only across workers; each event is checked by every detector
//! and the alerts travel with the parsed batch to the writer, which stores them after the
//! events they cite.

use rampart_core::{Alert, Event};
use rampart_score::ScoringModel;
use tracing::warn;

/// Every per-event detector of a run.
#[derive(Debug, Default)]
pub struct Detectors {
    models: Vec<ScoringModel>,
}

impl Detectors {
    /// Detectors scoring with `models`.
    pub fn new(models: Vec<ScoringModel>) -> Self {
        Self { models }
    }

    /// Appends the alerts `event` raises to `out`.
    pub fn detect(&self, event: &Event, out: &mut Vec<Alert>) {
        for model in &self.models {
            match model.alert_for(event) {
                Ok(Some(alert)) => out.push(alert),
                Ok(None) => {}
                // Scoring checks every cell against the contract first, so this is an
                // internal inconsistency; it must not stop the run or lose the event.
                Err(error) => {
                    warn!(model = model.name(), event = %event.id, %error, "scoring failed");
                }
            }
        }
    }
}
