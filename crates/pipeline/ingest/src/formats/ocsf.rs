//! Open Cybersecurity Schema Framework (OCSF) events, mapped onto ECS.
//!
//! A record is one OCSF event object (JSON lines, a JSON array of them, or pretty-printed
//! events one after another, as the OCSF examples are written) with an integer `class_uid`;
//! one without is a dead letter. Every OCSF field is kept under
//! `ocsf.<dotted path>` in `attributes` (arrays as values), so rules can match OCSF names; the
//! fields below also fill the typed ECS slots.
//!
//! | OCSF | ECS | classes |
//! |---|---|---|
//! | `time` (epoch ms; values below 10^11 read as seconds), else `time_dt` | `@timestamp` | all |
//! | `class_uid` | `event.code` | all |
//! | `class_uid` | `event.dataset` (`ocsf.network_activity`, …) | all |
//! | `activity_name` (or the `type_name` suffix), kebab-case | `event.action` | all |
//! | `category_uid` 2 (findings) | `event.kind: alert`, else `event` | all |
//! | `severity_id` | `event.severity` | all |
//! | `duration` (ms) | `event.duration` (ns) | all |
//! | `status_id` 1 / 2 (or `status`) | `event.outcome` `success` / `failure` | all |
//! | `metadata.product.name` | `event.provider` | all |
//! | `device.hostname` (or `device.name`), `device.ip` | `host.name`, `host.ip` | all |
//! | `src_endpoint.ip` / `.port` / `.hostname` (or `.domain`) | `source.ip` / `.port` / `.domain` | all |
//! | `dst_endpoint.ip` / `.port` / `.hostname` (or `.domain`) | `destination.ip` / `.port` / `.domain` | all |
//! | `actor.user.name` / `.uid` / `.domain` | `user.name` / `.id` / `.domain` | all but 3002 |
//! | `connection_info.protocol_name` (or `protocol_num`) | `network.transport` | 4001–4003 |
//! | `connection_info.direction` | `network.direction` (`inbound`, `outbound`, `internal`) | 4001–4003 |
//! | `app_name` | `network.protocol` | 4001 |
//! | `traffic.bytes_out` / `.packets_out` | `source.bytes` / `.packets` | 4001–4003 |
//! | `traffic.bytes_in` / `.packets_in` | `destination.bytes` / `.packets` | 4001–4003 |
//! | `traffic.bytes` / `.packets` | `network.bytes` / `.packets` | 4001–4003 |
//! | `http_request.url.url_string` / `.hostname` / `.path` | `url.full` / `.domain` / `.path`; `network.protocol: http` | 4002 |
//! | `query.hostname` / `query.type` | `dns.question.name` / `.type`; `network.protocol: dns` | 4003 |
//! | `user.name` / `.uid` / `.domain` (else `actor.user.*`) | `user.*` | 3002 |
//! | `process.name` (or `process.file.name`), `.pid`, `.cmd_line`, `.file.path` | `process.name`, `.pid`, `.command_line`, `.executable` | 1007 |
//! | `process.parent_process.*` (else `actor.process.*`) | `process.parent.*` | 1007 |
//! | `finding_info.title` (or `.analytic.name`), `.analytic.uid` (or `.uid`), `.types[0]` | `rule.name`, `rule.id`, `rule.category` | 2004 (and 2001 `finding`) |
//! | `finding_info.attacks[].technique.uid`, `.sub_technique.uid`, `.tactic.name` | `threat.technique.id`, `threat.tactic.name` | 2004 |
//! | `evidences[0].src_endpoint` / `.dst_endpoint` / `.process` | `source.*` / `destination.*` / `process.*` when not set | 2004 |
//!
//! `event.category` and `event.type` by class: 4001 `network` / `connection` (+ `start`, `end`,
//! `denied` by activity), 4002 `network`, `web` / `access`, 4003 `network` / `protocol`, 3002
//! `authentication` / `start` (logon), `end` (logoff), 1007 `process` / `start`, `end`,
//! `access`, `change` by activity, 2004 `intrusion_detection` / `info`.

use std::net::IpAddr;
use std::sync::Arc;

use rampart_core::{Ecs, Endpoint, Event, Format, Ingested};
use serde_json::{Map, Value};

use super::windows::{check_depth, json_documents};
use super::{
    Delivery, Input, Limits, RecordParser, RecordSink, flatten_attributes, parse_json_object,
    parse_timestamp,
};
use crate::{RawRecord, SourceInfo};

/// Reads one input of OCSF events: JSON lines, a JSON array, or pretty-printed documents.
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let parser: Arc<dyn RecordParser> = Arc::new(OcsfJson::new(limits));
    let mut sink = RecordSink::new(Arc::clone(&input.source), parser, limits, deliver);
    json_documents(input, limits, &mut sink);
    sink.finish();
}

/// Parses OCSF events.
#[derive(Debug, Clone)]
pub(crate) struct OcsfJson {
    limits: Limits,
}

impl OcsfJson {
    /// A parser with the given caps.
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
        }
    }

    fn event(&self, record: &RawRecord, source: &SourceInfo) -> Result<Event, String> {
        check_depth(&record.bytes, &self.limits)?;
        let object = parse_json_object(&record.bytes, &self.limits)?;
        let class = object
            .get("class_uid")
            .and_then(Value::as_u64)
            .ok_or_else(|| "not an OCSF event: no integer `class_uid`".to_owned())?;
        let ecs = map(&object, class);
        let mut attributes = Map::new();
        flatten_attributes(&mut attributes, "ocsf", object, &[]);
        let raw = String::from_utf8_lossy(&record.bytes).into_owned();
        let mut event = Event::new(ecs, raw, self.provenance(record, source));
        event.attributes = attributes;
        Ok(event)
    }
}

impl RecordParser for OcsfJson {
    fn format(&self) -> Format {
        Format::Ocsf
    }

    fn parser_id(&self) -> &'static str {
        "ocsf/1"
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        match self.event(record, source) {
            Ok(event) => out.push(Ingested::Event(Box::new(event))),
            Err(reason) => out.push(self.dead_letter(record, source, reason)),
        }
    }
}

/// Looks up a dotted path (`src_endpoint.ip`) in an object.
fn at<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut value = object.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

fn text(object: &Map<String, Value>, path: &str) -> Option<String> {
    match at(object, path)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn number(object: &Map<String, Value>, path: &str) -> Option<i64> {
    match at(object, path)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn unsigned<T: TryFrom<i64>>(object: &Map<String, Value>, path: &str) -> Option<T> {
    number(object, path).and_then(|n| T::try_from(n).ok())
}

fn kebab(text: &str) -> String {
    text.trim().to_ascii_lowercase().replace([' ', '_'], "-")
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|&item| item.to_owned()).collect()
}

fn dataset(class: u64) -> String {
    let name = match class {
        1001 => "file_activity",
        1007 => "process_activity",
        2001 => "security_finding",
        2004 => "detection_finding",
        3001 => "account_change",
        3002 => "authentication",
        3005 => "user_access",
        4001 => "network_activity",
        4002 => "http_activity",
        4003 => "dns_activity",
        6003 => "api_activity",
        _ => return format!("ocsf.class_{class}"),
    };
    format!("ocsf.{name}")
}

fn map(object: &Map<String, Value>, class: u64) -> Ecs {
    let timestamp = match at(object, "time") {
        Some(Value::Number(time)) => time.as_i64().and_then(|time| {
            if time.abs() < 100_000_000_000 {
                chrono::DateTime::from_timestamp(time, 0)
            } else {
                chrono::DateTime::from_timestamp_millis(time)
            }
        }),
        _ => None,
    }
    .or_else(|| text(object, "time_dt").as_deref().and_then(parse_timestamp));
    let mut ecs = Ecs {
        timestamp,
        ..Ecs::default()
    };
    let event = &mut ecs.event;
    event.code = Some(class.to_string());
    event.dataset = Some(dataset(class));
    event.kind = Some(
        if number(object, "category_uid") == Some(2) || class / 1000 == 2 {
            "alert"
        } else {
            "event"
        }
        .to_owned(),
    );
    event.action = text(object, "activity_name")
        .or_else(|| {
            text(object, "type_name").and_then(|name| {
                name.rsplit_once(": ")
                    .map(|(_, activity)| activity.to_owned())
            })
        })
        .map(|name| kebab(&name));
    event.severity = number(object, "severity_id");
    // OCSF durations are milliseconds; ECS's are nanoseconds.
    event.duration = number(object, "duration").and_then(|ms| ms.checked_mul(1_000_000));
    event.outcome = match (
        number(object, "status_id"),
        text(object, "status").as_deref(),
    ) {
        (Some(1), _) | (_, Some("Success")) => Some("success".to_owned()),
        (Some(2), _) | (_, Some("Failure")) => Some("failure".to_owned()),
        _ => None,
    };
    event.provider = text(object, "metadata.product.name");
    ecs.host.name = text(object, "device.hostname").or_else(|| text(object, "device.name"));
    ecs.host.ip = text(object, "device.ip")
        .and_then(|ip| ip.parse().ok())
        .into_iter()
        .collect();
    endpoint(&mut ecs.source, object, "src_endpoint");
    endpoint(&mut ecs.destination, object, "dst_endpoint");
    actor_user(&mut ecs, object, "actor.user");
    let activity = number(object, "activity_id");
    match class {
        4001..=4003 => network(&mut ecs, object, class, activity),
        3002 => {
            ecs.event.category = strings(&["authentication"]);
            ecs.event.kind_type = strings(match activity {
                Some(1) => &["start"],
                Some(2) => &["end"],
                _ => &["info"],
            });
            if at(object, "user").is_some() {
                actor_user(&mut ecs, object, "user");
            }
        }
        1007 => process(&mut ecs, object, activity),
        2001 | 2004 => finding(&mut ecs, object),
        _ => {}
    }
    ecs
}

fn endpoint(endpoint: &mut Endpoint, object: &Map<String, Value>, prefix: &str) {
    endpoint.ip = text(object, &format!("{prefix}.ip")).and_then(|ip| ip.parse::<IpAddr>().ok());
    endpoint.port = unsigned(object, &format!("{prefix}.port")).filter(|&port: &u16| port != 0);
    endpoint.domain = text(object, &format!("{prefix}.hostname"))
        .or_else(|| text(object, &format!("{prefix}.domain")));
}

fn actor_user(ecs: &mut Ecs, object: &Map<String, Value>, prefix: &str) {
    let name = text(object, &format!("{prefix}.name"));
    if name.is_none() && text(object, &format!("{prefix}.uid")).is_none() {
        return;
    }
    ecs.user.name = name;
    ecs.user.id = text(object, &format!("{prefix}.uid"));
    ecs.user.domain = text(object, &format!("{prefix}.domain"));
}

fn network(ecs: &mut Ecs, object: &Map<String, Value>, class: u64, activity: Option<i64>) {
    ecs.network.transport = text(object, "connection_info.protocol_name")
        .map(|name| name.to_ascii_lowercase())
        .or_else(|| match number(object, "connection_info.protocol_num") {
            Some(1) => Some("icmp".to_owned()),
            Some(6) => Some("tcp".to_owned()),
            Some(17) => Some("udp".to_owned()),
            _ => None,
        });
    ecs.network.direction = match text(object, "connection_info.direction").as_deref() {
        Some("Inbound") => Some("inbound".to_owned()),
        Some("Outbound") => Some("outbound".to_owned()),
        Some("Lateral") => Some("internal".to_owned()),
        _ => None,
    };
    ecs.source.bytes = unsigned(object, "traffic.bytes_out");
    ecs.source.packets = unsigned(object, "traffic.packets_out");
    ecs.destination.bytes = unsigned(object, "traffic.bytes_in");
    ecs.destination.packets = unsigned(object, "traffic.packets_in");
    ecs.network.bytes = unsigned(object, "traffic.bytes");
    ecs.network.packets = unsigned(object, "traffic.packets");
    match class {
        4001 => {
            ecs.network.protocol = text(object, "app_name").map(|name| name.to_ascii_lowercase());
            ecs.event.category = strings(&["network"]);
            ecs.event.kind_type = strings(match activity {
                Some(1 | 7) => &["connection", "start"],
                Some(2 | 3) => &["connection", "end"],
                Some(5) => &["connection", "denied"],
                _ => &["connection"],
            });
        }
        4002 => {
            ecs.network.protocol = Some("http".to_owned());
            ecs.event.category = strings(&["network", "web"]);
            ecs.event.kind_type = strings(&["access"]);
            ecs.url.full = text(object, "http_request.url.url_string");
            ecs.url.domain = text(object, "http_request.url.hostname");
            ecs.url.path = text(object, "http_request.url.path");
        }
        _ => {
            ecs.network.protocol = Some("dns".to_owned());
            ecs.event.category = strings(&["network"]);
            ecs.event.kind_type = strings(&["protocol"]);
            ecs.dns.question.name = text(object, "query.hostname");
            ecs.dns.question.query_type = text(object, "query.type");
        }
    }
}

fn process(ecs: &mut Ecs, object: &Map<String, Value>, activity: Option<i64>) {
    ecs.event.category = strings(&["process"]);
    ecs.event.kind_type = strings(match activity {
        Some(1) => &["start"],
        Some(2) => &["end"],
        Some(3) => &["access"],
        Some(4 | 5) => &["change"],
        _ => &["info"],
    });
    let process = &mut ecs.process;
    process.name = text(object, "process.name").or_else(|| text(object, "process.file.name"));
    process.pid = unsigned(object, "process.pid");
    process.command_line = text(object, "process.cmd_line");
    process.executable = text(object, "process.file.path");
    let parent = if at(object, "process.parent_process").is_some() {
        "process.parent_process"
    } else {
        "actor.process"
    };
    process.parent.name = text(object, &format!("{parent}.name"))
        .or_else(|| text(object, &format!("{parent}.file.name")));
    process.parent.pid = unsigned(object, &format!("{parent}.pid"));
    process.parent.command_line = text(object, &format!("{parent}.cmd_line"));
    process.parent.executable = text(object, &format!("{parent}.file.path"));
}

fn finding(ecs: &mut Ecs, object: &Map<String, Value>) {
    ecs.event.category = strings(&["intrusion_detection"]);
    ecs.event.kind_type = strings(&["info"]);
    let info = if at(object, "finding_info").is_some() {
        "finding_info"
    } else {
        "finding"
    };
    ecs.rule.name = text(object, &format!("{info}.title"))
        .or_else(|| text(object, &format!("{info}.analytic.name")));
    ecs.rule.id = text(object, &format!("{info}.analytic.uid"))
        .or_else(|| text(object, &format!("{info}.uid")));
    ecs.rule.category = match at(object, &format!("{info}.types")) {
        Some(Value::Array(types)) => types.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let attacks = at(object, &format!("{info}.attacks")).or_else(|| at(object, "attacks"));
    for attack in attacks.and_then(Value::as_array).into_iter().flatten() {
        let Some(attack) = attack.as_object() else {
            continue;
        };
        for path in ["technique.uid", "sub_technique.uid"] {
            if let Some(id) = text(attack, path)
                && !ecs.threat.technique.id.contains(&id)
            {
                ecs.threat.technique.id.push(id);
            }
        }
        if let Some(tactic) = text(attack, "tactic.name")
            && !ecs.threat.tactic.name.contains(&tactic)
        {
            ecs.threat.tactic.name.push(tactic);
        }
    }
    let evidence = at(object, "evidences")
        .and_then(Value::as_array)
        .and_then(|items| items.first())
        .and_then(Value::as_object);
    if let Some(evidence) = evidence {
        if ecs.source == Endpoint::default() {
            endpoint(&mut ecs.source, evidence, "src_endpoint");
        }
        if ecs.destination == Endpoint::default() {
            endpoint(&mut ecs.destination, evidence, "dst_endpoint");
        }
        if ecs.process.pid.is_none() && ecs.process.name.is_none() {
            ecs.process.name = text(evidence, "process.name");
            ecs.process.pid = unsigned(evidence, "process.pid");
            ecs.process.command_line = text(evidence, "process.cmd_line");
            ecs.process.executable = text(evidence, "process.file.path");
        }
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::Position;

    use super::*;

    fn parse(line: &str) -> Ingested {
        let parser = OcsfJson::new(&Limits::default());
        let record = RawRecord {
            bytes: line.as_bytes().to_vec(),
            position: Position::Line(1),
        };
        let source = SourceInfo {
            source: "/data/ocsf.json".to_owned(),
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
    fn maps_network_activity_with_seconds_or_millis() {
        let event = event(
            r#"{"class_uid":4001,"category_uid":4,"activity_id":6,"activity_name":"Traffic","time":1752247584000,"severity_id":1,"src_endpoint":{"ip":"1.2.3.4","port":8080},"dst_endpoint":{"ip":"1.2.3.5","port":8864},"connection_info":{"protocol_num":6,"direction":"Outbound"},"traffic":{"bytes":38526,"packets":8},"metadata":{"product":{"name":"Amazon VPC"}}}"#,
        );
        let ecs = &event.ecs;
        assert_eq!(ecs.timestamp.map(|t| t.timestamp()), Some(1_752_247_584));
        assert_eq!(ecs.event.action.as_deref(), Some("traffic"));
        assert_eq!(ecs.event.dataset.as_deref(), Some("ocsf.network_activity"));
        assert_eq!(ecs.network.transport.as_deref(), Some("tcp"));
        assert_eq!(ecs.network.direction.as_deref(), Some("outbound"));
        assert_eq!(ecs.network.bytes, Some(38_526));
        assert_eq!(ecs.destination.port, Some(8864));
        assert_eq!(event.attributes["ocsf.metadata.product.name"], "Amazon VPC");
        let seconds = event_time(r#"{"class_uid":4003,"time":1729165829}"#);
        assert_eq!(seconds, Some(1_729_165_829));
    }

    fn event_time(line: &str) -> Option<i64> {
        event(line).ecs.timestamp.map(|t| t.timestamp())
    }

    #[test]
    fn maps_findings_with_attacks_as_alerts() {
        let event = event(
            r#"{"class_uid":2004,"category_uid":2,"activity_id":1,"finding_info":{"title":"Suspicious logon","uid":"f-1","attacks":[{"technique":{"uid":"T1078","name":"Valid Accounts"},"tactic":{"uid":"TA0001","name":"Initial Access"}}]},"evidences":[{"src_endpoint":{"ip":"10.0.0.1"}}]}"#,
        );
        assert_eq!(event.ecs.event.kind.as_deref(), Some("alert"));
        assert_eq!(event.ecs.rule.name.as_deref(), Some("Suspicious logon"));
        assert_eq!(event.ecs.rule.id.as_deref(), Some("f-1"));
        assert_eq!(event.ecs.threat.technique.id, ["T1078"]);
        assert_eq!(event.ecs.threat.tactic.name, ["Initial Access"]);
        assert_eq!(event.ecs.source.ip, "10.0.0.1".parse().ok());
    }

    #[test]
    fn records_without_class_uid_are_dead_letters() {
        for line in [
            r#"{"class_name":"x"}"#,
            r#"{"class_uid":"4001"}"#,
            "[]",
            "nope",
        ] {
            assert!(matches!(parse(line), Ingested::DeadLetter(_)), "{line}");
        }
    }
}
