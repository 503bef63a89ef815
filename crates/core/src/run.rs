//! Pipeline runs and their counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::RunId;

/// What one run read and stored. `records_read` always equals the sum of the other four counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Records read from all inputs.
    pub records_read: u64,
    /// New events stored by this run.
    pub events_stored: u64,
    /// New threat-intel objects stored by this run.
    pub intel_objects_stored: u64,
    /// Events and objects that were already stored (a re-run of the same input).
    pub duplicates_skipped: u64,
    /// Records that could not be read.
    pub dead_letters: u64,
    /// Records read per format name.
    pub by_format: BTreeMap<String, u64>,
    /// Alerts stored for the first time, per source (`sigma`, `scorer`, …). Not part of the
    /// balance: one record can raise several alerts or none.
    #[serde(default)]
    pub alerts_by_source: BTreeMap<String, u64>,
    /// Incidents stored or updated by this run.
    #[serde(default)]
    pub incidents: u64,
    /// Decisions stored for the first time by this run.
    #[serde(default)]
    pub decisions: u64,
}

impl RunCounts {
    /// Whether the counts add up: every record read is accounted for exactly once.
    pub fn is_balanced(&self) -> bool {
        self.records_read
            == self.events_stored
                + self.intel_objects_stored
                + self.duplicates_skipped
                + self.dead_letters
    }
}

/// One run of the pipeline, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id.
    pub id: RunId,
    /// The input paths as given.
    pub inputs: Vec<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished; `None` while running or after a crash.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its counts so far.
    pub counts: RunCounts,
}

impl RunRecord {
    /// Starts a new run record with a fresh id (derived from the start time, the process id
    /// and the inputs; run ids name an execution, not content, so they are unique per start).
    pub fn start(inputs: Vec<String>) -> Self {
        let started_at = Utc::now();
        let nanos = started_at
            .timestamp_nanos_opt()
            .unwrap_or_default()
            .to_le_bytes();
        let pid = std::process::id().to_le_bytes();
        let joined = inputs.join("\n");
        Self {
            id: RunId::derive(&[&nanos, &pid, joined.as_bytes()]),
            inputs,
            started_at,
            finished_at: None,
            counts: RunCounts::default(),
        }
    }
}
