//! Streaming per-entity baselines: how many events and how much volume an
//! entity (a host, a user) produces per time window, learnt online with
//! Welford's mean/variance and an EWMA, an hour-of-week seasonal profile,
//! first-seen and rarity of the values it touches. Memory is bounded: at most
//! `max_entities` entities (the least recently seen is evicted) and at most
//! `max_values_per_entity` tracked values per entity.
//!
//! Every report explains itself with z-scores: `z = (value - mean) / std`,
//! where `std` is floored at `min_std` so a perfectly regular entity does not
//! produce infinite scores.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

/// Hours in a week: the number of seasonal slots.
pub const HOURS_PER_WEEK: usize = 168;

/// Tuning of the baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineConfig {
    /// Width of a counting window in seconds.
    pub window_secs: i64,
    /// EWMA weight of the newest window, in `(0, 1]`.
    pub ewma_alpha: f64,
    /// Most entities kept; the least recently seen is evicted beyond it.
    pub max_entities: usize,
    /// Most distinct values tracked per entity for first-seen and rarity.
    pub max_values_per_entity: usize,
    /// Keep an hour-of-week profile of counts (2 KiB per entity).
    pub seasonality: bool,
    /// Closed windows needed before z-scores are reported.
    pub min_history: u64,
    /// Floor of the standard deviation used in z-scores.
    pub min_std: f64,
    /// Most empty windows filled in after a silence (older silence is ignored).
    pub max_gap_windows: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            window_secs: 3600,
            ewma_alpha: 0.1,
            max_entities: 100_000,
            max_values_per_entity: 256,
            seasonality: true,
            min_history: 3,
            min_std: 1.0,
            max_gap_windows: 24 * 7 * 4,
        }
    }
}

/// Welford's online mean and variance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Welford {
    /// Observations.
    pub n: u64,
    /// Running mean.
    pub mean: f64,
    m2: f64,
}

impl Welford {
    /// Adds one observation.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Population variance (0 with fewer than two observations).
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / self.n as f64
        }
    }

    /// Population standard deviation.
    pub fn std(&self) -> f64 {
        self.variance().max(0.0).sqrt()
    }
}

/// Exponentially weighted mean and variance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    /// Weighted mean.
    pub mean: f64,
    /// Weighted variance.
    pub variance: f64,
    started: bool,
}

impl Ewma {
    /// Adds one observation with weight `alpha`.
    pub fn push(&mut self, x: f64, alpha: f64) {
        if self.started {
            let d = x - self.mean;
            self.mean += alpha * d;
            self.variance = (1.0 - alpha) * (self.variance + alpha * d * d);
        } else {
            self.mean = x;
            self.started = true;
        }
    }
}

/// Which quantity a z-score is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Events in the current window.
    Count,
    /// Volume (e.g. bytes) in the current window.
    Volume,
    /// Events in the current window against the same hour of past weeks.
    SeasonalCount,
}

/// A value set against its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZScore {
    /// The quantity.
    pub metric: Metric,
    /// Its value in the current window so far.
    pub value: f64,
    /// Baseline mean over closed windows.
    pub mean: f64,
    /// Baseline standard deviation.
    pub std: f64,
    /// EWMA of the baseline (recent behaviour).
    pub ewma: f64,
    /// `(value - mean) / max(std, min_std)`; `None` until enough history.
    pub z: Option<f64>,
}

/// What one observation looks like against the entity's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineReport {
    /// First event ever seen for this entity (or since it was evicted).
    pub entity_first_seen: bool,
    /// First time this entity touched the value, when one was given.
    pub value_first_seen: Option<bool>,
    /// `-log2` of the smoothed share of the entity's events with this value.
    pub value_rarity: Option<f64>,
    /// Count in the current window against past windows.
    pub count: ZScore,
    /// Volume in the current window against past windows.
    pub volume: ZScore,
    /// Count against the same hour of the week, when seasonality is on.
    pub seasonal: Option<ZScore>,
}

#[derive(Debug, Clone)]
struct EntityState {
    window_start: i64,
    count: f64,
    volume: f64,
    counts: Welford,
    volumes: Welford,
    count_ewma: Ewma,
    volume_ewma: Ewma,
    seasonal: Option<Box<[Welford; HOURS_PER_WEEK]>>,
    values: HashMap<String, u64>,
    events: u64,
    lru_key: (i64, u64),
}

/// Per-entity baselines with bounded memory.
#[derive(Debug, Clone)]
pub struct EntityBaselines {
    config: BaselineConfig,
    entities: HashMap<String, EntityState>,
    /// (last seen, sequence) -> entity: the eviction order.
    recency: BTreeMap<(i64, u64), String>,
    sequence: u64,
    evictions: u64,
}

/// Hour-of-week slot (Monday 00:00 UTC = 0) of a Unix timestamp.
pub fn hour_of_week(ts: i64) -> usize {
    // 1970-01-01 was a Thursday: 3 days after Monday.
    let hours = ts.div_euclid(3600) + 72;
    usize::try_from(hours.rem_euclid(168)).unwrap_or(0)
}

impl EntityBaselines {
    /// Empty baselines.
    pub fn new(config: BaselineConfig) -> Result<Self> {
        let bad = |name, value: String, reason| {
            Err(MlError::InvalidHyperparameter {
                name,
                value,
                reason,
            })
        };
        if config.window_secs <= 0 {
            return bad(
                "window_secs",
                config.window_secs.to_string(),
                "must be positive",
            );
        }
        if !(config.ewma_alpha > 0.0 && config.ewma_alpha <= 1.0) {
            return bad(
                "ewma_alpha",
                config.ewma_alpha.to_string(),
                "must be in (0, 1]",
            );
        }
        if config.max_entities == 0 {
            return bad("max_entities", "0".into(), "must be at least 1");
        }
        if !(config.min_std > 0.0 && config.min_std.is_finite()) {
            return bad("min_std", config.min_std.to_string(), "must be positive");
        }
        Ok(Self {
            config,
            entities: HashMap::new(),
            recency: BTreeMap::new(),
            sequence: 0,
            evictions: 0,
        })
    }

    /// Entities currently held.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// True when no entity is held.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Entities evicted so far to respect the cap.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Records one event of `entity` at Unix time `ts` with `volume` (e.g. bytes;
    /// non-finite or negative volumes count as 0) touching `value` (e.g. a
    /// destination port), and reports how unusual the entity's window now is.
    /// Late events (before the current window) count in the current window.
    pub fn observe(
        &mut self,
        entity: &str,
        ts: i64,
        volume: f64,
        value: Option<&str>,
    ) -> BaselineReport {
        let volume = if volume.is_finite() && volume > 0.0 {
            volume
        } else {
            0.0
        };
        let window = self.config.window_secs;
        let start = ts.div_euclid(window) * window;
        let first_seen = !self.entities.contains_key(entity);
        if first_seen {
            while self.entities.len() >= self.config.max_entities {
                let Some((_, victim)) = self.recency.pop_first() else {
                    break;
                };
                self.entities.remove(&victim);
                self.evictions += 1;
            }
            let state = new_state(&self.config, start, ts);
            self.entities.insert(entity.to_owned(), state);
        }
        self.sequence += 1;
        let key = (ts, self.sequence);
        let config = &self.config;
        let Some(state) = self.entities.get_mut(entity) else {
            return empty_report(first_seen);
        };
        self.recency.remove(&state.lru_key);
        // Recency follows the latest event time, never moving back for a late event.
        let key = if key.0 < state.lru_key.0 {
            (state.lru_key.0, key.1)
        } else {
            key
        };
        state.lru_key = key;
        self.recency.insert(key, entity.to_owned());

        if start > state.window_start {
            close_window(state, config, start);
        }
        state.count += 1.0;
        state.volume += volume;
        state.events += 1;

        let (value_first_seen, value_rarity) = match value {
            Some(v) => {
                let seen = state.values.get(v).copied().unwrap_or(0);
                let distinct = state.values.len() as f64;
                let p = (seen as f64 + 1.0) / (state.events as f64 + distinct + 1.0);
                if seen > 0 || state.values.len() < config.max_values_per_entity {
                    *state.values.entry(v.to_owned()).or_default() += 1;
                }
                (Some(seen == 0), Some(-p.log2()))
            }
            None => (None, None),
        };
        let z = |metric, value: f64, w: &Welford, e: &Ewma| ZScore {
            metric,
            value,
            mean: w.mean,
            std: w.std(),
            ewma: e.mean,
            z: (w.n >= config.min_history).then(|| (value - w.mean) / w.std().max(config.min_std)),
        };
        let seasonal = state.seasonal.as_ref().and_then(|s| {
            let w = s.get(hour_of_week(state.window_start))?;
            Some(ZScore {
                metric: Metric::SeasonalCount,
                value: state.count,
                mean: w.mean,
                std: w.std(),
                ewma: w.mean,
                z: (w.n >= config.min_history)
                    .then(|| (state.count - w.mean) / w.std().max(config.min_std)),
            })
        });
        BaselineReport {
            entity_first_seen: first_seen,
            value_first_seen,
            value_rarity,
            count: z(Metric::Count, state.count, &state.counts, &state.count_ewma),
            volume: z(
                Metric::Volume,
                state.volume,
                &state.volumes,
                &state.volume_ewma,
            ),
            seasonal,
        }
    }
}

fn new_state(config: &BaselineConfig, start: i64, ts: i64) -> EntityState {
    EntityState {
        window_start: start,
        count: 0.0,
        volume: 0.0,
        counts: Welford::default(),
        volumes: Welford::default(),
        count_ewma: Ewma::default(),
        volume_ewma: Ewma::default(),
        seasonal: config
            .seasonality
            .then(|| Box::new([Welford::default(); HOURS_PER_WEEK])),
        values: HashMap::new(),
        events: 0,
        lru_key: (ts, 0),
    }
}

/// Folds the finished window (and any empty windows since) into the history.
fn close_window(state: &mut EntityState, config: &BaselineConfig, new_start: i64) {
    let push = |state: &mut EntityState, start: i64, count: f64, volume: f64| {
        state.counts.push(count);
        state.volumes.push(volume);
        state.count_ewma.push(count, config.ewma_alpha);
        state.volume_ewma.push(volume, config.ewma_alpha);
        if let Some(slot) = state
            .seasonal
            .as_mut()
            .and_then(|s| s.get_mut(hour_of_week(start)))
        {
            slot.push(count);
        }
    };
    let (start, count, volume) = (state.window_start, state.count, state.volume);
    push(state, start, count, volume);
    let gap = u64::try_from((new_start - state.window_start) / config.window_secs - 1).unwrap_or(0);
    let filled = gap.min(config.max_gap_windows);
    // The most recent empty windows are the ones that matter; older silence is dropped.
    let first_empty = new_start - i64::try_from(filled).unwrap_or(0) * config.window_secs;
    for k in 0..filled {
        let s = first_empty + i64::try_from(k).unwrap_or(0) * config.window_secs;
        push(state, s, 0.0, 0.0);
    }
    state.window_start = new_start;
    state.count = 0.0;
    state.volume = 0.0;
}

fn empty_report(first_seen: bool) -> BaselineReport {
    let zero = |metric| ZScore {
        metric,
        value: 0.0,
        mean: 0.0,
        std: 0.0,
        ewma: 0.0,
        z: None,
    };
    BaselineReport {
        entity_first_seen: first_seen,
        value_first_seen: None,
        value_rarity: None,
        count: zero(Metric::Count),
        volume: zero(Metric::Volume),
        seasonal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn welford_matches_two_pass() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut w = Welford::default();
        for &x in &xs {
            w.push(x);
        }
        assert!((w.mean - 5.0).abs() < 1e-12);
        assert!((w.std() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn burst_after_regular_traffic_has_a_high_z() {
        let mut b = EntityBaselines::new(BaselineConfig::default()).unwrap();
        let mut ts = 1_700_000_000;
        for _ in 0..48 {
            for k in 0..10 {
                b.observe("10.0.0.5", ts + k * 60, 1000.0, Some("443"));
            }
            ts += 3600;
        }
        let mut last = None;
        for k in 0..200 {
            last = Some(b.observe("10.0.0.5", ts + k, 1000.0, Some("443")));
        }
        let r = last.unwrap();
        assert!(!r.entity_first_seen);
        assert!(r.count.z.unwrap() > 50.0, "{:?}", r.count);
        assert!((r.count.mean - 10.0).abs() < 1e-9);
        let r = b.observe("10.0.0.5", ts + 300, 10.0, Some("4444"));
        assert_eq!(r.value_first_seen, Some(true));
        assert!(r.value_rarity.unwrap() > 8.0);
        let r = b.observe("10.0.0.9", ts, 1.0, None);
        assert!(r.entity_first_seen);
        assert!(r.count.z.is_none());
    }

    #[test]
    fn hour_of_week_starts_monday() {
        // 2024-01-01 00:00 UTC was a Monday.
        assert_eq!(hour_of_week(1_704_067_200), 0);
        assert_eq!(hour_of_week(1_704_067_200 + 3600 * 25), 25);
        assert_eq!(hour_of_week(1_704_067_200 - 3600), 167);
    }

    proptest! {
        #[test]
        fn memory_stays_bounded(events in proptest::collection::vec((0u16..500, -5_000i64..5_000_000, any::<f64>(), 0u8..40), 1..400)) {
            let config = BaselineConfig { max_entities: 16, max_values_per_entity: 8, ..Default::default() };
            let mut b = EntityBaselines::new(config).unwrap();
            for (e, ts, v, value) in events {
                let r = b.observe(&e.to_string(), ts, v, Some(&value.to_string()));
                prop_assert!(r.count.value >= 1.0);
                prop_assert!(r.count.z.is_none_or(f64::is_finite));
                prop_assert!(b.len() <= 16);
                prop_assert_eq!(b.recency.len(), b.len());
                for s in b.entities.values() {
                    prop_assert!(s.values.len() <= 8);
                }
            }
        }
    }
}
