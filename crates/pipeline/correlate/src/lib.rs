//! Correlation: an entity graph over alerts, incidents with tactic progression, dedup, and a
//! replayable entity risk ledger.
//!
//! Input: [`Alert`](rampart_core::Alert)s in (roughly) event-time order. Output:
//! [`CorrelatedIncident`]s (a core [`Incident`](rampart_core::Incident) plus its deduplicated
//! alerts) as their time windows close, and a [`RiskLedger`] that explains every score.
//!
//! - Alerts that share an entity (host, user, IP, process, file hash, domain, URL) within
//!   `link_window` of event time are linked; an incident is a connected group
//!   ([`correlator`](Correlator) has the exact rule).
//! - Repeats of one rule on the same entities within one aligned `dedup_window` fold into one
//!   [`MergedAlert`] with a count.
//! - Hubs (entities seen with more than `hub_max_hosts` hosts) and configured
//!   `ignored_entities` link nothing.
//! - Incident ids are derived from their alert ids, so re-runs yield the same incidents; tactics
//!   are in kill-chain order ([`TacticOrder`], default [`KillChain`]).
//! - Memory is bounded: groups whose window closed are reported and dropped.
//!
//! The main design decision is that scores are replayable: the ledger keeps contributions,
//! not totals, so [`RiskLedger::explain_incident`] returns exactly the contributions behind a
//! score and [`RiskLedger::without`] recomputes as if one alert were a false positive.
//!
//! ```
//! use rampart_core::{Alert, AlertId, AlertSource, EntityKind, EntityRef, Level};
//! use rampart_correlate::{CorrelateConfig, Correlator};
//!
//! let at = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().to_utc();
//! let alert = |rule: &str, minutes: i64, user: &str| Alert {
//!     id: AlertId::derive(&[rule.as_bytes(), &minutes.to_le_bytes()]),
//!     source: AlertSource::Sigma,
//!     rule_id: rule.into(),
//!     title: rule.into(),
//!     level: Level::High,
//!     score: None,
//!     techniques: vec![],
//!     tactics: vec![if rule == "mimikatz" { "credential-access" } else { "execution" }.into()],
//!     entities: vec![EntityRef::new(EntityKind::Host, "WS-01"), EntityRef::new(EntityKind::User, user)],
//!     event_ids: vec![],
//!     first_seen: Some(at + chrono::TimeDelta::minutes(minutes)),
//!     last_seen: Some(at + chrono::TimeDelta::minutes(minutes)),
//!     explanation: None,
//! };
//! let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
//! correlator.observe(alert("mimikatz", 20, "alice"));
//! correlator.observe(alert("encoded-powershell", 0, "alice"));
//! let incidents = correlator.finish();
//! assert_eq!(incidents.len(), 1);
//! let incident = &incidents[0].incident;
//! assert_eq!(incident.tactics, ["execution", "credential-access"]);
//! assert!(incident.title.starts_with("Credential access on ws-01 as alice"));
//! let why = correlator.explain(incident);
//! assert_eq!(why.total, incident.score);
//! assert_eq!(why.contributions.len(), 2);
//! ```

mod config;
pub mod correlator;
mod hubs;
pub mod ledger;
mod merge;
pub mod tactics;
#[cfg(test)]
mod testkit;
mod title;

pub use config::{CorrelateConfig, RiskConfig};
pub use correlator::{CorrelateStats, CorrelatedIncident, Correlator};
pub use ledger::{Criticality, EntityRisk, RiskContribution, RiskExplanation, RiskLedger, Uniform};
pub use merge::MergedAlert;
pub use tactics::{ENTERPRISE_TACTICS, KillChain, TacticOrder, normalise_tactic, order_tactics};

/// Errors from the correlation stage.
#[derive(Debug, thiserror::Error)]
pub enum CorrelateError {
    /// A configuration value is out of range or inconsistent with another.
    #[error("invalid `[correlate]` configuration: {0}")]
    InvalidConfig(String),
}
