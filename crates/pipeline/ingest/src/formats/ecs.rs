//! Elastic Common Schema JSON lines, mapped onto Rampart's ECS model.
//!
//! Input is JSON lines, a JSON array, or pretty-printed documents one after another. A record
//! is one JSON object in ECS layout: nested objects (`{"source":{"ip":…}}`), dotted
//! keys (`{"source.ip":…}`) or both. Every leaf is looked up by its dotted path: a path that
//! [`rampart_core::Ecs`] has a typed slot for fills it (`source.ip`, `process.parent.pid`,
//! `event.category`, …); every other path, and every value whose type does not fit its slot
//! (`source.ip: "not-an-ip"`), goes to `attributes` under its dotted path as written, so
//! nothing is lost. Arrays are leaves, except arrays of objects under `threat` (Kibana alerts
//! write `threat: [{technique: [{id, subtechnique: [{id}]}], tactic: {name}}]`), whose
//! technique ids and tactic names fill `threat.technique.id` and `threat.tactic.name` while
//! the array itself stays in `attributes`.
//!
//! `@timestamp` accepts RFC 3339 text and epoch milliseconds, as ECS `date` does.

use std::sync::Arc;

use rampart_core::{Ecs, Event, Format, Ingested};
use serde_json::{Map, Value};

use super::windows::{check_depth, json_documents};
use super::{
    Delivery, Input, Limits, RecordParser, RecordSink, parse_json_object, parse_timestamp,
};
use crate::{RawRecord, SourceInfo};

/// Reads one input of ECS documents: JSON lines, a JSON array, or pretty-printed documents.
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let parser: Arc<dyn RecordParser> = Arc::new(EcsJson::new(limits));
    let mut sink = RecordSink::new(Arc::clone(&input.source), parser, limits, deliver);
    json_documents(input, limits, &mut sink);
    sink.finish();
}

/// Parses ECS JSON documents.
#[derive(Debug, Clone)]
pub(crate) struct EcsJson {
    limits: Limits,
}

impl EcsJson {
    /// A parser with the given caps.
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
        }
    }

    fn event(&self, record: &RawRecord, source: &SourceInfo) -> Result<Event, String> {
        check_depth(&record.bytes, &self.limits)?;
        let object = parse_json_object(&record.bytes, &self.limits)?;
        let mut ecs = Ecs::default();
        let mut attributes = Map::new();
        for (key, value) in object {
            walk(key, value, &mut ecs, &mut attributes);
        }
        let raw = String::from_utf8_lossy(&record.bytes).into_owned();
        let mut event = Event::new(ecs, raw, self.provenance(record, source));
        event.attributes = attributes;
        Ok(event)
    }
}

impl RecordParser for EcsJson {
    fn format(&self) -> Format {
        Format::Ecs
    }

    fn parser_id(&self) -> &'static str {
        "ecs/1"
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        match self.event(record, source) {
            Ok(event) => out.push(Ingested::Event(Box::new(event))),
            Err(reason) => out.push(self.dead_letter(record, source, reason)),
        }
    }
}

fn walk(path: String, value: Value, ecs: &mut Ecs, attributes: &mut Map<String, Value>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                walk(format!("{path}.{key}"), child, ecs, attributes);
            }
        }
        Value::Null => {}
        Value::Array(items) if path.starts_with("threat") && items.iter().all(Value::is_object) => {
            for item in &items {
                collect_threat(&path, item, ecs);
            }
            attributes.insert(path, Value::Array(items));
        }
        leaf => {
            if !assign(ecs, &path, &leaf) {
                attributes.insert(path, leaf);
            }
        }
    }
}

/// Collects ATT&CK ids and tactic names from one object of a `threat` array.
fn collect_threat(path: &str, value: &Value, ecs: &mut Ecs) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                collect_threat(&format!("{path}.{key}"), child, ecs);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_threat(path, item, ecs);
            }
        }
        Value::String(text) => {
            let list = match path {
                "threat.technique.id" | "threat.technique.subtechnique.id" => {
                    &mut ecs.threat.technique.id
                }
                "threat.tactic.name" => &mut ecs.threat.tactic.name,
                _ => return,
            };
            if !list.contains(text) {
                list.push(text.clone());
            }
        }
        _ => {}
    }
}

/// Fills the typed ECS slot for `path`; `false` when there is none or the value does not fit.
#[expect(
    clippy::too_many_lines,
    reason = "one flat table from ECS paths to typed slots reads best as one match"
)]
fn assign(ecs: &mut Ecs, path: &str, value: &Value) -> bool {
    macro_rules! set {
        ($slot:expr, $parsed:expr) => {
            match $parsed {
                Some(parsed) => {
                    $slot = Some(parsed);
                    true
                }
                None => false,
            }
        };
    }
    match path {
        "@timestamp" => set!(ecs.timestamp, timestamp(value)),
        "event.kind" => set!(ecs.event.kind, text(value)),
        "event.category" => set_list(&mut ecs.event.category, value),
        "event.type" => set_list(&mut ecs.event.kind_type, value),
        "event.action" => set!(ecs.event.action, text(value)),
        "event.outcome" => set!(ecs.event.outcome, text(value)),
        "event.severity" => set!(ecs.event.severity, integer(value)),
        "event.code" => set!(ecs.event.code, text(value)),
        "event.provider" => set!(ecs.event.provider, text(value)),
        "event.dataset" => set!(ecs.event.dataset, text(value)),
        "event.duration" => set!(ecs.event.duration, integer(value)),
        "source.ip" => set!(ecs.source.ip, text(value).and_then(|ip| ip.parse().ok())),
        "source.port" => set!(
            ecs.source.port,
            integer(value).and_then(|n| n.try_into().ok())
        ),
        "source.bytes" => set!(
            ecs.source.bytes,
            integer(value).and_then(|n| n.try_into().ok())
        ),
        "source.packets" => {
            set!(
                ecs.source.packets,
                integer(value).and_then(|n| n.try_into().ok())
            )
        }
        "source.domain" => set!(ecs.source.domain, text(value)),
        "destination.ip" => {
            set!(
                ecs.destination.ip,
                text(value).and_then(|ip| ip.parse().ok())
            )
        }
        "destination.port" => {
            set!(
                ecs.destination.port,
                integer(value).and_then(|n| n.try_into().ok())
            )
        }
        "destination.bytes" => {
            set!(
                ecs.destination.bytes,
                integer(value).and_then(|n| n.try_into().ok())
            )
        }
        "destination.packets" => {
            set!(
                ecs.destination.packets,
                integer(value).and_then(|n| n.try_into().ok())
            )
        }
        "destination.domain" => set!(ecs.destination.domain, text(value)),
        "network.protocol" => set!(ecs.network.protocol, lower(value)),
        "network.transport" => set!(ecs.network.transport, lower(value)),
        "network.direction" => set!(ecs.network.direction, text(value)),
        "network.bytes" => set!(
            ecs.network.bytes,
            integer(value).and_then(|n| n.try_into().ok())
        ),
        "network.packets" => {
            set!(
                ecs.network.packets,
                integer(value).and_then(|n| n.try_into().ok())
            )
        }
        "host.name" => set!(ecs.host.name, text(value)),
        "host.ip" => {
            let texts = list(value);
            let ips: Option<Vec<_>> = texts
                .as_ref()
                .map(|texts| texts.iter().map(|ip| ip.parse().ok()).collect())
                .and_then(|ips: Vec<Option<_>>| ips.into_iter().collect());
            match ips {
                Some(ips) => {
                    ecs.host.ip = ips;
                    true
                }
                None => false,
            }
        }
        "user.name" => set!(ecs.user.name, text(value)),
        "user.domain" => set!(ecs.user.domain, text(value)),
        "user.id" => set!(ecs.user.id, text(value)),
        "process.name" => set!(ecs.process.name, text(value)),
        "process.pid" => set!(
            ecs.process.pid,
            integer(value).and_then(|n| n.try_into().ok())
        ),
        "process.command_line" => set!(ecs.process.command_line, text(value)),
        "process.executable" => set!(ecs.process.executable, text(value)),
        "process.parent.name" => set!(ecs.process.parent.name, text(value)),
        "process.parent.pid" => {
            set!(
                ecs.process.parent.pid,
                integer(value).and_then(|n| n.try_into().ok())
            )
        }
        "process.parent.command_line" => set!(ecs.process.parent.command_line, text(value)),
        "process.parent.executable" => set!(ecs.process.parent.executable, text(value)),
        "file.path" => set!(ecs.file.path, text(value)),
        "file.name" => set!(ecs.file.name, text(value)),
        "file.hash.md5" => set!(ecs.file.hash.md5, lower(value)),
        "file.hash.sha1" => set!(ecs.file.hash.sha1, lower(value)),
        "file.hash.sha256" => set!(ecs.file.hash.sha256, lower(value)),
        "url.full" => set!(ecs.url.full, text(value)),
        "url.domain" => set!(ecs.url.domain, text(value)),
        "url.path" => set!(ecs.url.path, text(value)),
        "dns.question.name" => set!(ecs.dns.question.name, text(value)),
        "dns.question.type" => set!(ecs.dns.question.query_type, text(value)),
        "rule.id" => set!(ecs.rule.id, text(value)),
        "rule.name" => set!(ecs.rule.name, text(value)),
        "rule.category" => set!(ecs.rule.category, text(value)),
        "threat.technique.id" | "threat.technique.subtechnique.id" => {
            extend_list(&mut ecs.threat.technique.id, value)
        }
        "threat.tactic.name" => extend_list(&mut ecs.threat.tactic.name, value),
        _ => false,
    }
}

/// Text from a string, or a number rendered in decimal (`event.code: 4648`).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn lower(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.to_ascii_lowercase()),
        _ => None,
    }
}

/// An integer from a JSON integer or a numeric string.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn timestamp(value: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    match value {
        Value::String(text) => parse_timestamp(text),
        Value::Number(number) => number
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis),
        _ => None,
    }
}

/// A keyword list: one string or an array of strings.
fn list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(text) => Some(vec![text.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn set_list(slot: &mut Vec<String>, value: &Value) -> bool {
    match list(value) {
        Some(items) => {
            *slot = items;
            true
        }
        None => false,
    }
}

fn extend_list(slot: &mut Vec<String>, value: &Value) -> bool {
    match list(value) {
        Some(items) => {
            for item in items {
                if !slot.contains(&item) {
                    slot.push(item);
                }
            }
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::Position;

    use super::*;

    fn parse(line: &str) -> Ingested {
        let parser = EcsJson::new(&Limits::default());
        let record = RawRecord {
            bytes: line.as_bytes().to_vec(),
            position: Position::Line(1),
        };
        let source = SourceInfo {
            source: "/data/ecs.json".to_owned(),
            ingested_at: chrono::Utc::now(),
        };
        let mut out = Vec::new();
        parser.parse(&record, &source, &mut out);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    fn event(line: &str) -> Event {
        match parse(line) {
            Ingested::Event(event) => *event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn maps_nested_and_dotted_fields() {
        let event = event(
            r#"{"@timestamp":"2016-05-23T08:05:34.853Z","event":{"category":"process","type":["start"],"code":4648},"process.pid":4242,"process":{"name":"ssh","parent":{"pid":"1"}},"source.ip":"10.0.0.1","labels":{"env":"production"},"ecs.version":"8.11.0"}"#,
        );
        let ecs = &event.ecs;
        assert!(ecs.timestamp.is_some());
        assert_eq!(ecs.event.category, ["process"]);
        assert_eq!(ecs.event.kind_type, ["start"]);
        assert_eq!(ecs.event.code.as_deref(), Some("4648"));
        assert_eq!(ecs.process.pid, Some(4242));
        assert_eq!(ecs.process.parent.pid, Some(1));
        assert_eq!(ecs.source.ip, "10.0.0.1".parse().ok());
        assert_eq!(event.attributes["labels.env"], "production");
        assert_eq!(event.attributes["ecs.version"], "8.11.0");
    }

    #[test]
    fn keeps_values_that_do_not_fit_their_slot() {
        let event =
            event(r#"{"source":{"ip":"not-an-ip","port":70000},"host":{"ip":["10.0.0.1","x"]}}"#);
        assert_eq!(event.ecs.source.ip, None);
        assert_eq!(event.attributes["source.ip"], "not-an-ip");
        assert_eq!(event.attributes["source.port"], 70000);
        assert_eq!(
            event.attributes["host.ip"],
            serde_json::json!(["10.0.0.1", "x"])
        );
    }

    #[test]
    fn collects_attack_ids_from_threat_arrays() {
        let event = event(
            r#"{"threat":[{"framework":"MITRE ATT&CK","technique":[{"id":"T1218","subtechnique":[{"id":"T1218.010"}]}],"tactic":{"name":"Defense Evasion"}}],"@timestamp":1463990734853}"#,
        );
        assert_eq!(event.ecs.threat.technique.id, ["T1218", "T1218.010"]);
        assert_eq!(event.ecs.threat.tactic.name, ["Defense Evasion"]);
        assert!(event.attributes["threat"].is_array());
        assert_eq!(
            event.ecs.timestamp.map(|t| t.timestamp_millis()),
            Some(1_463_990_734_853)
        );
    }

    #[test]
    fn non_objects_are_dead_letters() {
        for line in ["[]", "42", "{", "\"text\""] {
            assert!(matches!(parse(line), Ingested::DeadLetter(_)), "{line}");
        }
    }
}
