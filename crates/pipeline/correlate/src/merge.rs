//! Dedup: repeats of one rule on the same entities within one aligned window fold into one alert.

use chrono::{DateTime, Utc};
use rampart_core::{Alert, AlertId};
use serde::{Deserialize, Serialize};

/// An alert after dedup: a representative with its repeats folded in.
///
/// The representative is the earliest member (ties broken by the smaller id), so the result
/// does not depend on the order the repeats arrived in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedAlert {
    /// The representative, widened: first and last seen span every member, event ids are the
    /// union (the smallest `max_event_ids`), level and score are the highest, techniques and
    /// tactics the union.
    pub alert: Alert,
    /// How many alerts were folded together (1 when it had no repeat).
    pub count: u64,
    /// The other members' ids, smallest first (at most `max_event_ids`).
    pub duplicate_ids: Vec<AlertId>,
}

impl MergedAlert {
    /// A merged alert of one member.
    pub fn new(alert: Alert) -> Self {
        Self {
            alert,
            count: 1,
            duplicate_ids: Vec::new(),
        }
    }

    /// Whether `id` is already a member (the representative or a kept duplicate).
    pub fn contains(&self, id: &AlertId) -> bool {
        self.alert.id == *id || self.duplicate_ids.binary_search(id).is_ok()
    }

    /// Folds `other` (same rule, same entities, same window) in, keeping at most `cap` event
    /// and duplicate ids. Returns the id of the representative before the merge when the
    /// representative changed.
    pub fn absorb(&mut self, mut other: Alert, cap: usize) -> Option<AlertId> {
        let mut replaced = None;
        if rank(&other) < rank(&self.alert) {
            // The newcomer is earlier: it becomes the representative and keeps its own title,
            // explanation and source; the old one becomes a duplicate.
            std::mem::swap(&mut self.alert, &mut other);
            replaced = Some(other.id);
        }
        let alert = &mut self.alert;
        alert.first_seen = min_opt(alert.first_seen, other.first_seen);
        alert.last_seen = max_opt(alert.last_seen, other.last_seen);
        alert.level = alert.level.max(other.level);
        alert.score = match (alert.score, other.score) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        union_into(&mut alert.event_ids, other.event_ids, cap);
        union_into(&mut alert.techniques, other.techniques, usize::MAX);
        union_into(&mut alert.tactics, other.tactics, usize::MAX);
        union_into(&mut self.duplicate_ids, vec![other.id], cap);
        self.count = self.count.saturating_add(1);
        replaced
    }
}

/// Orders members: earliest first, then by id; alerts without time last.
fn rank(alert: &Alert) -> (DateTime<Utc>, AlertId) {
    (
        alert
            .first_seen
            .or(alert.last_seen)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
        alert.id,
    )
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Sorted union, truncated to the `cap` smallest (so the kept set is independent of order).
fn union_into<T: Ord>(into: &mut Vec<T>, more: Vec<T>, cap: usize) {
    into.extend(more);
    into.sort();
    into.dedup();
    into.truncate(cap);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{alert, t};
    use rampart_core::{EntityKind, EntityRef, Level};

    #[test]
    fn merge_widens_and_is_order_independent() {
        let host = [EntityRef::new(EntityKind::Host, "ws1")];
        let a = alert("r", Level::Low, 10, &host);
        let mut b = alert("r", Level::High, 20, &host);
        b.techniques = vec!["T1059".into()];
        let c = alert("r", Level::Medium, 5, &host);

        let mut forward = MergedAlert::new(a.clone());
        forward.absorb(b.clone(), 100);
        assert_eq!(forward.absorb(c.clone(), 100), Some(a.id));
        let mut backward = MergedAlert::new(c.clone());
        backward.absorb(b, 100);
        backward.absorb(a, 100);
        assert_eq!(forward, backward);
        assert_eq!(forward.alert.id, c.id);
        assert_eq!(forward.count, 3);
        assert_eq!(forward.alert.first_seen, Some(t(5)));
        assert_eq!(forward.alert.last_seen, Some(t(20)));
        assert_eq!(forward.alert.level, Level::High);
        assert_eq!(forward.alert.event_ids.len(), 3);
        assert_eq!(forward.alert.techniques, ["T1059"]);
    }

    #[test]
    fn event_ids_are_capped() {
        let host = [EntityRef::new(EntityKind::Host, "ws1")];
        let mut merged = MergedAlert::new(alert("r", Level::Low, 0, &host));
        for i in 1..50 {
            merged.absorb(alert("r", Level::Low, i, &host), 8);
        }
        assert_eq!(merged.count, 50);
        assert_eq!(merged.alert.event_ids.len(), 8);
        assert_eq!(merged.duplicate_ids.len(), 8);
    }
}
