//! Suricata EVE JSON, as NDJSON (`eve.json`) or as a JSON array (`alerts-only.json` exports).
//!
//! Every event type keeps the five-tuple, the flow counters and the timestamp in ECS; `alert`,
//! `dns`, `http`, `tls`, `fileinfo`, `flow` and `anomaly` records also fill their own ECS
//! groups (rule, DNS question, URL, TLS server name, file hashes). Everything Suricata says is
//! also kept under `suricata.eve.*` in the attributes, except the tuple fields ECS already
//! holds verbatim. Record layout: <https://docs.suricata.io/en/latest/output/eve/eve-json-format.html>.

use std::sync::Arc;

use rampart_core::{Ecs, Event, Format, Ingested};
use serde_json::Value;

use super::flat_json::parse_flat;
use super::{Delivery, Fields, Input, Limits, RecordParser, RecordSink, protocol_name};
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
        let parsed = parse_flat(&record.bytes, "suricata.eve", &MAPPED, &self.limits)
            .and_then(|flat| Ok((to_ecs(&Fields(&flat.top), &Fields(&flat.attributes))?, flat)));
        match parsed {
            Ok((ecs, flat)) => {
                let raw = String::from_utf8_lossy(&record.bytes).into_owned();
                let mut event = Event::new(ecs, raw, self.provenance(record, source));
                event.attributes = flat.attributes;
                out.push(Ingested::Event(Box::new(event)));
            }
            Err(reason) => out.push(self.dead_letter(record, source, reason)),
        }
    }
}

/// Maps one EVE record to ECS from its tuple fields (`top`) and its flattened attributes
/// (`suricata.eve.*`); the error is the dead-letter reason.
fn to_ecs(top: &Fields<'_>, eve: &Fields<'_>) -> Result<Ecs, String> {
    let mut ecs = Ecs {
        timestamp: top.timestamp("timestamp")?,
        ..Ecs::default()
    };
    let event_type = eve.str("suricata.eve.event_type").unwrap_or_default();
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

    ecs.source.ip = top.ip("src_ip")?;
    ecs.source.port = top.port("src_port")?;
    ecs.destination.ip = top.ip("dest_ip")?;
    ecs.destination.port = top.port("dest_port")?;
    ecs.network.transport = top.text("proto").as_deref().and_then(protocol_name);
    ecs.network.protocol = eve
        .str("suricata.eve.app_proto")
        .and_then(protocol_name)
        .or_else(|| {
            matches!(
                event_type,
                "dns" | "http" | "tls" | "smb" | "ssh" | "ftp" | "smtp" | "dhcp"
            )
            .then(|| event_type.to_owned())
        });
    ecs.host.name = eve.str("suricata.eve.host").map(str::to_owned);

    ecs.source.packets = eve.u64("suricata.eve.flow.pkts_toserver")?;
    ecs.destination.packets = eve.u64("suricata.eve.flow.pkts_toclient")?;
    ecs.source.bytes = eve.u64("suricata.eve.flow.bytes_toserver")?;
    ecs.destination.bytes = eve.u64("suricata.eve.flow.bytes_toclient")?;
    ecs.network.packets = sum(ecs.source.packets, ecs.destination.packets);
    ecs.network.bytes = sum(ecs.source.bytes, ecs.destination.bytes);
    if let (Ok(Some(start)), Ok(Some(end))) = (
        eve.timestamp("suricata.eve.flow.start"),
        eve.timestamp("suricata.eve.flow.end"),
    ) {
        ecs.event.duration = (end - start).num_nanoseconds().filter(|nanos| *nanos >= 0);
    }

    ecs.rule.id = eve.text("suricata.eve.alert.signature_id");
    ecs.rule.name = eve.str("suricata.eve.alert.signature").map(str::to_owned);
    ecs.rule.category = eve.str("suricata.eve.alert.category").map(str::to_owned);
    ecs.event.severity = eve.i64("suricata.eve.alert.severity")?;
    ecs.event.action = eve.str("suricata.eve.alert.action").map(str::to_owned);
    ecs.threat.technique.id = strings(eve.get("suricata.eve.alert.metadata.mitre_technique_id"));
    ecs.threat.tactic.name = strings(eve.get("suricata.eve.alert.metadata.mitre_tactic_name"));
    map_dns(&mut ecs, eve);
    map_http(&mut ecs, eve);
    if let Some(sni) = eve.str("suricata.eve.tls.sni") {
        ecs.destination.domain = Some(sni.to_owned());
    }
    map_file(&mut ecs, eve);
    if let Some(anomaly) = eve.str("suricata.eve.anomaly.event") {
        ecs.event.action = Some(anomaly.to_owned());
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
fn map_dns(ecs: &mut Ecs, eve: &Fields<'_>) {
    let first_query = eve
        .get("suricata.eve.dns.queries")
        .and_then(Value::as_array)
        .and_then(|queries| queries.first())
        .and_then(Value::as_object)
        .map(Fields);
    if let Some(query) = first_query {
        ecs.dns.question.name = query.str("rrname").map(str::to_owned);
        ecs.dns.question.query_type = query.str("rrtype").map(str::to_owned);
    } else {
        ecs.dns.question.name = eve.str("suricata.eve.dns.rrname").map(str::to_owned);
        ecs.dns.question.query_type = eve.str("suricata.eve.dns.rrtype").map(str::to_owned);
    }
}

fn map_http(ecs: &mut Ecs, eve: &Fields<'_>) {
    let host = eve.str("suricata.eve.http.hostname").map(str::to_owned);
    let target = eve.str("suricata.eve.http.url").map(str::to_owned);
    if let Some(host) = &host {
        ecs.url.domain = Some(host.clone());
        ecs.destination.domain = Some(host.clone());
    }
    if let Some(target) = &target {
        let path = target.split(['?', '#']).next().unwrap_or(target);
        ecs.url.path = Some(path.to_owned());
        ecs.url.full = Some(match (&host, target.starts_with('/')) {
            (Some(host), true) => {
                let port = eve
                    .u64("suricata.eve.http.http_port")
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

fn map_file(ecs: &mut Ecs, eve: &Fields<'_>) {
    if let Some(path) = eve.str("suricata.eve.fileinfo.filename") {
        ecs.file.path = Some(path.to_owned());
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        if !name.is_empty() {
            ecs.file.name = Some(name.to_owned());
        }
    }
    let hash = |key: &str| eve.str(key).map(str::to_ascii_lowercase);
    ecs.file.hash.md5 = hash("suricata.eve.fileinfo.md5");
    ecs.file.hash.sha1 = hash("suricata.eve.fileinfo.sha1");
    ecs.file.hash.sha256 = hash("suricata.eve.fileinfo.sha256");
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
