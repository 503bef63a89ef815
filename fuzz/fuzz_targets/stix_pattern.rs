//! Parses arbitrary text as a STIX 2.1 pattern: the lexer, parser and compiler must never
//! panic or recurse without bound, and whatever compiles must evaluate against an event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_enrich::{IntelStore, SourceInfo};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let indicator = serde_json::json!({
        "type": "indicator", "id": "indicator--fuzz", "pattern": text,
        "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
    });
    let mut store = IntelStore::new();
    if store.add_stix_object(&indicator, &SourceInfo::new("fuzz", "1")).is_ok() {
        let mut ecs = rampart_core::Ecs::default();
        ecs.source.ip = "10.1.2.3".parse().ok();
        ecs.destination.ip = "2001:db8::1".parse().ok();
        ecs.destination.port = Some(443);
        ecs.dns.question.name = Some("evil.example".into());
        ecs.url.full = Some("http://evil.example/a".into());
        ecs.process.name = Some("cmd.exe".into());
        ecs.process.command_line = Some("cmd.exe /c whoami".into());
        ecs.file.hash.md5 = Some("44d88612fea8a8f36de82e1278abb02f".into());
        let provenance = rampart_core::Provenance {
            source: "fuzz".into(),
            position: rampart_core::Position::Line(1),
            format: None,
            parser: "fuzz".into(),
            ingested_at: chrono::DateTime::UNIX_EPOCH,
            content_hash: rampart_core::ContentHash::of(b"fuzz"),
        };
        let event = rampart_core::Event::new(ecs, String::new(), provenance);
        let now = "2024-01-02T00:00:00Z".parse().unwrap_or_default();
        let _ = store.alerts_for(&event, now);
    }
});
