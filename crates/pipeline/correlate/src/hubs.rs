//! Hub suppression: an entity seen with many distinct hosts (a domain controller's IP, a
//! service account, a scanner) would glue unrelated alerts into one incident, so it links
//! nothing once it crosses the threshold.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use chrono::{DateTime, TimeDelta, Utc};
use rampart_core::{EntityKind, EntityRef};

/// Distinct anchors (hosts) seen per entity, kept as 64-bit hashes and at most `max + 1` per
/// entity, forgotten after `memory` of silence.
#[derive(Debug)]
pub(crate) struct HubTracker {
    max_hosts: usize,
    memory: TimeDelta,
    seen: HashMap<EntityRef, Anchors>,
    hasher: BuildHasherDefault<DefaultHasher>,
}

#[derive(Debug)]
struct Anchors {
    hashes: Vec<u64>,
    last: DateTime<Utc>,
}

impl HubTracker {
    pub(crate) fn new(max_hosts: usize, memory: TimeDelta) -> Self {
        Self {
            max_hosts,
            memory,
            seen: HashMap::new(),
            hasher: BuildHasherDefault::default(),
        }
    }

    /// Records that `entities` appeared together at `at`. An alert's anchors are its hosts, or
    /// its IPs when it names no host; an entity is not its own anchor.
    pub(crate) fn observe(&mut self, entities: &[EntityRef], at: DateTime<Utc>) {
        let has_host = entities.iter().any(|e| e.kind == EntityKind::Host);
        let anchor_kind = if has_host {
            EntityKind::Host
        } else {
            EntityKind::Ip
        };
        let anchors: Vec<(&EntityRef, u64)> = entities
            .iter()
            .filter(|e| e.kind == anchor_kind)
            .map(|e| (e, self.hasher.hash_one(e)))
            .collect();
        for entity in entities {
            let state = self.seen.entry(entity.clone()).or_insert(Anchors {
                hashes: Vec::new(),
                last: at,
            });
            state.last = state.last.max(at);
            for (anchor, hash) in &anchors {
                if state.hashes.len() > self.max_hosts {
                    break;
                }
                if *anchor != entity && !state.hashes.contains(hash) {
                    state.hashes.push(*hash);
                }
            }
        }
    }

    /// Whether `entity` has been seen with more than `max_hosts` distinct anchors.
    pub(crate) fn is_hub(&self, entity: &EntityRef) -> bool {
        self.seen
            .get(entity)
            .is_some_and(|s| s.hashes.len() > self.max_hosts)
    }

    /// Forgets entities silent since before `now - memory`.
    pub(crate) fn forget(&mut self, now: DateTime<Utc>) {
        let horizon = now - self.memory;
        self.seen.retain(|_, s| s.last >= horizon);
    }

    /// How many entities are hubs now.
    pub(crate) fn hub_count(&self) -> usize {
        self.seen
            .values()
            .filter(|s| s.hashes.len() > self.max_hosts)
            .count()
    }

    /// How many entities are tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::t;

    #[test]
    fn an_entity_with_many_hosts_becomes_a_hub_and_is_forgotten() {
        let dc = EntityRef::new(EntityKind::Ip, "10.0.0.1");
        let mut hubs = HubTracker::new(3, TimeDelta::hours(1));
        for i in 0..3 {
            hubs.observe(
                &[
                    dc.clone(),
                    EntityRef::new(EntityKind::Host, format!("ws{i}")),
                ],
                t(i),
            );
        }
        assert!(!hubs.is_hub(&dc));
        // The same host again does not count twice.
        hubs.observe(&[dc.clone(), EntityRef::new(EntityKind::Host, "ws0")], t(5));
        assert!(!hubs.is_hub(&dc));
        hubs.observe(&[dc.clone(), EntityRef::new(EntityKind::Host, "ws9")], t(6));
        assert!(hubs.is_hub(&dc));
        assert_eq!(hubs.hub_count(), 1);
        hubs.forget(t(6 + 3601));
        assert!(!hubs.is_hub(&dc));
        assert_eq!(hubs.len(), 0);
    }

    #[test]
    fn ips_anchor_alerts_without_hosts() {
        let scanner = EntityRef::new(EntityKind::Ip, "203.0.113.9");
        let mut hubs = HubTracker::new(2, TimeDelta::hours(1));
        for i in 0..3 {
            hubs.observe(
                &[
                    scanner.clone(),
                    EntityRef::new(EntityKind::Ip, format!("10.0.0.{i}")),
                ],
                t(i),
            );
        }
        assert!(hubs.is_hub(&scanner));
        assert!(!hubs.is_hub(&EntityRef::new(EntityKind::Ip, "10.0.0.1")));
    }
}
