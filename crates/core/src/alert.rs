//! Alerts, their explanations, incidents and decisions: what the later stages produce.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AlertId, DecisionId, EntityRef, EventId, IncidentId};

/// Which detector raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// A single-event Sigma rule.
    Sigma,
    /// A Sigma correlation rule.
    Correlation,
    /// An unsupervised anomaly detector.
    Anomaly,
    /// The supervised threat scorer.
    Scorer,
    /// A threat-intel indicator match.
    Indicator,
    /// An alert produced by another tool and ingested as such (e.g. a Suricata alert).
    Imported,
}

/// How severe an alert is, in Sigma's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// One feature's share of a model's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The feature's name in the model's schema.
    pub feature: String,
    /// The feature's value in the scored input, as text.
    pub value: String,
    /// Its additive contribution to the model's raw output.
    pub contribution: f64,
}

/// Why a model produced a score: base value plus contributions equals the raw output exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The model's name.
    pub model: String,
    /// The model's version.
    pub model_version: String,
    /// The expected raw output over the background data.
    pub base_value: f64,
    /// The raw output (log-odds margin, expected path length, …) being explained.
    pub raw_output: f64,
    /// Contributions, largest magnitude first (may be truncated to the top ones).
    pub contributions: Vec<Contribution>,
}

/// A detection about one or more events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Derived from the detector, the rule and the events, so re-detection is idempotent.
    pub id: AlertId,
    /// Which detector raised it.
    pub source: AlertSource,
    /// The rule or model id.
    pub rule_id: String,
    /// A one-line title.
    pub title: String,
    /// Severity.
    pub level: Level,
    /// A score in `[0, 1]` for model-based alerts.
    pub score: Option<f64>,
    /// ATT&CK / ATLAS technique ids.
    pub techniques: Vec<String>,
    /// Tactic names.
    pub tactics: Vec<String>,
    /// The entities involved.
    pub entities: Vec<EntityRef>,
    /// The events that triggered it.
    pub event_ids: Vec<EventId>,
    /// Event time of the first triggering event.
    pub first_seen: Option<DateTime<Utc>>,
    /// Event time of the last triggering event.
    pub last_seen: Option<DateTime<Utc>>,
    /// Why, for model-based alerts.
    pub explanation: Option<Explanation>,
}

/// A connected group of alerts over shared entities and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Derived from its alerts.
    pub id: IncidentId,
    /// A one-line title.
    pub title: String,
    /// The alerts it groups.
    pub alert_ids: Vec<AlertId>,
    /// The entities involved.
    pub entities: Vec<EntityRef>,
    /// ATT&CK tactics in kill-chain order.
    pub tactics: Vec<String>,
    /// Technique ids.
    pub techniques: Vec<String>,
    /// The incident's risk score.
    pub score: f64,
    /// First event time.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last event time.
    pub last_seen: Option<DateTime<Utc>>,
}

/// How much autonomy an action has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionMode {
    /// Recorded, never executed.
    DryRun,
    /// Executed after the given number of distinct approvals.
    NeedsApproval(u8),
    /// Executed at once.
    Automatic,
}

/// A policy's decision about an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Derived from the incident, the action and the policy, so re-runs never duplicate it.
    pub id: DecisionId,
    /// The incident decided about.
    pub incident_id: IncidentId,
    /// The action, e.g. `escalate`, `contain_host`.
    pub action: String,
    /// Its autonomy mode.
    pub mode: ActionMode,
    /// The id of the policy that matched.
    pub policy_id: String,
    /// The facts the policy saw.
    pub facts: Value,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
}
