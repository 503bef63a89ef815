//! Builders for tests: alerts at whole seconds after a fixed epoch.

use chrono::{DateTime, TimeDelta, Utc};
use rampart_core::{Alert, AlertId, AlertSource, EntityRef, EventId, Level};

/// A fixed instant plus `secs` seconds.
pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_000_000, 0).unwrap() + TimeDelta::seconds(secs)
}

/// An alert of `rule` at `at` seconds over `entities`, with an id derived from all of them.
pub fn alert(rule: &str, level: Level, at: i64, entities: &[EntityRef]) -> Alert {
    let event = EventId::derive(&[
        rule.as_bytes(),
        &at.to_le_bytes(),
        format!("{entities:?}").as_bytes(),
    ]);
    Alert {
        id: AlertId::derive(&[rule.as_bytes(), event.as_bytes()]),
        source: AlertSource::Sigma,
        rule_id: rule.to_owned(),
        title: format!("rule {rule}"),
        level,
        score: None,
        techniques: Vec::new(),
        tactics: Vec::new(),
        entities: entities.to_vec(),
        event_ids: vec![event],
        first_seen: Some(t(at)),
        last_seen: Some(t(at)),
        explanation: None,
    }
}
