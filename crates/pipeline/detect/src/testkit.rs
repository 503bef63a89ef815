//! Test helpers: Windows-shaped events built in memory.

use chrono::{DateTime, Utc};
use rampart_core::{ContentHash, Ecs, Event, Format, Position, Provenance};
use serde_json::Value;

/// A Windows event of `channel` / `event_id` with the given event data fields, at `time`.
pub(crate) fn windows_event(
    channel: &str,
    event_id: u32,
    data: &[(&str, &str)],
    time: Option<&str>,
) -> Event {
    let raw = format!("{channel}|{event_id}|{data:?}|{time:?}");
    let provenance = Provenance {
        source: "memory".to_owned(),
        position: Position::Line(1),
        format: Some(Format::WindowsJson),
        parser: "test".to_owned(),
        ingested_at: Utc::now(),
        content_hash: ContentHash::of(raw.as_bytes()),
    };
    let ecs = Ecs {
        timestamp: time.map(|t| t.parse::<DateTime<Utc>>().unwrap()),
        ..Ecs::default()
    };
    let mut event = Event::new(ecs, raw, provenance);
    event
        .attributes
        .insert("winlog.channel".to_owned(), Value::from(channel));
    event
        .attributes
        .insert("winlog.event_id".to_owned(), Value::from(event_id));
    for (name, value) in data {
        event
            .attributes
            .insert(format!("winlog.event_data.{name}"), Value::from(*value));
    }
    event
}

/// A Sysmon process creation with the given fields.
pub(crate) fn sysmon_process(data: &[(&str, &str)]) -> Event {
    windows_event("Microsoft-Windows-Sysmon/Operational", 1, data, None)
}
