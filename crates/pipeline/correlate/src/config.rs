//! The correlation stage's configuration (`[correlate]` in `rampart.toml`).

use chrono::TimeDelta;
use rampart_core::{EntityKind, EntityRef};
use serde::{Deserialize, Serialize};

use crate::CorrelateError;

/// How alerts are grouped, deduplicated and scored. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelateConfig {
    /// Two alerts that share an entity are linked when their event times are at most this far
    /// apart, in seconds. Default 3600 (one hour).
    pub link_window_secs: u64,
    /// Alerts may arrive this much later than the latest event time seen and still be
    /// correlated exactly, in seconds. Default 300.
    pub reorder_tolerance_secs: u64,
    /// Alerts of the same rule on the same entities within one aligned window of this many
    /// seconds merge into one. Must not exceed `link_window_secs`. Default 600.
    pub dedup_window_secs: u64,
    /// A merged alert keeps at most this many event ids (the smallest, so the kept set does not
    /// depend on arrival order). Default 100.
    pub max_event_ids: usize,
    /// An entity seen on alerts of more than this many distinct hosts is a hub (a domain
    /// controller's IP, the `system` user) and links nothing. Default 10.
    pub hub_max_hosts: usize,
    /// How long, in seconds, an entity's host count is remembered after its last alert.
    /// Default 86400.
    pub hub_memory_secs: u64,
    /// Entities that never link alerts, whatever their counts.
    pub ignored_entities: Vec<EntityRef>,
    /// Incidents with fewer alerts (after dedup) are not reported. Default 1.
    pub min_alerts: usize,
    /// An incident stops growing once it spans this many seconds of event time; later alerts
    /// start a new one. Keeps a host with a constantly firing rule from holding one endless,
    /// ever-open incident (an incident may exceed it by the reorder tolerance and the gap to
    /// the next alert). At least `link_window_secs`. Default 86400.
    pub max_incident_span_secs: u64,
    /// An incident stops growing at this many alerts; later alerts start a new incident.
    /// Bounds memory when a real campaign touches everything. Default 10000.
    pub max_incident_alerts: usize,
    /// The entity risk ledger's settings.
    pub risk: RiskConfig,
}

/// How the entity risk ledger weighs and forgets alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// A contribution halves every this many seconds. Default 86400 (one day).
    pub half_life_secs: u64,
    /// One rule adds at most this much risk to one entity, however often it fires. Default 100.
    pub source_cap: f64,
    /// Contributions whose decayed value fell below this are forgotten. Default 0.5.
    pub forget_below: f64,
    /// Base risk of an alert by level: informational, low, medium, high, critical.
    /// Default `[2, 10, 25, 50, 80]`.
    pub level_points: [f64; 5],
    /// Base risk of a model alert with score `s` is `s * score_points` (if larger than its
    /// level's points). Default 80.
    pub score_points: f64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            half_life_secs: 86_400,
            source_cap: 100.0,
            forget_below: 0.5,
            level_points: [2.0, 10.0, 25.0, 50.0, 80.0],
            score_points: 80.0,
        }
    }
}

impl Default for CorrelateConfig {
    fn default() -> Self {
        let user = |v: &str| EntityRef::new(EntityKind::User, v);
        let ip = |v: &str| EntityRef::new(EntityKind::Ip, v);
        Self {
            link_window_secs: 3600,
            reorder_tolerance_secs: 300,
            dedup_window_secs: 600,
            max_event_ids: 100,
            hub_max_hosts: 10,
            hub_memory_secs: 86_400,
            ignored_entities: vec![
                user("system"),
                user("nt authority\\system"),
                user("local service"),
                user("nt authority\\local service"),
                user("network service"),
                user("nt authority\\network service"),
                user("-"),
                ip("127.0.0.1"),
                ip("::1"),
                ip("0.0.0.0"),
                ip("-"),
            ],
            min_alerts: 1,
            max_incident_span_secs: 86_400,
            max_incident_alerts: 10_000,
            risk: RiskConfig::default(),
        }
    }
}

impl CorrelateConfig {
    /// Checks the settings against each other.
    pub fn validate(&self) -> Result<(), CorrelateError> {
        let bad = |msg: String| Err(CorrelateError::InvalidConfig(msg));
        if self.link_window_secs == 0 {
            return bad("`link_window_secs` must be positive".into());
        }
        if self.dedup_window_secs > self.link_window_secs {
            return bad(format!(
                "`dedup_window_secs` ({}) must not exceed `link_window_secs` ({})",
                self.dedup_window_secs, self.link_window_secs
            ));
        }
        if self.max_incident_span_secs < self.link_window_secs {
            return bad(format!(
                "`max_incident_span_secs` ({}) must be at least `link_window_secs` ({})",
                self.max_incident_span_secs, self.link_window_secs
            ));
        }
        if self.max_incident_alerts == 0 {
            return bad("`max_incident_alerts` must be positive".into());
        }
        self.risk.validate()
    }

    pub(crate) fn link_window(&self) -> TimeDelta {
        secs(self.link_window_secs)
    }

    pub(crate) fn reorder_tolerance(&self) -> TimeDelta {
        secs(self.reorder_tolerance_secs)
    }

    pub(crate) fn max_incident_span(&self) -> TimeDelta {
        secs(self.max_incident_span_secs)
    }

    pub(crate) fn hub_memory(&self) -> TimeDelta {
        secs(self.hub_memory_secs)
    }
}

impl RiskConfig {
    /// Checks that the numbers make sense.
    pub fn validate(&self) -> Result<(), CorrelateError> {
        let bad = |msg: String| Err(CorrelateError::InvalidConfig(msg));
        if self.half_life_secs == 0 {
            return bad("`risk.half_life_secs` must be positive".into());
        }
        let finite_non_negative = |x: f64| x.is_finite() && x >= 0.0;
        if !(self.source_cap.is_finite() && self.source_cap > 0.0) {
            return bad(format!(
                "`risk.source_cap` must be positive, not `{}`",
                self.source_cap
            ));
        }
        if !finite_non_negative(self.forget_below)
            || !finite_non_negative(self.score_points)
            || !self.level_points.iter().all(|p| finite_non_negative(*p))
        {
            return bad("`risk` points and thresholds must be finite and non-negative".into());
        }
        Ok(())
    }
}

/// Seconds as a `TimeDelta`, saturating far beyond any real window.
pub(crate) fn secs(value: u64) -> TimeDelta {
    TimeDelta::try_seconds(i64::try_from(value).unwrap_or(i64::MAX / 1000))
        .unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        let config = CorrelateConfig::default();
        config.validate().unwrap();
        let text = serde_json::to_string(&config).unwrap();
        let back: CorrelateConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_windows() {
        assert!(serde_json::from_str::<CorrelateConfig>(r#"{"link_window":5}"#).is_err());
        let config = CorrelateConfig {
            dedup_window_secs: 7200,
            ..CorrelateConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("dedup_window_secs"), "{err}");
    }
}
