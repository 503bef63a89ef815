//! Matching events against the store's indicators, and the alerts that matches raise.
//!
//! Candidates come from the index: one hash probe per exact observable (domain, URL, email,
//! hash, file and process name) and one probe per prefix length in use per address, so the
//! cost grows with the event's observables, not with the number of indicators. Only the
//! indicators whose patterns cannot be indexed (negations, `LIKE`, `MATCHES`, ranges) are
//! checked against every event.

use chrono::{DateTime, Utc};
use rampart_core::{Alert, AlertId, AlertSource, EntityKind, EntityRef, Event, Level};
use serde::{Deserialize, Serialize};

use crate::indicator::{Indicator, Tlp};
use crate::observed::Observed;
use crate::pattern::{Hit, IndexKey};
use crate::warninglist::Suppression;
use crate::{IntelStore, SourceInfo};

/// One observable of the event that satisfied the indicator's pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedObservable {
    /// The event field, e.g. `destination.ip`, `dns.question.name`.
    pub field: String,
    /// The observed value.
    pub value: String,
    /// The entity it names, when it names one (ports and command lines do not).
    pub entity: Option<EntityRef>,
}

/// An indicator that matched an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorMatch {
    /// The indicator's id.
    pub indicator_id: String,
    /// The indicator's name.
    pub indicator_name: String,
    /// The indicator's `modified` (its version), when it has one.
    pub indicator_modified: Option<String>,
    /// The pattern as written.
    pub pattern: String,
    /// Where the indicator came from.
    pub source: SourceInfo,
    /// The observables that satisfied the pattern.
    pub observables: Vec<MatchedObservable>,
    /// The decayed score at match time, 0–100.
    pub score: f64,
    /// The score decay started from.
    pub base_score: f64,
    /// The indicator's STIX confidence.
    pub confidence: Option<u8>,
    /// The TLP marking of the indicator.
    pub tlp: Option<Tlp>,
    /// ATT&CK / ATLAS technique ids the indicator `indicates`.
    pub techniques: Vec<String>,
    /// ATT&CK tactic shortnames from the indicator's kill-chain phases.
    pub tactics: Vec<String>,
    /// Set when a warninglist holds one of the observables: the match is known-benign and
    /// raises no alert.
    pub suppressed: Option<Suppression>,
}

impl IndicatorMatch {
    /// Whether an allow-list suppressed this match.
    pub const fn is_suppressed(&self) -> bool {
        self.suppressed.is_some()
    }

    /// The alert level: from the indicator's confidence (or its base score when it states
    /// none) on the STIX confidence scale: 0 informational, 1–29 low, 30–69 medium, 70–100
    /// high.
    pub fn level(&self) -> Level {
        let confidence = self.confidence.map_or(self.base_score, f64::from);
        if confidence >= 70.0 {
            Level::High
        } else if confidence >= 30.0 {
            Level::Medium
        } else if confidence >= 1.0 {
            Level::Low
        } else {
            Level::Informational
        }
    }
}

impl IntelStore {
    fn candidates(&self, observed: &Observed) -> Vec<usize> {
        let mut slots: Vec<usize> = self.index.scan.clone();
        for ip in observed.addresses() {
            slots.extend(self.index.nets.containing(ip).map(|(_, slot)| *slot));
        }
        let mut probe = |key: IndexKey| {
            if let Some(found) = self.index.exact.get(&key) {
                slots.extend(found);
            }
        };
        for domain in &observed.domains {
            probe(IndexKey::Domain(domain.value.clone()));
        }
        for url in &observed.urls {
            probe(IndexKey::Url(url.value.clone()));
        }
        for email in &observed.emails {
            probe(IndexKey::Email(email.value.clone()));
        }
        if let Some(file) = &observed.file {
            for (hash, key) in [
                (&file.md5, IndexKey::Md5 as fn(String) -> IndexKey),
                (&file.sha1, IndexKey::Sha1),
                (&file.sha256, IndexKey::Sha256),
                (&file.name, IndexKey::FileName),
            ] {
                if let Some(hash) = hash {
                    probe(key(hash.clone()));
                }
            }
        }
        if let Some(process) = &observed.process {
            for name in [&process.name, &process.parent_name].into_iter().flatten() {
                probe(IndexKey::ProcessName(name.clone()));
            }
        }
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// The indicators the event matches at time `now` (use the event's own time to replay
    /// history). Revoked, expired, not-yet-valid and fully decayed indicators never match.
    /// Matches whose observables are on a warninglist are returned with `suppressed` set.
    /// Sorted by indicator id.
    pub fn match_event(&self, event: &Event, now: DateTime<Utc>) -> Vec<IndicatorMatch> {
        let observed = Observed::of(event);
        let mut matches = Vec::new();
        for slot in self.candidates(&observed) {
            let Some(Some(indicator)) = self.indicators.get(slot) else {
                continue;
            };
            let Ok(score) = indicator.status_at(now) else {
                continue;
            };
            let Some(hits) = indicator.pattern.matches(&observed) else {
                continue;
            };
            matches.push(self.describe(indicator, score, hits));
        }
        matches.sort_by(|a, b| a.indicator_id.cmp(&b.indicator_id));
        matches
    }

    fn describe(&self, indicator: &Indicator, score: f64, hits: Vec<Hit>) -> IndicatorMatch {
        let suppressed = hits
            .iter()
            .filter_map(|hit| hit.entity.as_ref())
            .find_map(|entity| self.warninglists.lookup(entity));
        let techniques = self
            .indicates
            .get(&indicator.id)
            .into_iter()
            .flatten()
            .filter_map(|target| self.techniques.get(target).cloned())
            .collect();
        IndicatorMatch {
            indicator_id: indicator.id.clone(),
            indicator_name: indicator.name.clone(),
            indicator_modified: indicator.modified.clone(),
            pattern: indicator.pattern.as_str().to_owned(),
            source: indicator.source.clone(),
            observables: hits
                .into_iter()
                .map(|hit| MatchedObservable {
                    field: hit.field.to_owned(),
                    value: hit.value,
                    entity: hit.entity,
                })
                .collect(),
            score,
            base_score: indicator.base_score,
            confidence: indicator.confidence,
            tlp: self.tlp_of(indicator),
            techniques,
            tactics: indicator.tactics.clone(),
            suppressed,
        }
    }

    /// One [`AlertSource::Indicator`] alert per unsuppressed match. The alert id derives from
    /// the indicator id and the event id, so re-processing the same event yields the same
    /// alert.
    pub fn alerts_for(&self, event: &Event, now: DateTime<Utc>) -> Vec<Alert> {
        self.match_event(event, now)
            .iter()
            .filter(|m| !m.is_suppressed())
            .map(|m| alert_for(m, event))
            .collect()
    }
}

/// The alert an unsuppressed match raises.
pub fn alert_for(m: &IndicatorMatch, event: &Event) -> Alert {
    let mut entities: Vec<EntityRef> = m
        .observables
        .iter()
        .filter_map(|o| o.entity.clone())
        .collect();
    // The host and user that saw the indicator: they link the match to the host's other
    // alerts and carry the asset's criticality into its risk.
    if let Some(host) = &event.ecs.host.name {
        entities.push(EntityRef::new(EntityKind::Host, host.clone()));
    }
    if let Some(user) = &event.ecs.user.name {
        entities.push(EntityRef::new(EntityKind::User, user.clone()));
    }
    entities.sort();
    entities.dedup();
    let shown = m
        .observables
        .first()
        .map(|o| format!(" on {} `{}`", o.field, o.value))
        .unwrap_or_default();
    Alert {
        id: AlertId::derive(&[b"indicator", m.indicator_id.as_bytes(), event.id.as_bytes()]),
        source: AlertSource::Indicator,
        rule_id: m.indicator_id.clone(),
        title: format!("Threat-intel match: {}{shown}", m.indicator_name),
        level: m.level(),
        score: Some((m.score / 100.0).clamp(0.0, 1.0)),
        techniques: m.techniques.clone(),
        tactics: m.tactics.clone(),
        entities,
        event_ids: vec![event.id],
        first_seen: event.ecs.timestamp,
        last_seen: event.ecs.timestamp,
        explanation: None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::testkit::event;

    /// The obviously-correct reference: every current indicator (replaced versions are
    /// emptied slots), no index.
    fn naive(store: &IntelStore, event: &Event, now: DateTime<Utc>) -> Vec<String> {
        let observed = Observed::of(event);
        let mut ids: Vec<String> = store
            .indicators
            .iter()
            .flatten()
            .filter(|i| i.status_at(now).is_ok() && i.pattern.matches(&observed).is_some())
            .map(|i| i.id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn pattern() -> impl Strategy<Value = String> {
        let octet = 0u8..4;
        prop_oneof![
            (octet.clone(), octet.clone()).prop_map(|(a, b)| format!("[ipv4-addr:value = '10.{a}.{b}.1']")),
            (octet.clone(), 8u8..=32).prop_map(|(a, len)| format!("[ipv4-addr:value ISSUBSET '10.{a}.0.0/{len}']")),
            (octet.clone(), 0u8..=32).prop_map(|(a, len)| format!("[network-traffic:dst_ref.value = '10.{a}.1.1/{len}' AND network-traffic:dst_port = 443]")),
            (0u8..4).prop_map(|d| format!("[domain-name:value = 'h{d}.example']")),
            (0u8..4).prop_map(|d| format!("[domain-name:value != 'h{d}.example']")),
            (0u8..4, octet.clone()).prop_map(|(d, a)| format!("[domain-name:value = 'h{d}.example' OR ipv4-addr:value = '10.{a}.1.1'] OR [process:name LIKE 'p{d}%']")),
            (0u8..4, octet).prop_map(|(d, a)| format!("[process:name = 'p{d}' AND ipv4-addr:value = '10.{a}.1.1']")),
        ]
    }

    fn observation() -> impl Strategy<Value = serde_json::Value> {
        (0u8..4, 0u8..4, 0u8..4, 0u8..4, prop::bool::ANY).prop_map(|(a, b, d, p, tls)| {
            json!({
                "source": {"ip": format!("10.{a}.{b}.1")},
                "destination": {"ip": format!("10.{b}.1.1"), "port": if tls { 443 } else { 80 }},
                "dns": {"question": {"name": format!("h{d}.example")}},
                "process": {"name": format!("p{p}")}
            })
        })
    }

    proptest! {
        #[test]
        fn indexed_matching_agrees_with_checking_every_indicator(
            patterns in prop::collection::vec(pattern(), 1..40),
            events in prop::collection::vec(observation(), 1..8),
        ) {
            let mut store = IntelStore::new();
            for (n, text) in patterns.iter().enumerate() {
                let object = json!({"type": "indicator", "id": format!("indicator--{n}"), "pattern": text, "pattern_type": "stix"});
                store.add_stix_object(&object, &SourceInfo::new("prop", "1")).unwrap();
            }
            let now = Utc::now();
            for ecs in events {
                let event = event(ecs);
                let indexed: Vec<String> = store.match_event(&event, now).into_iter().map(|m| m.indicator_id).collect();
                prop_assert_eq!(indexed, naive(&store, &event, now));
            }
        }
    }
}
