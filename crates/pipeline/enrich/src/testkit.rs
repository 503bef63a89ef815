//! Shared pieces of unit tests: events built from a few ECS fields.

use rampart_core::{ContentHash, Ecs, Event, Position, Provenance};

/// An event whose ECS fields are set from a JSON object in ECS's own spelling.
pub(crate) fn event(ecs: serde_json::Value) -> Event {
    let ecs: Ecs = serde_json::from_value(ecs).unwrap();
    let raw = serde_json::to_string(&ecs).unwrap();
    let provenance = Provenance {
        source: "test.json".into(),
        position: Position::Line(1),
        format: None,
        parser: "test".into(),
        ingested_at: chrono::Utc::now(),
        content_hash: ContentHash::of(raw.as_bytes()),
    };
    Event::new(ecs, raw, provenance)
}
