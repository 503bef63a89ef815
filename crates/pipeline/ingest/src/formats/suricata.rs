//! Suricata EVE JSON, as NDJSON (`eve.json`) or as a JSON array (`alerts-only.json` exports).
//!
//! Every event type keeps the five-tuple, the flow counters and the timestamp in ECS; `alert`,
//! `dns`, `http`, `tls`, `fileinfo`, `flow` and `anomaly` records also fill their own ECS
//! groups (rule, DNS question, URL, TLS server name, file hashes). Everything Suricata says is
//! also kept under `suricata.eve.*` in the attributes, except the tuple fields ECS already
//! holds verbatim. Record layout: <https://docs.suricata.io/en/latest/output/eve/eve-json-format.html>.

use std::sync::Arc;

use rampart_core::{Ecs, Event, Format, Ingested};
use serde_json::{Map, Value};

use super::{
    Delivery, Fields, Input, Limits, RecordParser, RecordSink, parse_json_object, protocol_name,
};
use crate::{RawRecord, SourceInfo, frame};

/// Parser name and version recorded in provenance.
const PARSER_ID: &str = "suricata-eve/1";

/// Top-level keys whose values ECS holds exactly, left out of the attributes.
const MAPPED: [&str; 6] = [
    "timestamp",
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "proto",
];

/// Reads one EVE input (lines or an array).
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let parser: Arc<dyn RecordParser> = Arc::new(SuricataEve {
        limits: limits.clone(),
    });
    let mut sink = RecordSink::new(Arc::clone(&input.source), parser, limits, deliver);
    frame::json_records(input, limits, &mut sink);
    sink.finish();
}

/// Parses EVE records into ECS events.
pub(crate) struct SuricataEve {
    limits: Limits,
}

impl RecordParser for SuricataEve {
    fn format(&self) -> Format {
        Format::SuricataEve
    }

    fn parser_id(&self) -> &'static str {
        PARSER_ID
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        let parsed = parse_json_object(&record.bytes, &self.limits).and_then(|object| {
            let ecs = to_ecs(&Fields(&object))?;
            Ok((ecs, object))
        });
        match parsed {
            Ok((ecs, object)) => {
                let raw = String::from_utf8_lossy(&record.bytes).into_owned();
                let mut event = Event::new(ecs, raw, self.provenance(record, source));
                let mut attributes = Map::new();
                super::flatten_attributes(&mut attributes, "suricata.eve", object, &MAPPED);
                event.attributes = attributes;
                out.push(Ingested::Event(Box::new(event)));
            }
            Err(reason) => out.push(self.dead_letter(record, source, reason)),
        }
    }
}

/// Maps one EVE record to ECS; the error is the dead-letter reason.
fn to_ecs(eve: &Fields<'_>) -> Result<Ecs, String> {
    let mut ecs = Ecs {
        timestamp: eve.timestamp("timestamp")?,
        ..Ecs::default()
    };
    let event_type = eve.str("event_type").unwrap_or_default();
    ecs.event.dataset = Some("suricata.eve".to_owned());
    ecs.event.kind = Some(
        if event_type == "alert" {
            "alert"
        } else {
            "event"
        }
        .to_owned(),
    );
    let (categories, types): (&[&str], &[&str]) = match event_type {
        "alert" => (&["network", "intrusion_detection"], &["info"]),
        "flow" | "netflow" => (&["network"], &["connection"]),
        "http" => (&["network", "web"], &["protocol", "access"]),
        "fileinfo" => (&["network", "file"], &["info"]),
        "anomaly" => (&["network"], &["info"]),
        _ => (&["network"], &["protocol"]),
    };
    ecs.event.category = categories.iter().map(|&c| c.to_owned()).collect();
    ecs.event.kind_type = types.iter().map(|&t| t.to_owned()).collect();

    ecs.source.ip = eve.ip("src_ip")?;
    ecs.source.port = eve.port("src_port")?;
    ecs.destination.ip = eve.ip("dest_ip")?;
    ecs.destination.port = eve.port("dest_port")?;
    ecs.network.transport = eve.text("proto").as_deref().and_then(protocol_name);
    ecs.network.protocol = eve.str("app_proto").and_then(protocol_name).or_else(|| {
        matches!(
            event_type,
            "dns" | "http" | "tls" | "smb" | "ssh" | "ftp" | "smtp" | "dhcp"
        )
        .then(|| event_type.to_owned())
    });
    ecs.host.name = eve.str("host").map(str::to_owned);

    if let Some(flow) = eve.object("flow") {
        ecs.source.packets = flow.u64("pkts_toserver")?;
        ecs.destination.packets = flow.u64("pkts_toclient")?;
        ecs.source.bytes = flow.u64("bytes_toserver")?;
        ecs.destination.bytes = flow.u64("bytes_toclient")?;
        ecs.network.packets = sum(ecs.source.packets, ecs.destination.packets);
        ecs.network.bytes = sum(ecs.source.bytes, ecs.destination.bytes);
        if let (Ok(Some(start)), Ok(Some(end))) = (flow.timestamp("start"), flow.timestamp("end")) {
            ecs.event.duration = (end - start).num_nanoseconds().filter(|nanos| *nanos >= 0);
        }
    }
    if let Some(alert) = eve.object("alert") {
        ecs.rule.id = alert.text("signature_id");
        ecs.rule.name = alert.str("signature").map(str::to_owned);
        ecs.rule.category = alert.str("category").map(str::to_owned);
        ecs.event.severity = alert.i64("severity")?;
        ecs.event.action = alert.str("action").map(str::to_owned);
        if let Some(metadata) = alert.object("metadata") {
            ecs.threat.technique.id = strings(metadata.get("mitre_technique_id"));
            ecs.threat.tactic.name = strings(metadata.get("mitre_tactic_name"));
        }
    }
    if let Some(dns) = eve.object("dns") {
        map_dns(&mut ecs, &dns);
    }
    if let Some(http) = eve.object("http") {
        map_http(&mut ecs, &http);
    }
    if let Some(sni) = eve.object("tls").and_then(|tls| tls.str("sni")) {
        ecs.destination.domain = Some(sni.to_owned());
    }
    if let Some(file) = eve.object("fileinfo") {
        map_file(&mut ecs, &file);
    }
    if let Some(anomaly) = eve.object("anomaly") {
        ecs.event.action = anomaly.str("event").map(str::to_owned);
    }
    Ok(ecs)
}

fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// A string or an array of strings, as a list.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The DNS question: `rrname`/`rrtype` (v1, v2) or the first of `queries` (v3).
fn map_dns(ecs: &mut Ecs, dns: &Fields<'_>) {
    let first_query = dns
        .get("queries")
        .and_then(Value::as_array)
        .and_then(|queries| queries.first())
        .and_then(Value::as_object)
        .map(Fields);
    let question = first_query.as_ref().unwrap_or(dns);
    ecs.dns.question.name = question.str("rrname").map(str::to_owned);
    ecs.dns.question.query_type = question.str("rrtype").map(str::to_owned);
}

fn map_http(ecs: &mut Ecs, http: &Fields<'_>) {
    let host = http.str("hostname").map(str::to_owned);
    let target = http.str("url").map(str::to_owned);
    if let Some(host) = &host {
        ecs.url.domain = Some(host.clone());
        ecs.destination.domain = Some(host.clone());
    }
    if let Some(target) = &target {
        let path = target.split(['?', '#']).next().unwrap_or(target);
        ecs.url.path = Some(path.to_owned());
        ecs.url.full = Some(match (&host, target.starts_with('/')) {
            (Some(host), true) => {
                let port = http
                    .u64("http_port")
                    .ok()
                    .flatten()
                    .map(|port| format!(":{port}"))
                    .unwrap_or_default();
                format!("http://{host}{port}{target}")
            }
            _ => target.clone(),
        });
    }
}

fn map_file(ecs: &mut Ecs, file: &Fields<'_>) {
    if let Some(path) = file.str("filename") {
        ecs.file.path = Some(path.to_owned());
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        if !name.is_empty() {
            ecs.file.name = Some(name.to_owned());
        }
    }
    let hash = |key: &str| file.str(key).map(str::to_ascii_lowercase);
    ecs.file.hash.md5 = hash("md5");
    ecs.file.hash.sha1 = hash("sha1");
    ecs.file.hash.sha256 = hash("sha256");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::Position;

    fn parse(line: &str) -> Ingested {
        let parser = SuricataEve {
            limits: Limits::default(),
        };
        let record = RawRecord {
            bytes: line.as_bytes().to_vec(),
            position: Position::Line(1),
        };
        let source = SourceInfo {
            source: "/eve.json".into(),
            ingested_at: chrono::Utc::now(),
        };
        let mut out = Vec::new();
        parser.parse(&record, &source, &mut out);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn alert_maps_rule_tuple_and_flow_counters() {
        let Ingested::Event(event) = parse(
            r#"{"timestamp":"2018-03-24T14:37:19.037299-0600","flow_id":1,"event_type":"alert","src_ip":"10.0.0.1","src_port":26078,"dest_ip":"10.47.8.150","dest_port":22,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2},"flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":74,"bytes_toclient":0}}"#,
        ) else {
            panic!("expected an event");
        };
        let ecs = &event.ecs;
        assert_eq!(
            ecs.timestamp.unwrap().to_rfc3339(),
            "2018-03-24T20:37:19.037299+00:00"
        );
        assert_eq!(ecs.event.kind.as_deref(), Some("alert"));
        assert_eq!(ecs.rule.id.as_deref(), Some("2001219"));
        assert_eq!(ecs.event.severity, Some(2));
        assert_eq!(ecs.network.transport.as_deref(), Some("tcp"));
        assert_eq!(ecs.source.bytes, Some(74));
        assert_eq!(ecs.network.bytes, Some(74));
        assert_eq!(event.attributes["suricata.eve.alert.gid"], 1);
        assert!(!event.attributes.contains_key("suricata.eve.src_ip"));
    }

    fn parse_bytes(bytes: &[u8]) -> Vec<Ingested> {
        let parser = SuricataEve {
            limits: Limits::default(),
        };
        let record = RawRecord {
            bytes: bytes.to_vec(),
            position: Position::Offset(0),
        };
        let source = SourceInfo {
            source: "/eve.json".into(),
            ingested_at: chrono::Utc::now(),
        };
        let mut out = Vec::new();
        parser.parse(&record, &source, &mut out);
        out
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_yield_exactly_one_item(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            proptest::prop_assert_eq!(parse_bytes(&bytes).len(), 1);
        }

        #[test]
        fn alerts_round_trip(
            src in proptest::prelude::any::<std::net::Ipv4Addr>(),
            dst in proptest::prelude::any::<std::net::Ipv6Addr>(),
            ports in proptest::prelude::any::<(u16, u16)>(),
            sid in proptest::prelude::any::<u32>(),
            severity in 1i64..4,
            proto in "TCP|UDP|ICMP|SCTP",
            counts in proptest::prelude::any::<(u32, u32, u16, u16)>(),
            seconds in 0i64..4_000_000_000,
            micros in 0u32..1_000_000,
        ) {
            let time = chrono::DateTime::from_timestamp(seconds, micros * 1000).unwrap();
            let line = serde_json::json!({
                "timestamp": time.format("%Y-%m-%dT%H:%M:%S%.6f+0000").to_string(),
                "event_type": "alert",
                "src_ip": src, "src_port": ports.0, "dest_ip": dst, "dest_port": ports.1,
                "proto": proto,
                "alert": {"signature_id": sid, "signature": "sig", "category": "cat", "severity": severity},
                "flow": {"bytes_toserver": counts.0, "bytes_toclient": counts.1, "pkts_toserver": counts.2, "pkts_toclient": counts.3},
            });
            let out = parse_bytes(line.to_string().as_bytes());
            let [Ingested::Event(event)] = out.as_slice() else {
                panic!("{out:?}");
            };
            let ecs = &event.ecs;
            proptest::prop_assert_eq!(ecs.timestamp, Some(time));
            proptest::prop_assert_eq!(ecs.source.ip, Some(std::net::IpAddr::V4(src)));
            proptest::prop_assert_eq!(ecs.destination.ip, Some(std::net::IpAddr::V6(dst)));
            proptest::prop_assert_eq!((ecs.source.port, ecs.destination.port), (Some(ports.0), Some(ports.1)));
            proptest::prop_assert_eq!(ecs.rule.id.clone(), Some(sid.to_string()));
            proptest::prop_assert_eq!(ecs.event.severity, Some(severity));
            proptest::prop_assert_eq!(ecs.network.transport.clone(), Some(proto.to_ascii_lowercase()));
            proptest::prop_assert_eq!(ecs.network.bytes, Some(u64::from(counts.0) + u64::from(counts.1)));
            proptest::prop_assert_eq!(ecs.network.packets, Some(u64::from(counts.2) + u64::from(counts.3)));
        }
    }

    #[test]
    fn bad_values_are_dead_letters() {
        for line in [
            r#"{"event_type":"alert","src_port":70000}"#,
            r#"{"event_type":"alert","src_ip":"not-an-ip"}"#,
            r#"{"event_type":"alert","timestamp":"yesterday"}"#,
            r#"{"event_type":"alert""#,
            r"[1,2]",
        ] {
            assert!(matches!(parse(line), Ingested::DeadLetter(_)), "{line}");
        }
    }
}
