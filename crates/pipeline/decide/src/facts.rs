//! The facts a policy sees about an incident, derived from the incident and its alerts.

use std::collections::BTreeSet;

use rampart_core::{Alert, AlertSource, EntityKind, EntityRef, Incident, Level};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Everything policies may use about one incident; the same values are recorded with every
/// decision so it can be explained later.
///
/// Scores, criticality and confidence are rounded to integers for Cedar, which has no
/// floating-point numbers; the exact values are kept here too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The incident's id.
    pub incident_id: String,
    /// Its risk score.
    pub score: f64,
    /// Alerts after dedup.
    pub alert_count: u64,
    /// Distinct rule ids.
    pub rule_count: u64,
    /// Tactics, in kill-chain order.
    pub tactics: Vec<String>,
    /// Technique ids, each sub-technique also adding its parent.
    pub techniques: Vec<String>,
    /// Highest alert level.
    pub max_level: Level,
    /// Highest criticality multiplier among the incident's entities (1 is ordinary).
    pub max_criticality: f64,
    /// Highest indicator confidence (0..100) among indicator-match alerts, 0 when none.
    pub indicator_confidence: u8,
    /// IPs, domains, URLs and file hashes named by indicator-match alerts: what `block_indicator`
    /// would block.
    pub indicators: Vec<EntityRef>,
    /// Hosts: what `contain_host` would isolate.
    pub hosts: Vec<EntityRef>,
    /// Users involved.
    pub users: Vec<EntityRef>,
    /// Detectors that raised its alerts.
    pub sources: Vec<AlertSource>,
    /// Entity kinds involved.
    pub entity_kinds: Vec<EntityKind>,
    /// Seconds between the first and the last event.
    pub duration_secs: u64,
}

impl Facts {
    /// Derives facts from an incident and its alerts (alerts not in the incident are ignored;
    /// when none is given, alert-derived facts come from the incident alone).
    ///
    /// `criticality` gives each entity's multiplier (the asset inventory's lookup; return 1 for
    /// ordinary assets). An indicator-match alert ([`AlertSource::Indicator`]) carries the
    /// indicator's confidence as its `score` in `[0, 1]`; without a score its level stands in
    /// (critical 100, high 85, medium 60, low 30, informational 10).
    pub fn from_incident(
        incident: &Incident,
        alerts: &[Alert],
        criticality: &dyn Fn(&EntityRef) -> f64,
    ) -> Self {
        let members: Vec<&Alert> = alerts
            .iter()
            .filter(|a| incident.alert_ids.contains(&a.id))
            .collect();
        let mut rules: BTreeSet<&str> = BTreeSet::new();
        let mut techniques: BTreeSet<String> = incident.techniques.iter().cloned().collect();
        let mut sources: Vec<AlertSource> = Vec::new();
        let mut entities: BTreeSet<EntityRef> = incident.entities.iter().cloned().collect();
        let mut indicators: BTreeSet<EntityRef> = BTreeSet::new();
        let mut max_level = Level::Informational;
        let mut indicator_confidence = 0u8;
        for alert in &members {
            rules.insert(&alert.rule_id);
            techniques.extend(alert.techniques.iter().cloned());
            if !sources.contains(&alert.source) {
                sources.push(alert.source);
            }
            entities.extend(alert.entities.iter().cloned());
            max_level = max_level.max(alert.level);
            if alert.source == AlertSource::Indicator {
                indicator_confidence = indicator_confidence.max(confidence(alert));
                indicators.extend(
                    alert
                        .entities
                        .iter()
                        .filter(|e| is_indicator(e.kind))
                        .cloned(),
                );
            }
        }
        let parents: Vec<String> = techniques
            .iter()
            .filter_map(|t| t.split_once('.').map(|(parent, _)| parent.to_owned()))
            .collect();
        techniques.extend(parents);
        sources.sort_by_key(name);
        let of_kind = |kind: EntityKind| -> Vec<EntityRef> {
            entities
                .iter()
                .filter(|e| e.kind == kind)
                .cloned()
                .collect()
        };
        let max_criticality = entities
            .iter()
            .map(criticality)
            .filter(|c| c.is_finite() && *c >= 0.0)
            .fold(1.0_f64, f64::max);
        let duration_secs = match (incident.first_seen, incident.last_seen) {
            (Some(first), Some(last)) => u64::try_from((last - first).num_seconds()).unwrap_or(0),
            _ => 0,
        };
        let mut entity_kinds: Vec<EntityKind> = entities.iter().map(|e| e.kind).collect();
        entity_kinds.dedup();
        Self {
            incident_id: incident.id.to_string(),
            score: if incident.score.is_finite() {
                incident.score
            } else {
                0.0
            },
            alert_count: members.len().max(incident.alert_ids.len()) as u64,
            rule_count: rules.len() as u64,
            tactics: incident.tactics.clone(),
            techniques: techniques.into_iter().collect(),
            max_level,
            max_criticality,
            indicator_confidence,
            indicators: indicators.into_iter().collect(),
            hosts: of_kind(EntityKind::Host),
            users: of_kind(EntityKind::User),
            sources,
            entity_kinds,
            duration_secs,
        }
    }

    /// The incident's attributes as the Cedar schema (`Rampart::Incident`) declares them.
    pub fn cedar_attributes(&self) -> Value {
        json!({
            "score": round(self.score),
            "alert_count": saturating_i64(self.alert_count),
            "rule_count": saturating_i64(self.rule_count),
            "tactics": self.tactics,
            "tactic_count": self.tactics.len(),
            "last_tactic": self.tactics.last().cloned().unwrap_or_default(),
            "techniques": self.techniques,
            "max_level": name(&self.max_level),
            "max_level_rank": level_rank(self.max_level),
            "criticality_pct": round(self.max_criticality * 100.0),
            "indicator_confidence": self.indicator_confidence,
            "indicator_count": self.indicators.len(),
            "sources": self.sources.iter().map(name).collect::<Vec<_>>(),
            "entity_kinds": self.entity_kinds.iter().map(name).collect::<Vec<_>>(),
            "host_count": self.hosts.len(),
            "user_count": self.users.len(),
            "duration_secs": saturating_i64(self.duration_secs),
        })
    }

    /// The facts as recorded with a decision: these fields plus the Cedar attributes.
    pub fn to_record(&self) -> Value {
        json!({ "facts": self, "cedar": self.cedar_attributes() })
    }
}

/// 0 (informational) to 4 (critical).
pub fn level_rank(level: Level) -> i64 {
    match level {
        Level::Informational => 0,
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
        Level::Critical => 4,
    }
}

fn confidence(alert: &Alert) -> u8 {
    match alert.score.filter(|s| s.is_finite()) {
        // Clamped to 0..=100 first, so the cast cannot truncate.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to 0..=100"
        )]
        Some(score) => (score.clamp(0.0, 1.0) * 100.0).round() as u8,
        None => match alert.level {
            Level::Critical => 100,
            Level::High => 85,
            Level::Medium => 60,
            Level::Low => 30,
            Level::Informational => 10,
        },
    }
}

fn is_indicator(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Ip
            | EntityKind::Domain
            | EntityKind::Url
            | EntityKind::FileHash
            | EntityKind::Email
    )
}

/// A float as a Cedar `Long`, rounded and saturated.
#[expect(
    clippy::cast_possible_truncation,
    reason = "clamped to the i64 range first"
)]
fn round(x: f64) -> i64 {
    if x.is_finite() {
        x.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64
    } else {
        0
    }
}

fn saturating_i64(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// The `snake_case` name serde gives a unit enum variant.
fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::{AlertId, IncidentId};

    fn alert(source: AlertSource, level: Level, entities: Vec<EntityRef>) -> Alert {
        Alert {
            id: AlertId::derive(&[format!("{source:?}{level:?}{entities:?}").as_bytes()]),
            source,
            rule_id: format!("{source:?}"),
            title: String::new(),
            level,
            score: None,
            techniques: vec!["T1003.001".into()],
            tactics: vec![],
            entities,
            event_ids: vec![],
            first_seen: None,
            last_seen: None,
            explanation: None,
        }
    }

    #[test]
    fn derives_facts_and_cedar_attributes() {
        let host = EntityRef::new(EntityKind::Host, "dc01");
        let bad_ip = EntityRef::new(EntityKind::Ip, "203.0.113.5");
        let mut intel = alert(
            AlertSource::Indicator,
            Level::Medium,
            vec![host.clone(), bad_ip.clone()],
        );
        intel.score = Some(0.9);
        let sigma = alert(AlertSource::Sigma, Level::High, vec![host.clone()]);
        let outsider = alert(AlertSource::Anomaly, Level::Critical, vec![]);
        let incident = Incident {
            id: IncidentId::derive(&[b"x"]),
            title: String::new(),
            alert_ids: vec![intel.id, sigma.id],
            entities: vec![host.clone()],
            tactics: vec!["credential-access".into()],
            techniques: vec![],
            score: 81.6,
            first_seen: None,
            last_seen: None,
        };
        let crit = |e: &EntityRef| if e.value == "dc01" { 3.0 } else { 1.0 };
        let facts = Facts::from_incident(&incident, &[intel, sigma, outsider], &crit);
        assert_eq!(
            facts.max_level,
            Level::High,
            "the outsider alert is ignored"
        );
        assert_eq!(facts.indicator_confidence, 90);
        assert_eq!(facts.indicators, [bad_ip]);
        assert_eq!(facts.hosts, [host]);
        assert_eq!(facts.techniques, ["T1003", "T1003.001"]);
        let cedar = facts.cedar_attributes();
        assert_eq!(cedar["score"], 82);
        assert_eq!(cedar["criticality_pct"], 300);
        assert_eq!(cedar["max_level_rank"], 3);
        assert_eq!(cedar["last_tactic"], "credential-access");
        assert_eq!(cedar["sources"], json!(["indicator", "sigma"]));
    }
}
