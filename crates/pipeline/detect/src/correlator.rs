//! Streaming evaluation of correlation rules in event time.
//!
//! Events arrive roughly in time order. Matches of the rules that feed correlations wait in a
//! reorder buffer until the watermark (the latest event time seen minus the out-of-order
//! tolerance) passes them, and are then applied in exact time order, so events up to the
//! tolerance late give the same alerts as sorted input; matches later than that are counted
//! and dropped. State is bounded: groups per correlation, entries per window and events per
//! alert are capped, and groups whose windows have passed the watermark are dropped.
//!
//! Window semantics: conditions with only lower bounds (`gt`, `gte`) use a sliding window
//! and fire as soon as the matches of the last `timespan` satisfy them, after which the
//! group starts afresh; conditions with an upper bound (`lt`, `lte`, `eq`) can only be
//! decided when a window is complete, so they use a window that opens at a group's first
//! match and is evaluated when it closes (a later match, the watermark, or [`Correlator::flush`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_core::{Alert, AlertSource, EntityRef, Event, EventId};
use serde::{Deserialize, Serialize};

use crate::alert;
use crate::correlation::{CorrelationRule, Kind, MAX_CHAIN, Source};
use crate::index::EventKey;
use crate::ruleset::RuleSet;
use crate::view::{EventView, parse_number};

/// Limits and tolerances of a [`Correlator`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelatorOptions {
    /// How late (in event time, milliseconds) an event may arrive and still be correlated
    /// exactly. Default 60 000 (one minute).
    pub out_of_order_ms: i64,
    /// Most groups kept per correlation rule. Default 100 000.
    pub max_groups: usize,
    /// Most matches kept per group window. Default 10 000.
    pub max_window: usize,
    /// Most event ids listed in one correlation alert. Default 1 000.
    pub max_alert_events: usize,
}

impl Default for CorrelatorOptions {
    fn default() -> Self {
        Self {
            out_of_order_ms: 60_000,
            max_groups: 100_000,
            max_window: 10_000,
            max_alert_events: 1_000,
        }
    }
}

/// What a [`Correlator`] has seen and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelatorStats {
    /// Events observed.
    pub events: u64,
    /// Matches of rules that feed correlations.
    pub matches: u64,
    /// Matches dropped because they arrived later than the out-of-order tolerance.
    pub late: u64,
    /// Matching events without a timestamp (cannot be placed in a window).
    pub untimed: u64,
    /// Matches dropped because a correlation had [`CorrelatorOptions::max_groups`] groups.
    pub group_overflow: u64,
    /// Old matches dropped from windows over [`CorrelatorOptions::max_window`].
    pub window_overflow: u64,
    /// Correlation alerts raised.
    pub alerts: u64,
}

/// One contribution to a window: a rule match, or an inner correlation's alert.
#[derive(Debug, Clone)]
struct Entry {
    time: DateTime<Utc>,
    /// Event time of the earliest event behind it (an inner correlation's first event).
    first: DateTime<Utc>,
    events: Arc<Vec<EventId>>,
    entities: Arc<Vec<EntityRef>>,
    /// Values of the correlation fields, by index into the rule set's correlation field names.
    fields: Arc<Vec<Option<String>>>,
}

/// A match waiting in the reorder buffer.
#[derive(Debug)]
struct Pending {
    time: DateTime<Utc>,
    seq: u64,
    rule: usize,
    entry: Entry,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// The state of one group of one correlation.
#[derive(Debug, Clone)]
enum GroupState {
    /// Counting and metric types: the window's entries with their values.
    Window(VecDeque<(Entry, Option<String>)>),
    /// `temporal`: per referenced rule, its entries within the timespan.
    Temporal(Vec<VecDeque<Entry>>),
    /// `temporal_ordered`: per position, the latest chain of entries that reaches it in order.
    Ordered(Vec<Option<Vec<Entry>>>),
}

impl GroupState {
    fn new(rule: &CorrelationRule) -> Self {
        match rule.kind {
            Kind::Temporal => Self::Temporal(vec![VecDeque::new(); rule.sources.len()]),
            Kind::TemporalOrdered => Self::Ordered(vec![None; rule.sources.len()]),
            _ => Self::Window(VecDeque::new()),
        }
    }

    /// The newest event time held, if any.
    fn newest(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Window(entries) => entries.back().map(|(e, _)| e.time),
            Self::Temporal(queues) => queues.iter().filter_map(|q| q.back().map(|e| e.time)).max(),
            Self::Ordered(chains) => chains
                .iter()
                .flatten()
                .filter_map(|chain| chain.last().map(|e| e.time))
                .max(),
        }
    }

    fn oldest(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Window(entries) => entries.front().map(|(e, _)| e.first),
            Self::Temporal(queues) => queues
                .iter()
                .filter_map(|q| q.front().map(|e| e.first))
                .min(),
            Self::Ordered(chains) => chains
                .iter()
                .flatten()
                .filter_map(|chain| chain.first().map(|e| e.first))
                .min(),
        }
    }
}

/// Evaluates the correlation rules of a [`RuleSet`] over a stream of events in event time.
///
/// Feed every event once with [`Correlator::observe`] (in roughly time order), then call
/// [`Correlator::flush`] at the end of input. Single-thread by design: correlation needs one
/// ordered view of the stream; the rule set itself stays shared.
#[derive(Debug)]
pub struct Correlator {
    rules: Arc<RuleSet>,
    options: CorrelatorOptions,
    /// Rules that feed correlations, and which (correlation, position) pairs consume each,
    /// positions in descending order (see `apply_ordered`).
    consumers: HashMap<usize, Vec<(usize, usize)>>,
    /// Per correlation, which (parent correlation, position) pairs consume its alerts.
    parents: Vec<Vec<(usize, usize)>>,
    feeding: Vec<usize>,
    buffer: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    newest: Option<DateTime<Utc>>,
    released: Option<DateTime<Utc>>,
    states: Vec<HashMap<String, GroupState>>,
    since_sweep: u64,
    last_sweep: Option<DateTime<Utc>>,
    sweep_interval: TimeDelta,
    stats: CorrelatorStats,
}

/// Largest out-of-order tolerance honoured (a year).
const MAX_TOLERANCE_MS: i64 = 366 * 24 * 3600 * 1000;

/// `time - span`, saturating at the earliest representable time: event times come from
/// untrusted input and chrono's operators panic on overflow.
fn earlier(time: DateTime<Utc>, span: TimeDelta) -> DateTime<Utc> {
    time.checked_sub_signed(span)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `time + span`, saturating at the latest representable time.
fn later(time: DateTime<Utc>, span: TimeDelta) -> DateTime<Utc> {
    time.checked_add_signed(span)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// How many released matches between sweeps of expired groups.
const SWEEP_EVERY: u64 = 4096;

impl Correlator {
    /// A correlator over the correlation rules of `rules`, with default options.
    pub fn new(rules: Arc<RuleSet>) -> Self {
        Self::with_options(rules, CorrelatorOptions::default())
    }

    /// A correlator with explicit limits.
    pub fn with_options(rules: Arc<RuleSet>, options: CorrelatorOptions) -> Self {
        let mut consumers: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        let mut parents = vec![Vec::new(); rules.correlations.len()];
        for (c, correlation) in rules.correlations.iter().enumerate() {
            for (position, source) in correlation.sources.iter().enumerate() {
                match *source {
                    Source::Rule(r) => consumers.entry(r).or_default().push((c, position)),
                    Source::Correlation(inner) => {
                        if let Some(list) = parents.get_mut(inner) {
                            list.push((c, position));
                        }
                    }
                }
            }
        }
        for list in consumers.values_mut().chain(parents.iter_mut()) {
            list.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        }
        let mut feeding: Vec<usize> = consumers.keys().copied().collect();
        feeding.sort_unstable();
        let states = vec![HashMap::new(); rules.correlations.len()];
        let shortest = rules
            .correlations
            .iter()
            .map(|c| c.timespan_ms)
            .min()
            .unwrap_or(60_000);
        let sweep_interval = TimeDelta::milliseconds(shortest.max(1_000));
        Self {
            rules,
            options,
            consumers,
            parents,
            feeding,
            buffer: BinaryHeap::new(),
            seq: 0,
            newest: None,
            released: None,
            states,
            since_sweep: 0,
            last_sweep: None,
            sweep_interval,
            stats: CorrelatorStats::default(),
        }
    }

    /// What has been seen and dropped so far.
    pub fn stats(&self) -> &CorrelatorStats {
        &self.stats
    }

    /// Observes one event: matches it against the rules that feed correlations and returns
    /// the correlation alerts that became certain (those whose matches the watermark passed).
    pub fn observe(&mut self, event: &Event) -> Vec<Alert> {
        self.stats.events += 1;
        if self.feeding.is_empty() {
            return Vec::new();
        }
        let key = EventKey::of(event);
        let mut view = EventView::new(event, &self.rules.table);
        let mut matched = Vec::new();
        for &index in &self.feeding {
            let Some(rule) = self.rules.rules.get(index) else {
                continue;
            };
            if rule.routes.iter().any(|route| key.admits(route, event))
                && view.matches(&rule.detection)
            {
                matched.push(index);
            }
        }
        if matched.is_empty() {
            return Vec::new();
        }
        let Some(time) = event.ecs.timestamp else {
            self.stats.untimed += 1;
            return Vec::new();
        };
        let entities = Arc::new(alert::entities(event));
        let events = Arc::new(vec![event.id]);
        for rule in matched {
            self.stats.matches += 1;
            if self.released.is_some_and(|released| time < released) {
                self.stats.late += 1;
                continue;
            }
            let fields = self
                .rules
                .correlation_fields
                .by_rule
                .get(&rule)
                .map(|ids| ids.iter().map(|&id| view.first_value(id)).collect())
                .unwrap_or_default();
            self.seq += 1;
            self.buffer.push(Reverse(Pending {
                time,
                seq: self.seq,
                rule,
                entry: Entry {
                    time,
                    first: time,
                    events: Arc::clone(&events),
                    entities: Arc::clone(&entities),
                    fields: Arc::new(fields),
                },
            }));
        }
        if self.newest.is_none_or(|newest| time > newest) {
            self.newest = Some(time);
        }
        let watermark = self.newest.map(|newest| {
            earlier(
                newest,
                TimeDelta::milliseconds(self.options.out_of_order_ms.clamp(0, MAX_TOLERANCE_MS)),
            )
        });
        self.release(watermark)
    }

    /// Ends the input: applies every buffered match and decides every open window.
    pub fn flush(&mut self) -> Vec<Alert> {
        let mut alerts = self.release(None);
        for c in 0..self.states.len() {
            let groups: Vec<String> = self
                .states
                .get(c)
                .map(|groups| groups.keys().cloned().collect())
                .unwrap_or_default();
            let mut sorted = groups;
            sorted.sort();
            for group in sorted {
                if let Some(state) = self.states.get_mut(c).and_then(|g| g.remove(&group)) {
                    self.close(c, &group, state, &mut alerts, 0);
                }
            }
        }
        alerts
    }

    /// Applies buffered matches up to `watermark` (all of them when `None`), in time order.
    fn release(&mut self, watermark: Option<DateTime<Utc>>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        while let Some(Reverse(top)) = self.buffer.peek() {
            if watermark.is_some_and(|w| top.time > w) {
                break;
            }
            let Some(Reverse(pending)) = self.buffer.pop() else {
                break;
            };
            self.released = Some(pending.time);
            let consumers = self
                .consumers
                .get(&pending.rule)
                .cloned()
                .unwrap_or_default();
            for (c, position) in consumers {
                self.apply(c, position, pending.entry.clone(), &mut alerts, 0);
            }
            self.since_sweep += 1;
            if self.since_sweep >= SWEEP_EVERY {
                self.since_sweep = 0;
                self.sweep(pending.time, &mut alerts);
            }
        }
        // Windows that ended before the last released match can be decided: every match still
        // to come is at least that late (earlier ones are dropped as late). Sweeping costs a
        // pass over all groups, so it runs at most once per shortest timespan of event time.
        if watermark.is_some()
            && let Some(released) = self.released
            && self
                .last_sweep
                .is_none_or(|last| released - last >= self.sweep_interval)
        {
            self.sweep(released, &mut alerts);
        }
        alerts
    }

    /// Closes windows that ended before `now` and drops groups with nothing left in reach.
    fn sweep(&mut self, now: DateTime<Utc>, alerts: &mut Vec<Alert>) {
        self.since_sweep = 0;
        self.last_sweep = Some(now);
        for c in 0..self.states.len() {
            let Some(rule) = self.rules.correlations.get(c) else {
                continue;
            };
            let span = TimeDelta::milliseconds(rule.timespan_ms);
            let tumbling = rule.tumbling();
            let Some(groups) = self.states.get_mut(c) else {
                continue;
            };
            let expired: Vec<String> = groups
                .iter()
                .filter(|(_, state)| {
                    if tumbling {
                        state
                            .oldest()
                            .is_none_or(|oldest| later(oldest, span) < now)
                    } else {
                        state
                            .newest()
                            .is_none_or(|newest| later(newest, span) < now)
                    }
                })
                .map(|(group, _)| group.clone())
                .collect();
            let mut expired = expired;
            expired.sort();
            for group in expired {
                if let Some(state) = self.states.get_mut(c).and_then(|g| g.remove(&group))
                    && tumbling
                {
                    self.close(c, &group, state, alerts, 0);
                }
            }
        }
    }

    fn group_key(&self, c: usize, position: usize, entry: &Entry) -> Option<String> {
        let rule = self.rules.correlations.get(c)?;
        let fields = rule.group_fields.get(position)?;
        let mut key = String::new();
        for (i, &field) in fields.iter().enumerate() {
            if i > 0 {
                key.push('\u{1f}');
            }
            if let Some(Some(value)) = entry.fields.get(field) {
                key.push_str(&value.to_lowercase());
            }
        }
        Some(key)
    }

    fn apply(
        &mut self,
        c: usize,
        position: usize,
        entry: Entry,
        alerts: &mut Vec<Alert>,
        depth: usize,
    ) {
        if depth > MAX_CHAIN {
            return;
        }
        let rules = Arc::clone(&self.rules);
        let Some(rule) = rules.correlations.get(c) else {
            return;
        };
        let Some(group) = self.group_key(c, position, &entry) else {
            return;
        };
        let value = rule.value_field.as_ref().and_then(|fields| {
            let field = *fields.get(position)?;
            entry.fields.get(field).cloned().flatten()
        });
        let span = TimeDelta::milliseconds(rule.timespan_ms);
        let Some(groups) = self.states.get_mut(c) else {
            return;
        };
        if !groups.contains_key(&group) && groups.len() >= self.options.max_groups {
            self.sweep(entry.time, alerts);
            let full = self
                .states
                .get(c)
                .is_none_or(|groups| groups.len() >= self.options.max_groups);
            if full {
                self.stats.group_overflow += 1;
                return;
            }
        }
        let Some(groups) = self.states.get_mut(c) else {
            return;
        };
        let mut state = groups
            .remove(&group)
            .unwrap_or_else(|| GroupState::new(rule));
        let fired = match &mut state {
            GroupState::Window(window) => {
                self.apply_window(rule, c, &group, window, entry, value, span, alerts, depth)
            }
            GroupState::Temporal(queues) => {
                self.apply_temporal(rule, queues, position, &entry, span)
            }
            GroupState::Ordered(chains) => apply_ordered(chains, position, entry, span),
        };
        let keep = match &state {
            GroupState::Window(w) => !w.is_empty(),
            GroupState::Temporal(q) => q.iter().any(|q| !q.is_empty()),
            GroupState::Ordered(chains) => chains.iter().any(Option::is_some),
        };
        if keep && let Some(groups) = self.states.get_mut(c) {
            groups.insert(group.clone(), state);
        }
        if let Some(entries) = fired {
            self.fire(c, &group, &entries, alerts, depth);
        }
    }

    /// A counting or metric window takes an entry; returns the entries of a firing window.
    #[expect(
        clippy::too_many_arguments,
        reason = "the state of one group, borrowed apart"
    )]
    fn apply_window(
        &mut self,
        rule: &CorrelationRule,
        c: usize,
        group: &str,
        window: &mut VecDeque<(Entry, Option<String>)>,
        entry: Entry,
        value: Option<String>,
        span: TimeDelta,
        alerts: &mut Vec<Alert>,
        depth: usize,
    ) -> Option<Vec<Entry>> {
        if rule.tumbling() {
            let closes = window
                .front()
                .is_some_and(|(first, _)| entry.time > later(first.first, span));
            if closes {
                let done = GroupState::Window(std::mem::take(window));
                self.close(c, group, done, alerts, depth);
            }
            window.push_back((entry, value));
            self.cap(window);
            return None;
        }
        let now = entry.time;
        window.push_back((entry, value));
        while window
            .front()
            .is_some_and(|(first, _)| first.first < earlier(now, span))
        {
            window.pop_front();
        }
        self.cap(window);
        let metric = metric(rule, window.iter());
        metric
            .is_some_and(|m| rule.holds(m))
            .then(|| window.drain(..).map(|(e, _)| e).collect())
    }

    /// A `temporal` group takes an entry; fires when enough referenced rules matched within
    /// the timespan (all of them unless the condition says otherwise).
    fn apply_temporal(
        &mut self,
        rule: &CorrelationRule,
        queues: &mut [VecDeque<Entry>],
        position: usize,
        entry: &Entry,
        span: TimeDelta,
    ) -> Option<Vec<Entry>> {
        if let Some(queue) = queues.get_mut(position) {
            queue.push_back(entry.clone());
            if queue.len() > self.options.max_window {
                queue.pop_front();
                self.stats.window_overflow += 1;
            }
        }
        for queue in queues.iter_mut() {
            while queue
                .front()
                .is_some_and(|e| e.first < earlier(entry.time, span))
            {
                queue.pop_front();
            }
        }
        let present = queues.iter().filter(|q| !q.is_empty()).count();
        let holds = if rule.bounds.is_empty() {
            present == queues.len()
        } else {
            rule.holds(present as f64)
        };
        if !holds {
            return None;
        }
        let mut entries: Vec<Entry> = queues.iter_mut().flat_map(|q| q.drain(..)).collect();
        entries.sort_by_key(|e| e.time);
        Some(entries)
    }

    fn cap(&mut self, window: &mut VecDeque<(Entry, Option<String>)>) {
        while window.len() > self.options.max_window {
            window.pop_front();
            self.stats.window_overflow += 1;
        }
    }

    /// Decides a tumbling window that is complete.
    fn close(
        &mut self,
        c: usize,
        group: &str,
        state: GroupState,
        alerts: &mut Vec<Alert>,
        depth: usize,
    ) {
        let rules = Arc::clone(&self.rules);
        let Some(rule) = rules.correlations.get(c) else {
            return;
        };
        if !rule.tumbling() {
            return;
        }
        if let GroupState::Window(window) = state
            && metric(rule, window.iter()).is_some_and(|m| rule.holds(m))
        {
            let entries: Vec<Entry> = window.into_iter().map(|(e, _)| e).collect();
            self.fire(c, group, &entries, alerts, depth);
        }
    }

    fn fire(
        &mut self,
        c: usize,
        group: &str,
        entries: &[Entry],
        alerts: &mut Vec<Alert>,
        depth: usize,
    ) {
        let rules = Arc::clone(&self.rules);
        let Some(rule) = rules.correlations.get(c) else {
            return;
        };
        let mut events = Vec::new();
        let mut seen = HashSet::new();
        let mut entities = Vec::new();
        for entry in entries {
            for id in entry.events.iter() {
                if events.len() < self.options.max_alert_events && seen.insert(*id) {
                    events.push(*id);
                }
            }
            for entity in entry.entities.iter() {
                if !entities.contains(entity) {
                    entities.push(entity.clone());
                }
            }
        }
        entities.sort();
        let first = entries.iter().map(|e| e.first).min();
        let last = entries.iter().map(|e| e.time).max();
        if rule.generate {
            self.stats.alerts += 1;
            alerts.push(Alert {
                id: alert::correlation_id(&rule.info.id, group, &events),
                source: AlertSource::Correlation,
                rule_id: rule.info.id.clone(),
                title: rule.info.title.clone(),
                level: rule.info.level,
                score: None,
                techniques: rule.info.techniques.clone(),
                tactics: rule.info.tactics.clone(),
                entities: entities.clone(),
                event_ids: events.clone(),
                first_seen: first,
                last_seen: last,
                explanation: None,
            });
        }
        let parents = self.parents.get(c).cloned().unwrap_or_default();
        if parents.is_empty() {
            return;
        }
        let (Some(first), Some(last)) = (first, last) else {
            return;
        };
        // An inner correlation's alert enters its parents as one entry at its last event's
        // time, carrying the field values of that last event.
        let fields = entries
            .iter()
            .max_by_key(|e| e.time)
            .map(|e| Arc::clone(&e.fields))
            .unwrap_or_default();
        let entry = Entry {
            time: last,
            first,
            events: Arc::new(events),
            entities: Arc::new(entities),
            fields,
        };
        for (parent, position) in parents {
            self.apply(parent, position, entry.clone(), alerts, depth + 1);
        }
    }
}

/// A `temporal_ordered` group takes an entry at `position`: it extends the chain that reached
/// the previous position within the timespan; the chain that reaches the last position fires.
fn apply_ordered(
    chains: &mut [Option<Vec<Entry>>],
    position: usize,
    entry: Entry,
    span: TimeDelta,
) -> Option<Vec<Entry>> {
    let extended = if position == 0 {
        Some(vec![entry])
    } else {
        chains
            .get(position - 1)
            .cloned()
            .flatten()
            .filter(|chain| {
                chain
                    .first()
                    .is_some_and(|start| entry.time - start.first <= span)
            })
            .map(|mut chain| {
                chain.push(entry);
                chain
            })
    }?;
    if position + 1 == chains.len() {
        for chain in chains.iter_mut() {
            *chain = None;
        }
        Some(extended)
    } else {
        if let Some(slot) = chains.get_mut(position) {
            *slot = Some(extended);
        }
        None
    }
}

/// The metric a counting or metric correlation compares with its bounds.
fn metric<'a>(
    rule: &CorrelationRule,
    window: impl Iterator<Item = &'a (Entry, Option<String>)>,
) -> Option<f64> {
    match rule.kind {
        Kind::EventCount => Some(window.count() as f64),
        Kind::ValueCount => {
            let distinct: HashSet<String> = window
                .filter_map(|(_, value)| value.as_ref())
                .filter(|v| !v.is_empty())
                .map(|v| v.to_lowercase())
                .collect();
            Some(distinct.len() as f64)
        }
        Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile => {
            let mut numbers: Vec<f64> = window
                .filter_map(|(_, value)| value.as_deref().and_then(parse_number))
                .collect();
            if numbers.is_empty() {
                return None;
            }
            let sum: f64 = numbers.iter().sum();
            match rule.kind {
                Kind::ValueSum => Some(sum),
                Kind::ValueAvg => Some(sum / numbers.len() as f64),
                _ => {
                    numbers.sort_by(f64::total_cmp);
                    // Nearest-rank percentile.
                    // Nearest rank: the smallest value with at least `percentile` % of the
                    // values at or below it. Counted without float-to-int casts.
                    let wanted = rule.percentile / 100.0 * numbers.len() as f64;
                    let mut rank = 1usize;
                    while (rank as f64) < wanted && rank < numbers.len() {
                        rank += 1;
                    }
                    numbers.get(rank - 1).copied()
                }
            }
        }
        Kind::Temporal | Kind::TemporalOrdered => None,
    }
}

#[cfg(test)]
mod tests;
