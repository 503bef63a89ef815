//! The entity risk ledger: every alert adds risk to its entities; risk decays and is capped per
//! source; the ledger is a list of contributions, so every score can be replayed and explained.
//!
//! # Scoring
//!
//! - An alert's **base** risk is its level's points (`risk.level_points`), or `score *
//!   risk.score_points` for a model alert when that is larger.
//! - Each of its distinct entities receives `base * criticality(entity)` at the alert's event
//!   time (last seen, else first seen), **decayed** by `0.5^(age / half_life)` when read at a
//!   later time; contributions after the reading time do not count.
//! - One **source** (rule id) adds at most `risk.source_cap` to one entity: its contributions are
//!   taken largest first and the one that crosses the cap is cut to fit (`capped`), later ones
//!   count zero. The order is fixed by value then alert id, so it never depends on the order the
//!   alerts were added in.
//! - An entity's **risk** is the sum of its contributions' values.
//! - An incident's **score** is the risk of its riskiest entity at the incident's last event
//!   time: the incident is as serious as the most endangered thing it touches, and
//!   [`RiskLedger::explain_incident`] lists exactly the contributions that sum to it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rampart_core::{Alert, AlertId, EntityRef, Incident, Level};
use serde::{Deserialize, Serialize};

use crate::RiskConfig;

/// How much an entity matters: a multiplier on the risk it receives (1 is an ordinary asset).
///
/// The asset inventory lives in the enrichment stage; the binary passes its lookup in as a
/// closure `Fn(&EntityRef) -> f64` or any other implementation.
pub trait Criticality {
    /// The multiplier for `entity`; non-finite or negative values count as 1.
    fn criticality(&self, entity: &EntityRef) -> f64;
}

impl<F: Fn(&EntityRef) -> f64> Criticality for F {
    fn criticality(&self, entity: &EntityRef) -> f64 {
        self(entity)
    }
}

/// Every entity is an ordinary asset (criticality 1).
#[derive(Debug, Clone, Copy, Default)]
pub struct Uniform;

impl Criticality for Uniform {
    fn criticality(&self, _: &EntityRef) -> f64 {
        1.0
    }
}

/// One recorded contribution, before decay and caps.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    alert_id: AlertId,
    source: Arc<str>,
    at: DateTime<Utc>,
    base: f64,
    criticality: f64,
}

/// One alert's share of one entity's risk at a given time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskContribution {
    /// The alert that contributed.
    pub alert_id: AlertId,
    /// Its source (rule id), the unit of the stacking cap.
    pub rule_id: String,
    /// The entity that received the risk.
    pub entity: EntityRef,
    /// The alert's event time.
    pub at: DateTime<Utc>,
    /// The alert's base risk (from its level or score).
    pub base: f64,
    /// The entity's criticality multiplier.
    pub criticality: f64,
    /// The decay factor at the reading time, in `(0, 1]`.
    pub decay: f64,
    /// Whether the source cap cut this contribution.
    pub capped: bool,
    /// What it adds: `base * criticality * decay`, cut to the source cap.
    pub value: f64,
}

/// One entity's risk within an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRisk {
    /// The entity.
    pub entity: EntityRef,
    /// Its risk at the reading time.
    pub risk: f64,
}

/// Why a score is what it is: `total` equals the sum of `contributions[].value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskExplanation {
    /// The reading time.
    pub at: DateTime<Utc>,
    /// The score.
    pub total: f64,
    /// The entity whose risk is the score (the riskiest one, for an incident).
    pub entity: Option<EntityRef>,
    /// Every entity considered, riskiest first.
    pub entities: Vec<EntityRisk>,
    /// The contributions behind `total`, largest first.
    pub contributions: Vec<RiskContribution>,
}

/// A replayable ledger of risk contributions per entity.
#[derive(Debug, Clone)]
pub struct RiskLedger {
    config: RiskConfig,
    by_entity: HashMap<EntityRef, Vec<Entry>>,
    by_alert: HashMap<AlertId, Vec<EntityRef>>,
    /// One shared copy of each source name, so entries of one source share an address.
    sources: HashSet<Arc<str>>,
}

impl RiskLedger {
    /// An empty ledger.
    pub fn new(config: RiskConfig) -> Self {
        Self {
            config,
            by_entity: HashMap::new(),
            by_alert: HashMap::new(),
            sources: HashSet::new(),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// An alert's base risk: its level's points, or its model score's if larger.
    pub fn base_risk(&self, alert: &Alert) -> f64 {
        let level = match alert.level {
            Level::Informational => 0,
            Level::Low => 1,
            Level::Medium => 2,
            Level::High => 3,
            Level::Critical => 4,
        };
        let points = self.config.level_points.get(level).copied().unwrap_or(0.0);
        let scored = alert
            .score
            .filter(|s| s.is_finite())
            .map_or(0.0, |s| s.clamp(0.0, 1.0) * self.config.score_points);
        points.max(scored)
    }

    /// Records `alert`'s contribution to each of its entities, replacing any earlier record of
    /// the same alert id (adding an alert twice counts it once). Returns how many entities
    /// received risk; an alert without event time contributes nothing.
    pub fn add(&mut self, alert: &Alert, criticality: &dyn Criticality) -> usize {
        self.remove(&alert.id);
        let Some(at) = alert.last_seen.or(alert.first_seen) else {
            return 0;
        };
        let base = self.base_risk(alert);
        let source = if let Some(shared) = self.sources.get(alert.rule_id.as_str()) {
            Arc::clone(shared)
        } else {
            let shared: Arc<str> = Arc::from(alert.rule_id.as_str());
            self.sources.insert(Arc::clone(&shared));
            shared
        };
        let mut entities: Vec<EntityRef> = alert.entities.clone();
        entities.sort();
        entities.dedup();
        for entity in &entities {
            let c = criticality.criticality(entity);
            let c = if c.is_finite() && c >= 0.0 { c } else { 1.0 };
            self.by_entity
                .entry(entity.clone())
                .or_default()
                .push(Entry {
                    alert_id: alert.id,
                    source: Arc::clone(&source),
                    at,
                    base,
                    criticality: c,
                });
        }
        let count = entities.len();
        if count > 0 {
            self.by_alert.insert(alert.id, entities);
        }
        count
    }

    /// Forgets an alert's contributions (e.g. it was a false positive). Returns whether it had any.
    pub fn remove(&mut self, alert_id: &AlertId) -> bool {
        let Some(entities) = self.by_alert.remove(alert_id) else {
            return false;
        };
        for entity in entities {
            if let Some(entries) = self.by_entity.get_mut(&entity) {
                entries.retain(|e| e.alert_id != *alert_id);
                if entries.is_empty() {
                    self.by_entity.remove(&entity);
                }
            }
        }
        true
    }

    /// The ledger as if `alert_id` had never been added: scores recomputed without it.
    #[must_use]
    pub fn without(&self, alert_id: &AlertId) -> Self {
        let mut copy = self.clone();
        copy.remove(alert_id);
        copy
    }

    /// How many contributions the ledger holds.
    pub fn len(&self) -> usize {
        self.by_entity.values().map(Vec::len).sum()
    }

    /// Whether the ledger holds no contribution.
    pub fn is_empty(&self) -> bool {
        self.by_entity.is_empty()
    }

    /// How many alerts have contributions.
    pub fn alert_count(&self) -> usize {
        self.by_alert.len()
    }

    /// `entity`'s contributions as read at `at`, after decay and caps, largest first.
    pub fn contributions(&self, entity: &EntityRef, at: DateTime<Utc>) -> Vec<RiskContribution> {
        let Some(entries) = self.by_entity.get(entity) else {
            return Vec::new();
        };
        // Group by source so each source's cap is applied to its own contributions.
        let mut by_source: BTreeMap<&str, Vec<(f64, &Entry)>> = BTreeMap::new();
        for entry in entries.iter().filter(|e| e.at <= at) {
            let decay = self.decay(entry.at, at);
            by_source
                .entry(&entry.source)
                .or_default()
                .push((decay, entry));
        }
        let mut out = Vec::new();
        for (source, mut list) in by_source {
            list.sort_by(|a, b| {
                let va = a.1.base * a.1.criticality * a.0;
                let vb = b.1.base * b.1.criticality * b.0;
                vb.total_cmp(&va).then(a.1.alert_id.cmp(&b.1.alert_id))
            });
            let mut room = self.config.source_cap;
            for (decay, entry) in list {
                let raw = entry.base * entry.criticality * decay;
                let value = raw.min(room);
                room -= value;
                out.push(RiskContribution {
                    alert_id: entry.alert_id,
                    rule_id: source.to_owned(),
                    entity: entity.clone(),
                    at: entry.at,
                    base: entry.base,
                    criticality: entry.criticality,
                    decay,
                    capped: value < raw,
                    value,
                });
            }
        }
        out.sort_by(|a, b| {
            b.value
                .total_cmp(&a.value)
                .then(a.alert_id.cmp(&b.alert_id))
        });
        out
    }

    /// `entity`'s risk at `at`: the same number as the sum of [`Self::contributions`], computed
    /// without building them (the same caps, the same summation order, so the same bits).
    pub fn score(&self, entity: &EntityRef, at: DateTime<Utc>) -> f64 {
        let Some(entries) = self.by_entity.get(entity) else {
            return 0.0;
        };
        // Sources are interned, so one source is one address: group by it, not by text.
        let mut raw: Vec<(usize, f64, AlertId)> = entries
            .iter()
            .filter(|e| e.at <= at)
            .map(|e| {
                (
                    e.source.as_ptr().addr(),
                    e.base * e.criticality * self.decay(e.at, at),
                    e.alert_id,
                )
            })
            .collect();
        raw.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut capped: Vec<(f64, AlertId)> = Vec::with_capacity(raw.len());
        let mut source = None;
        let mut room = 0.0;
        for (s, value, id) in raw {
            if source != Some(s) {
                source = Some(s);
                room = self.config.source_cap;
            }
            let value = value.min(room);
            room -= value;
            capped.push((value, id));
        }
        capped.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        capped.iter().map(|(v, _)| v).sum()
    }

    /// `entity`'s risk at `at` and the contributions behind it.
    pub fn explain_entity(&self, entity: &EntityRef, at: DateTime<Utc>) -> RiskExplanation {
        let contributions = self.contributions(entity, at);
        let total = sum(&contributions);
        RiskExplanation {
            at,
            total,
            entity: Some(entity.clone()),
            entities: vec![EntityRisk {
                entity: entity.clone(),
                risk: total,
            }],
            contributions,
        }
    }

    /// The score of a group of entities at `at`: the risk of the riskiest one (see the module
    /// docs), with its contributions.
    pub fn explain_entities(&self, entities: &[EntityRef], at: DateTime<Utc>) -> RiskExplanation {
        let ranked = self.rank(entities, at);
        let (entity, total, contributions) = match ranked.first() {
            Some(top) => (
                Some(top.entity.clone()),
                top.risk,
                self.contributions(&top.entity, at),
            ),
            None => (None, 0.0, Vec::new()),
        };
        RiskExplanation {
            at,
            total,
            entity,
            entities: ranked,
            contributions,
        }
    }

    /// An incident's score at `at` and exactly the contributions behind it.
    pub fn explain_incident(&self, incident: &Incident, at: DateTime<Utc>) -> RiskExplanation {
        self.explain_entities(&incident.entities, at)
    }

    /// An incident's score at `at` (see the module docs).
    pub fn incident_score(&self, entities: &[EntityRef], at: DateTime<Utc>) -> f64 {
        entities
            .iter()
            .map(|e| self.score(e, at))
            .fold(0.0, f64::max)
    }

    /// Entities with their risk, riskiest first (ties by entity), without duplicates.
    fn rank(&self, entities: &[EntityRef], at: DateTime<Utc>) -> Vec<EntityRisk> {
        let mut ranked: Vec<EntityRisk> = entities
            .iter()
            .map(|e| EntityRisk {
                entity: e.clone(),
                risk: self.score(e, at),
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.risk
                .total_cmp(&a.risk)
                .then_with(|| a.entity.cmp(&b.entity))
        });
        ranked.dedup_by(|a, b| a.entity == b.entity);
        ranked
    }

    /// Drops contributions worth less than `risk.forget_below` at `at`, keeping memory bounded
    /// in a long stream. Returns how many were dropped. Readings before `at` may change after.
    pub fn forget(&mut self, at: DateTime<Utc>) -> usize {
        let floor = self.config.forget_below;
        let half_life = self.config.half_life_secs as f64;
        let mut dropped: Vec<(AlertId, EntityRef)> = Vec::new();
        self.by_entity.retain(|entity, entries| {
            entries.retain(|e| {
                let keep =
                    e.at > at || e.base * e.criticality * decay(e.at, at, half_life) >= floor;
                if !keep {
                    dropped.push((e.alert_id, entity.clone()));
                }
                keep
            });
            !entries.is_empty()
        });
        for (alert_id, entity) in &dropped {
            if let Some(list) = self.by_alert.get_mut(alert_id) {
                list.retain(|e| e != entity);
                if list.is_empty() {
                    self.by_alert.remove(alert_id);
                }
            }
        }
        dropped.len()
    }

    fn decay(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        decay(from, to, self.config.half_life_secs as f64)
    }
}

/// `0.5^(age / half_life)`, 1 for non-positive ages.
fn decay(from: DateTime<Utc>, to: DateTime<Utc>, half_life_secs: f64) -> f64 {
    let age = (to - from).as_seconds_f64();
    if age <= 0.0 {
        1.0
    } else {
        0.5_f64.powf(age / half_life_secs)
    }
}

/// Sums values in a fixed order (the contributions' own), so equal ledgers give equal bits.
fn sum(contributions: &[RiskContribution]) -> f64 {
    contributions.iter().map(|c| c.value).sum()
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "replayed scores must be bit-identical, not approximately equal"
)]
mod tests {
    use super::*;
    use crate::testkit::{alert, t};
    use proptest::prelude::*;
    use rampart_core::EntityKind;

    fn host(name: &str) -> EntityRef {
        EntityRef::new(EntityKind::Host, name)
    }

    #[test]
    fn decays_with_half_life() {
        let mut ledger = RiskLedger::new(RiskConfig::default());
        let a = alert("r1", Level::High, 0, &[host("ws1")]);
        ledger.add(&a, &Uniform);
        assert!((ledger.score(&host("ws1"), t(0)) - 50.0).abs() < 1e-9);
        assert!((ledger.score(&host("ws1"), t(86_400)) - 25.0).abs() < 1e-9);
        // Before the alert happened, it contributes nothing.
        assert_eq!(ledger.score(&host("ws1"), t(-1)), 0.0);
    }

    #[test]
    fn one_source_cannot_stack_past_its_cap() {
        let mut ledger = RiskLedger::new(RiskConfig::default());
        for i in 0..5 {
            ledger.add(&alert("noisy", Level::High, i, &[host("ws1")]), &Uniform);
        }
        ledger.add(&alert("other", Level::Medium, 0, &[host("ws1")]), &Uniform);
        let explained = ledger.explain_entity(&host("ws1"), t(10));
        // noisy: five times ~50 capped at 100; other: 25.
        assert!(
            (explained.total - 125.0).abs() < 1e-2,
            "{}",
            explained.total
        );
        // The third noisy alert is cut to fit, the last two count zero.
        let capped: Vec<f64> = explained
            .contributions
            .iter()
            .filter(|c| c.capped)
            .map(|c| c.value)
            .collect();
        assert_eq!(capped.len(), 3, "{explained:#?}");
        assert_eq!(capped.iter().filter(|v| **v == 0.0).count(), 2);
        let sum: f64 = explained.contributions.iter().map(|c| c.value).sum();
        assert_eq!(sum, explained.total);
    }

    #[test]
    fn criticality_multiplies_and_incident_takes_the_riskiest_entity() {
        let mut ledger = RiskLedger::new(RiskConfig::default());
        let dc = host("dc1");
        let crit = |e: &EntityRef| if e.value == "dc1" { 2.0 } else { 1.0 };
        ledger.add(
            &alert("r1", Level::Medium, 0, &[dc.clone(), host("ws1")]),
            &crit,
        );
        let explained = ledger.explain_entities(&[host("ws1"), dc.clone()], t(0));
        assert_eq!(explained.entity, Some(dc));
        assert!((explained.total - 50.0).abs() < 1e-9);
        assert_eq!(explained.entities.len(), 2);
        assert_eq!(explained.contributions.len(), 1);
        assert_eq!(explained.contributions[0].criticality, 2.0);
    }

    #[test]
    fn adding_twice_counts_once_and_model_scores_raise_base() {
        let mut ledger = RiskLedger::new(RiskConfig::default());
        let mut a = alert("model", Level::Low, 0, &[host("ws1")]);
        a.score = Some(0.9);
        ledger.add(&a, &Uniform);
        ledger.add(&a, &Uniform);
        assert!((ledger.score(&host("ws1"), t(0)) - 72.0).abs() < 1e-9);
        assert_eq!(ledger.len(), 1);
    }

    #[test]
    fn forget_drops_faded_contributions() {
        let mut ledger = RiskLedger::new(RiskConfig::default());
        ledger.add(
            &alert("r", Level::Low, 0, &[host("a"), host("b")]),
            &Uniform,
        );
        ledger.add(&alert("r", Level::Low, 86_400 * 10, &[host("a")]), &Uniform);
        // 10 points after 5 half-lives is 0.3125 < 0.5.
        assert_eq!(ledger.forget(t(86_400 * 5)), 2);
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger.alert_count(), 1);
    }

    fn arb_alerts() -> impl Strategy<Value = Vec<Alert>> {
        let hosts = ["a", "b", "c"];
        prop::collection::vec(
            (
                0usize..3,
                0usize..3,
                0i64..200_000,
                0usize..3,
                any::<bool>(),
            ),
            1..20,
        )
        .prop_map(move |specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (rule, lvl, at, h, two))| {
                    let level = [Level::Low, Level::High, Level::Critical][lvl];
                    let mut entities = vec![host(hosts[h])];
                    if two {
                        entities.push(host(hosts[(h + 1) % 3]));
                    }
                    let mut a = alert(&format!("rule{rule}"), level, at, &entities);
                    a.event_ids = vec![rampart_core::EventId::derive(&[&i.to_le_bytes()])];
                    a.id = AlertId::derive(&[&i.to_le_bytes()]);
                    a
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn without_then_re_adding_restores_the_score(alerts in arb_alerts(), pick in any::<prop::sample::Index>(), at in 0i64..400_000) {
            let mut ledger = RiskLedger::new(RiskConfig::default());
            for a in &alerts {
                ledger.add(a, &Uniform);
            }
            let victim = &alerts[pick.index(alerts.len())];
            let mut rebuilt = ledger.without(&victim.id);
            rebuilt.add(victim, &Uniform);
            for h in ["a", "b", "c"] {
                prop_assert_eq!(ledger.score(&host(h), t(at)), rebuilt.score(&host(h), t(at)));
                prop_assert!(ledger.without(&victim.id).score(&host(h), t(at)) <= ledger.score(&host(h), t(at)) + 1e-9);
            }
        }

        #[test]
        fn insertion_order_does_not_matter_and_totals_add_up(alerts in arb_alerts(), at in 0i64..400_000) {
            let mut forward = RiskLedger::new(RiskConfig::default());
            let mut backward = RiskLedger::new(RiskConfig::default());
            for a in &alerts { forward.add(a, &Uniform); }
            for a in alerts.iter().rev() { backward.add(a, &Uniform); }
            for h in ["a", "b", "c"] {
                let e = forward.explain_entity(&host(h), t(at));
                prop_assert_eq!(e.total, backward.score(&host(h), t(at)));
                prop_assert_eq!(e.total, e.contributions.iter().map(|c| c.value).sum::<f64>());
                let by_source: std::collections::HashMap<&str, f64> = e.contributions.iter().fold(std::collections::HashMap::default(), |mut m, c| { *m.entry(c.rule_id.as_str()).or_default() += c.value; m });
                for v in by_source.values() { prop_assert!(*v <= 100.0 + 1e-9); }
            }
        }
    }
}
