//! The streaming correlator: alerts in, incidents out as their time windows close.
//!
//! # Linking rule
//!
//! Two alerts are linked when they share an entity that is neither ignored nor a hub and their
//! event-time intervals (`first_seen..=last_seen`) are at most `link_window` apart. An incident
//! is a connected group of linked alerts (after dedup).
//!
//! # Streaming
//!
//! The watermark is the latest event time seen minus `reorder_tolerance`. Alerts are expected
//! at or after the watermark; within that tolerance, arrival order does not change which alerts
//! end up together. A group whose last event is more than `link_window` before the watermark
//! can gain no member, so it is closed, reported and dropped from memory: memory holds only
//! the alerts of the last `link_window + reorder_tolerance` of event time (plus the risk
//! ledger and hub counts, both forgotten with time). An alert older than the watermark (late)
//! is still correlated with the groups that are open and counted in [`CorrelateStats::late`].
//!
//! A group that already spans `max_incident_span` of event time is closed too, so a host where
//! a rule fires all day long yields one incident a day rather than one that never closes.
//!
//! While open, groups are merged eagerly; when one closes, its exact connected components are
//! recomputed with the hub set of that moment, so an entity that turned into a hub after it had
//! linked alerts does not glue them in the report.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use rampart_core::{Alert, AlertId, EntityRef, Incident, IncidentId};
use serde::{Deserialize, Serialize};

use crate::hubs::HubTracker;
use crate::ledger::{Criticality, RiskExplanation, RiskLedger, Uniform};
use crate::tactics::{KillChain, TacticOrder, order_tactics};
use crate::{CorrelateConfig, CorrelateError, MergedAlert, title};

/// An incident with the (deduplicated) alerts it groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelatedIncident {
    /// The incident; its `entities` are the ones that link it and count towards its score
    /// (ignored entities and hubs left out; the alerts keep all of theirs).
    pub incident: Incident,
    /// Its alerts in event-time order, repeats folded in.
    pub alerts: Vec<MergedAlert>,
    /// Why it has its score, read when it closed (`total` equals `incident.score`). Later
    /// readings of the ledger may differ once old contributions are forgotten.
    pub explanation: RiskExplanation,
}

/// Counters over the life of a correlator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelateStats {
    /// Alerts observed.
    pub observed: u64,
    /// Alerts folded into an earlier one (same rule, same entities, same window).
    pub merged: u64,
    /// Alerts observed again with an id already held (re-processing).
    pub repeated: u64,
    /// Alerts that arrived behind the watermark.
    pub late: u64,
    /// Incidents reported.
    pub incidents: u64,
    /// Alerts (after dedup) currently held in open groups.
    pub open_alerts: u64,
    /// The most alerts ever held open at once.
    pub peak_open_alerts: u64,
    /// Entities currently treated as hubs.
    pub hubs: u64,
}

/// An alert held in an open group.
#[derive(Debug)]
struct OpenAlert {
    merged: MergedAlert,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
    group: u64,
    dedup_key: AlertId,
}

#[derive(Debug)]
struct Group {
    slots: Vec<u64>,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
}

/// Groups alerts into incidents over an entity graph and time windows, with dedup, hub
/// suppression and an entity risk ledger.
pub struct Correlator {
    config: CorrelateConfig,
    ignored: HashSet<EntityRef>,
    order: Box<dyn TacticOrder>,
    criticality: Box<dyn Criticality + Send + Sync>,
    ledger: RiskLedger,
    hubs: HubTracker,
    alerts: HashMap<u64, OpenAlert>,
    next_slot: u64,
    dedup: HashMap<AlertId, u64>,
    by_entity: HashMap<EntityRef, Vec<u64>>,
    groups: HashMap<u64, Group>,
    next_group: u64,
    closing: BTreeSet<(DateTime<Utc>, u64)>,
    opening: BTreeSet<(DateTime<Utc>, u64)>,
    max_seen: Option<DateTime<Utc>>,
    last_forget: Option<DateTime<Utc>>,
    stats: CorrelateStats,
}

impl std::fmt::Debug for Correlator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Correlator")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Correlator {
    /// A correlator with the ATT&CK Enterprise kill chain and every asset of criticality 1.
    pub fn new(config: CorrelateConfig) -> Result<Self, CorrelateError> {
        Self::with_context(config, Box::new(KillChain), Box::new(Uniform))
    }

    /// A correlator with the given tactic order and asset criticality.
    pub fn with_context(
        config: CorrelateConfig,
        order: Box<dyn TacticOrder>,
        criticality: Box<dyn Criticality + Send + Sync>,
    ) -> Result<Self, CorrelateError> {
        config.validate()?;
        Ok(Self {
            ignored: config.ignored_entities.iter().cloned().collect(),
            ledger: RiskLedger::new(config.risk.clone()),
            hubs: HubTracker::new(config.hub_max_hosts, config.hub_memory()),
            config,
            order,
            criticality,
            alerts: HashMap::new(),
            next_slot: 0,
            dedup: HashMap::new(),
            by_entity: HashMap::new(),
            groups: HashMap::new(),
            next_group: 0,
            closing: BTreeSet::new(),
            opening: BTreeSet::new(),
            max_seen: None,
            last_forget: None,
            stats: CorrelateStats::default(),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &CorrelateConfig {
        &self.config
    }

    /// The risk ledger (scores and explanations of every entity seen and not yet forgotten).
    pub fn ledger(&self) -> &RiskLedger {
        &self.ledger
    }

    /// Counters so far.
    pub fn stats(&self) -> CorrelateStats {
        CorrelateStats {
            open_alerts: self.alerts.len() as u64,
            hubs: self.hubs.hub_count() as u64,
            ..self.stats
        }
    }

    /// Why an incident has its score: the contributions behind it at its last event time.
    pub fn explain(&self, incident: &Incident) -> RiskExplanation {
        let at = incident
            .last_seen
            .or(self.max_seen)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.ledger.explain_incident(incident, at)
    }

    /// The watermark: alerts before it are late.
    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.max_seen.map(|m| m - self.config.reorder_tolerance())
    }

    /// Takes one alert; returns the incidents whose windows closed because time moved on.
    ///
    /// An alert without event time is placed at the latest event time seen so far.
    pub fn observe(&mut self, alert: Alert) -> Vec<CorrelatedIncident> {
        self.stats.observed += 1;
        let fallback = self.max_seen.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let lo = alert.first_seen.or(alert.last_seen).unwrap_or(fallback);
        let hi = alert.last_seen.unwrap_or(lo).max(lo);
        if self.watermark().is_some_and(|w| hi < w) {
            self.stats.late += 1;
        }
        self.hubs.observe(&alert.entities, hi);

        let key = dedup_key(&alert, lo, self.config.dedup_window_secs);
        let slot = if let Some(&slot) = self.dedup.get(&key) {
            self.absorb(slot, alert);
            slot
        } else {
            self.insert(alert, lo, hi, key)
        };
        self.link(slot);

        if self.max_seen.is_none_or(|m| hi > m) {
            self.max_seen = Some(hi);
        }
        self.stats.peak_open_alerts = self.stats.peak_open_alerts.max(self.alerts.len() as u64);
        let (horizon, span_horizon) = self.closing_horizons();
        let closed = self.close_before(horizon, span_horizon);
        // After closing: the incidents just reported were scored with everything they need.
        self.forget_periodically(horizon);
        closed
    }

    /// Closes every open group and returns the remaining incidents.
    pub fn finish(&mut self) -> Vec<CorrelatedIncident> {
        self.close_before(DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MAX_UTC)
    }

    fn absorb(&mut self, slot: u64, alert: Alert) {
        let cap = self.config.max_event_ids;
        let Some(open) = self.alerts.get_mut(&slot) else {
            return;
        };
        if open.merged.contains(&alert.id) {
            self.stats.repeated += 1;
            return;
        }
        self.stats.merged += 1;
        let old_id = open.merged.alert.id;
        open.merged.absorb(alert, cap);
        let merged = &open.merged.alert;
        open.lo = merged.first_seen.unwrap_or(open.lo).min(open.lo);
        open.hi = merged.last_seen.unwrap_or(open.hi).max(open.hi);
        // The ledger holds the merged alert under its current representative's id.
        self.ledger.remove(&old_id);
        self.ledger.add(merged, self.criticality.as_ref());
        let (group, lo, hi) = (open.group, open.lo, open.hi);
        self.widen_group(group, lo, hi);
    }

    fn insert(&mut self, alert: Alert, lo: DateTime<Utc>, hi: DateTime<Utc>, key: AlertId) -> u64 {
        let slot = self.next_slot;
        self.next_slot += 1;
        let group = self.next_group;
        self.next_group += 1;
        self.ledger.add(&alert, self.criticality.as_ref());
        let mut entities = alert.entities.clone();
        entities.sort();
        entities.dedup();
        for entity in entities {
            // Entities that link nothing are not indexed: a hub's list would be long and
            // scanned for nothing.
            if self.links(&entity) {
                self.by_entity.entry(entity).or_default().push(slot);
            }
        }
        self.groups.insert(
            group,
            Group {
                slots: vec![slot],
                lo,
                hi,
            },
        );
        self.closing.insert((hi, group));
        self.opening.insert((lo, group));
        self.dedup.insert(key, slot);
        self.alerts.insert(
            slot,
            OpenAlert {
                merged: MergedAlert::new(alert),
                lo,
                hi,
                group,
                dedup_key: key,
            },
        );
        slot
    }

    /// Merges the group of `slot` with every open group holding a linked alert.
    fn link(&mut self, slot: u64) {
        let Some(open) = self.alerts.get(&slot) else {
            return;
        };
        let (lo, hi) = (open.lo, open.hi);
        let window = self.config.link_window();
        let mut targets: BTreeSet<u64> = BTreeSet::new();
        for entity in &open.merged.alert.entities {
            if !self.links(entity) {
                continue;
            }
            for other in self.by_entity.get(entity).into_iter().flatten() {
                if let Some(o) = self.alerts.get(other)
                    && o.group != open.group
                    && gap(lo, hi, o.lo, o.hi) <= window
                {
                    targets.insert(o.group);
                }
            }
        }
        let mut group = open.group;
        for target in targets {
            group = self.merge_groups(group, target);
        }
    }

    /// Whether `entity` may link alerts now.
    fn links(&self, entity: &EntityRef) -> bool {
        !self.ignored.contains(entity) && !self.hubs.is_hub(entity)
    }

    /// Merges two groups (the smaller into the larger) unless that would pass the size cap;
    /// returns the group that `a`'s alerts are in afterwards.
    fn merge_groups(&mut self, a: u64, b: u64) -> u64 {
        let (size_a, size_b) = match (self.groups.get(&a), self.groups.get(&b)) {
            (Some(ga), Some(gb)) => (ga.slots.len(), gb.slots.len()),
            _ => return a,
        };
        if size_a + size_b > self.config.max_incident_alerts {
            return a;
        }
        let (keep, gone) = if size_a >= size_b { (a, b) } else { (b, a) };
        let Some(gone_group) = self.groups.remove(&gone) else {
            return a;
        };
        self.closing.remove(&(gone_group.hi, gone));
        self.opening.remove(&(gone_group.lo, gone));
        for slot in &gone_group.slots {
            if let Some(o) = self.alerts.get_mut(slot) {
                o.group = keep;
            }
        }
        if let Some(kept) = self.groups.get_mut(&keep) {
            kept.slots.extend(gone_group.slots);
        }
        self.widen_group(keep, gone_group.lo, gone_group.hi);
        keep
    }

    /// Extends a group's event-time span to cover `lo..=hi`.
    fn widen_group(&mut self, group: u64, lo: DateTime<Utc>, hi: DateTime<Utc>) {
        let Some(g) = self.groups.get_mut(&group) else {
            return;
        };
        if hi > g.hi {
            self.closing.remove(&(g.hi, group));
            g.hi = hi;
            self.closing.insert((hi, group));
        }
        if lo < g.lo {
            self.opening.remove(&(g.lo, group));
            g.lo = lo;
            self.opening.insert((lo, group));
        }
    }

    /// Groups ending before the first time can gain no member; groups starting before the
    /// second have reached the longest incident span.
    fn closing_horizons(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let Some(watermark) = self.watermark() else {
            return (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC);
        };
        let before = |d: TimeDelta| {
            watermark
                .checked_sub_signed(d)
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        (
            before(self.config.link_window()),
            before(self.config.max_incident_span()),
        )
    }

    /// Forgets faded risk and silent hub counts now and then. `horizon` is the closing
    /// horizon: every incident still to be reported ends after it, so what was worth less than
    /// `forget_below` there is worth less in any later reading.
    fn forget_periodically(&mut self, horizon: DateTime<Utc>) {
        if self.watermark().is_none() {
            return;
        }
        let now = horizon;
        let every = TimeDelta::seconds(
            i64::try_from(self.config.risk.half_life_secs / 8)
                .unwrap_or(i64::MAX / 1000)
                .max(60),
        );
        if self.last_forget.is_some_and(|last| now - last < every) {
            return;
        }
        self.last_forget = Some(now);
        self.hubs.forget(now);
        self.ledger.forget(now);
    }

    /// Closes groups that ended before `horizon` (they can gain no member) and groups that
    /// began before `span_horizon` (they reached the longest incident span).
    fn close_before(
        &mut self,
        horizon: DateTime<Utc>,
        span_horizon: DateTime<Utc>,
    ) -> Vec<CorrelatedIncident> {
        let mut due = Vec::new();
        while let Some(&(hi, group)) = self.closing.first() {
            if hi >= horizon {
                break;
            }
            self.closing.remove(&(hi, group));
            due.push(group);
        }
        while let Some(&(lo, group)) = self.opening.first() {
            if lo >= span_horizon {
                break;
            }
            self.opening.remove(&(lo, group));
            due.push(group);
        }
        let mut out = Vec::new();
        for group in due {
            if let Some(g) = self.groups.remove(&group) {
                self.closing.remove(&(g.hi, group));
                self.opening.remove(&(g.lo, group));
                out.extend(self.report(&g));
            }
        }
        out.sort_by(|a, b| {
            a.incident
                .first_seen
                .cmp(&b.incident.first_seen)
                .then(a.incident.id.cmp(&b.incident.id))
        });
        self.stats.incidents += out.len() as u64;
        out
    }

    /// Takes a closed group's alerts out of memory and reports its exact components.
    fn report(&mut self, group: &Group) -> Vec<CorrelatedIncident> {
        let mut members: Vec<OpenAlert> = Vec::with_capacity(group.slots.len());
        for slot in &group.slots {
            let Some(open) = self.alerts.remove(slot) else {
                continue;
            };
            self.dedup.remove(&open.dedup_key);
            for entity in &open.merged.alert.entities {
                if let Some(list) = self.by_entity.get_mut(entity) {
                    list.retain(|s| s != slot);
                    if list.is_empty() {
                        self.by_entity.remove(entity);
                    }
                }
            }
            members.push(open);
        }
        members.sort_by(|a, b| {
            a.lo.cmp(&b.lo)
                .then(a.merged.alert.id.cmp(&b.merged.alert.id))
        });
        let components = self.components(&members);
        let mut buckets: HashMap<usize, Vec<OpenAlert>> = HashMap::new();
        for (member, root) in members.into_iter().zip(components) {
            buckets.entry(root).or_default().push(member);
        }
        buckets
            .into_values()
            .filter(|b| b.len() >= self.config.min_alerts)
            .map(|b| self.incident(b))
            .collect()
    }

    /// Connected components of `members` (sorted by start time) under the linking rule.
    fn components(&self, members: &[OpenAlert]) -> Vec<usize> {
        let mut sets = DisjointSets::new(members.len());
        let mut by_entity: HashMap<&EntityRef, Vec<usize>> = HashMap::new();
        for (i, m) in members.iter().enumerate() {
            for entity in &m.merged.alert.entities {
                if self.links(entity) {
                    by_entity.entry(entity).or_default().push(i);
                }
            }
        }
        let window = self.config.link_window();
        for indices in by_entity.values() {
            // Sorted by start: a member links to the running group when it starts within the
            // window of the latest end so far (that member is linked to it directly).
            let mut run: Option<(usize, DateTime<Utc>)> = None;
            let mut last = usize::MAX;
            for &i in indices {
                if i == last {
                    continue;
                }
                last = i;
                let Some(m) = members.get(i) else { continue };
                run = Some(match run {
                    Some((root, end)) if m.lo - end <= window => {
                        sets.union(root, i);
                        (root, end.max(m.hi))
                    }
                    _ => (i, m.hi),
                });
            }
        }
        (0..members.len()).map(|i| sets.find(i)).collect()
    }

    fn incident(&self, members: Vec<OpenAlert>) -> CorrelatedIncident {
        let alerts: Vec<MergedAlert> = members.into_iter().map(|m| m.merged).collect();
        let mut ids: Vec<AlertId> = alerts.iter().map(|a| a.alert.id).collect();
        let alert_ids = ids.clone();
        ids.sort();
        let mut parts: Vec<&[u8]> = vec![b"incident/v1"];
        parts.extend(ids.iter().map(|id| id.as_bytes().as_slice()));
        let id = IncidentId::derive(&parts);

        let mut entities: Vec<EntityRef> = alerts
            .iter()
            .flat_map(|a| a.alert.entities.iter())
            .filter(|e| self.links(e))
            .cloned()
            .collect();
        entities.sort();
        entities.dedup();
        let tactics = order_tactics(
            self.order.as_ref(),
            alerts
                .iter()
                .flat_map(|a| a.alert.tactics.iter().map(String::as_str)),
        );
        let mut techniques: Vec<String> = alerts
            .iter()
            .flat_map(|a| a.alert.techniques.iter().cloned())
            .collect();
        techniques.sort();
        techniques.dedup();
        let first_seen = alerts
            .iter()
            .filter_map(|a| a.alert.first_seen.or(a.alert.last_seen))
            .min();
        let last_seen = alerts
            .iter()
            .filter_map(|a| a.alert.last_seen.or(a.alert.first_seen))
            .max();
        let explanation = self
            .ledger
            .explain_entities(&entities, last_seen.unwrap_or(DateTime::<Utc>::MIN_UTC));
        let score = explanation.total;
        let title = title::title(&alerts, &tactics, &entities);
        CorrelatedIncident {
            incident: Incident {
                id,
                title,
                alert_ids,
                entities,
                tactics,
                techniques,
                score,
                first_seen,
                last_seen,
            },
            alerts,
            explanation,
        }
    }
}

/// The dedup key: rule, entity set and aligned window, hashed to 16 bytes.
fn dedup_key(alert: &Alert, lo: DateTime<Utc>, window_secs: u64) -> AlertId {
    let window = i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX);
    let bucket = lo.timestamp().div_euclid(window);
    let mut entities: Vec<String> = alert.entities.iter().map(ToString::to_string).collect();
    entities.sort();
    entities.dedup();
    let bucket = bucket.to_le_bytes();
    let mut parts: Vec<&[u8]> = vec![b"dedup/v1", alert.rule_id.as_bytes(), &bucket];
    parts.extend(entities.iter().map(String::as_bytes));
    AlertId::derive(&parts)
}

/// The time between two intervals (zero when they overlap).
fn gap(
    lo_a: DateTime<Utc>,
    hi_a: DateTime<Utc>,
    lo_b: DateTime<Utc>,
    hi_b: DateTime<Utc>,
) -> TimeDelta {
    (lo_a - hi_b).max(lo_b - hi_a).max(TimeDelta::zero())
}

/// Union-find with path halving.
struct DisjointSets {
    parent: Vec<usize>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while let Some(&p) = self.parent.get(i) {
            if p == i {
                break;
            }
            let grand = self.parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = self.parent.get_mut(i) {
                *slot = grand;
            }
            i = grand;
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb
            && let Some(slot) = self.parent.get_mut(ra.max(rb))
        {
            *slot = ra.min(rb);
        }
    }
}
