//! Zeek logs: TSV with `#separator`/`#fields`/`#types` headers, and JSON lines.
//!
//! TSV headers are tracked line by line, so a header that changes mid-file (logs
//! concatenated across a restart) switches the parser for the rows that follow. Columns are
//! typed by `#types` (`time`, `count`, `bool`, `set[string]`, …); `#unset_field` values are
//! left out and `#empty_field` values become empty strings or sets. The `conn`, `dns`, `http`,
//! `ssl`, `files` and `notice` logs fill ECS groups; every log (also `weird`, `sip`, `ssh`,
//! `tunnel`, …) keeps its id fields in ECS and its other columns under `zeek.<log>.*`.
//!
//! Stratosphere's labelled logs add `label` and `detailedlabel` columns (or IoT-23's single
//! `tunnel_parents   label   detailed-label` column): they become the event's
//! [`GroundTruth`], never attributes.

mod labels;
mod tsv;

use std::sync::Arc;

use rampart_core::{Ecs, Event, FeatureRecord, FeatureValue, Format, GroundTruth, Ingested};
use serde_json::{Map, Value};

use super::{
    Delivery, Fields, Input, Limits, RecordParser, RecordSink, parse_json_object, protocol_name,
};
use crate::frame::{Line, LineReader, is_blank};
use crate::{Frame, RawRecord, SourceInfo};

use tsv::Header;

/// Parser name and version recorded in provenance.
const PARSER_ID: &str = "zeek/1";

/// Reads one Zeek log, TSV or JSON lines.
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let log = log_from_file_name(input.file_name());
    let json: Arc<dyn RecordParser> = Arc::new(ZeekJson {
        log: log.clone(),
        limits: limits.clone(),
    });
    let mut sink = RecordSink::new(
        Arc::clone(&input.source),
        Arc::clone(&json),
        limits,
        deliver,
    );
    let mut header = Header::default();
    let mut header_changed = true;
    let mut json_mode = true;
    let mut lines = LineReader::new(input.reader, limits);
    while let Some(line) = lines.next_line() {
        let (bytes, number) = match line {
            Line::Text { bytes, number, .. } => (bytes, number),
            Line::Bad(frame) => {
                sink.push(frame);
                continue;
            }
        };
        if is_blank(&bytes) {
            continue;
        }
        if bytes.first() == Some(&b'#') {
            header.apply(&bytes);
            header_changed = true;
            continue;
        }
        let is_json = bytes
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|&byte| byte == b'{');
        if is_json && !json_mode {
            sink.set_parser(Arc::clone(&json));
            json_mode = true;
        } else if !is_json && (json_mode || header_changed) {
            sink.set_parser(Arc::new(header.parser(log.as_deref(), limits)));
            json_mode = false;
            header_changed = false;
        }
        sink.push(Frame::Record(RawRecord {
            bytes,
            position: rampart_core::Position::Line(number),
        }));
    }
    sink.finish();
}

/// The log name a file name implies: `conn` for `conn.log`, `conn.log.gz`,
/// `conn.log.labeled`, `labeled-conn.log` and `conn.00:00:00-01:00:00.log.gz`.
pub(crate) fn log_from_file_name(file_name: &str) -> Option<String> {
    let stem = file_name.split('.').next().unwrap_or(file_name);
    let stem = stem.strip_prefix("labeled-").unwrap_or(stem);
    let valid = !stem.is_empty()
        && stem
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    valid.then(|| stem.to_owned())
}

/// The log name the fields imply, when neither `#path`, `_path` nor the file name says.
fn log_from_fields(object: &Map<String, Value>) -> &'static str {
    let has = |key: &str| object.contains_key(key);
    if has("conn_state") || has("orig_ip_bytes") {
        "conn"
    } else if has("qtype_name") || has("rcode_name") {
        "dns"
    } else if has("method") && has("uri") && has("status_code") {
        "http"
    } else if has("server_name") && has("cipher") {
        "ssl"
    } else if has("fuid") && (has("mime_type") || has("seen_bytes")) {
        "files"
    } else if has("note") {
        "notice"
    } else {
        "unknown"
    }
}

/// Parses Zeek JSON lines.
pub(crate) struct ZeekJson {
    log: Option<String>,
    limits: Limits,
}

impl RecordParser for ZeekJson {
    fn format(&self) -> Format {
        Format::Zeek
    }

    fn parser_id(&self) -> &'static str {
        PARSER_ID
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        let result = parse_json_object(&record.bytes, &self.limits).and_then(|mut object| {
            let log = match object.remove("_path") {
                Some(Value::String(path)) => path,
                _ => self
                    .log
                    .clone()
                    .unwrap_or_else(|| log_from_fields(&object).to_owned()),
            };
            build(&log, object)
        });
        push(self, record, source, result, out);
    }
}

/// What one Zeek row becomes.
pub(crate) struct ZeekRecord {
    ecs: Ecs,
    attributes: Map<String, Value>,
    features: Option<FeatureRecord>,
    ground_truth: Option<GroundTruth>,
}

/// Pushes the event or the dead letter for one parsed row.
fn push(
    parser: &dyn RecordParser,
    record: &RawRecord,
    source: &SourceInfo,
    result: Result<ZeekRecord, String>,
    out: &mut Vec<Ingested>,
) {
    match result {
        Ok(row) => {
            let raw = String::from_utf8_lossy(&record.bytes).into_owned();
            let mut event = Event::new(row.ecs, raw, parser.provenance(record, source));
            event.attributes = row.attributes;
            event.features = row.features;
            event.ground_truth = row.ground_truth;
            out.push(Ingested::Event(Box::new(event)));
        }
        Err(reason) => out.push(parser.dead_letter(record, source, reason)),
    }
}

/// Maps one row (typed JSON values by Zeek field name) of log `log` to ECS.
pub(crate) fn build(log: &str, mut object: Map<String, Value>) -> Result<ZeekRecord, String> {
    let ground_truth = labels::take_ground_truth(&mut object);
    let fields = Fields(&object);
    let mut ecs = Ecs {
        timestamp: match fields.get("ts") {
            Some(Value::Number(number)) => number.as_f64().and_then(super::unix_seconds),
            Some(Value::String(_)) => fields.timestamp("ts")?,
            Some(other) => return Err(format!("`ts` is not a time: `{other}`")),
            None => None,
        },
        ..Ecs::default()
    };
    ecs.event.kind = Some("event".to_owned());
    ecs.event.dataset = Some(format!("zeek.{log}"));
    ecs.event.category = vec!["network".to_owned()];
    ecs.source.ip = fields.ip("id.orig_h")?;
    ecs.source.port = fields.port("id.orig_p")?;
    ecs.destination.ip = fields.ip("id.resp_h")?;
    ecs.destination.port = fields.port("id.resp_p")?;
    ecs.network.transport = fields.str("proto").and_then(protocol_name);
    match log {
        "conn" => map_conn(&mut ecs, &fields)?,
        "dns" => {
            ecs.event.kind_type = vec!["protocol".to_owned()];
            ecs.network.protocol = Some("dns".to_owned());
            ecs.dns.question.name = fields.str("query").map(str::to_owned);
            ecs.dns.question.query_type = fields.str("qtype_name").map(str::to_owned);
        }
        "http" => map_http(&mut ecs, &fields),
        "ssl" => {
            ecs.event.kind_type = vec!["protocol".to_owned()];
            ecs.network.protocol = Some("tls".to_owned());
            ecs.destination.domain = fields.str("server_name").map(str::to_owned);
        }
        "files" => map_files(&mut ecs, &fields),
        "notice" => map_notice(&mut ecs, &fields)?,
        "weird" => ecs.event.action = fields.str("name").map(str::to_owned),
        "ssh" => {
            ecs.network.protocol = Some("ssh".to_owned());
            ecs.event.outcome = match fields.get("auth_success") {
                Some(Value::Bool(true)) => Some("success".to_owned()),
                Some(Value::Bool(false)) => Some("failure".to_owned()),
                _ => None,
            };
        }
        _ => {}
    }
    let features = (log == "conn").then(|| conn_features(&object));
    let mut attributes = Map::new();
    let prefix = format!("zeek.{log}");
    for (key, value) in object {
        if matches!(
            key.as_str(),
            "ts" | "id.orig_h" | "id.orig_p" | "id.resp_h" | "id.resp_p"
        ) {
            continue;
        }
        attributes.insert(format!("{prefix}.{key}"), value);
    }
    Ok(ZeekRecord {
        ecs,
        attributes,
        features,
        ground_truth,
    })
}

/// The feature layout of Zeek `conn` records.
pub const CONN_LAYOUT: &str = "zeek-conn";

/// The `zeek-conn` columns and whether each is categorical: every `conn.log` field a model can
/// learn from. Timestamps, connection ids, addresses, the source port, tunnel parents and labels
/// are left out, so a model learns behaviour rather than who talked or when.
const CONN_FEATURES: [(&str, bool); 15] = [
    ("id.resp_p", false),
    ("proto", true),
    ("service", true),
    ("duration", false),
    ("orig_bytes", false),
    ("resp_bytes", false),
    ("conn_state", true),
    ("local_orig", false),
    ("local_resp", false),
    ("missed_bytes", false),
    ("history", true),
    ("orig_pkts", false),
    ("orig_ip_bytes", false),
    ("resp_pkts", false),
    ("resp_ip_bytes", false),
];

/// The flow features of a `conn` row. Every column is always present so rows line up: an
/// unset number is NaN (the model's contract decides), an unset category is `-` (Zeek's own
/// spelling of "unset"), a boolean is 1 or 0.
fn conn_features(object: &Map<String, Value>) -> FeatureRecord {
    let values = CONN_FEATURES
        .iter()
        .map(|&(name, categorical)| {
            let value = object.get(name);
            let feature = if categorical {
                FeatureValue::Category(match value {
                    Some(Value::String(s)) if !s.is_empty() => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => "-".to_owned(),
                })
            } else {
                FeatureValue::Number(match value {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
                    Some(Value::Bool(b)) => f64::from(u8::from(*b)),
                    Some(Value::String(s)) => s.parse().unwrap_or(f64::NAN),
                    _ => f64::NAN,
                })
            };
            (name.to_owned(), feature)
        })
        .collect();
    FeatureRecord {
        layout: CONN_LAYOUT.to_owned(),
        values,
    }
}

fn map_conn(ecs: &mut Ecs, fields: &Fields<'_>) -> Result<(), String> {
    ecs.event.kind_type = vec!["connection".to_owned()];
    ecs.event.duration = fields
        .get("duration")
        .and_then(Value::as_f64)
        .and_then(super::seconds_to_nanos);
    ecs.network.protocol = fields
        .str("service")
        .and_then(|service| service.split(',').next())
        .and_then(protocol_name)
        // Zeek calls TLS `ssl`; other sensors (and ECS users) say `tls`.
        .map(|service| {
            if service == "ssl" {
                "tls".to_owned()
            } else {
                service
            }
        });
    // IP-level byte counts where Zeek has them, comparable with other sensors' flow bytes.
    ecs.source.bytes = fields.u64("orig_ip_bytes")?.or(fields.u64("orig_bytes")?);
    ecs.destination.bytes = fields.u64("resp_ip_bytes")?.or(fields.u64("resp_bytes")?);
    ecs.source.packets = fields.u64("orig_pkts")?;
    ecs.destination.packets = fields.u64("resp_pkts")?;
    ecs.network.bytes = add(ecs.source.bytes, ecs.destination.bytes);
    ecs.network.packets = add(ecs.source.packets, ecs.destination.packets);
    let local = |key: &str| match fields.get(key) {
        Some(Value::Bool(flag)) => Some(*flag),
        _ => None,
    };
    ecs.network.direction = match (local("local_orig"), local("local_resp")) {
        (Some(true), Some(true)) => Some("internal".to_owned()),
        (Some(true), Some(false)) => Some("outbound".to_owned()),
        (Some(false), Some(true)) => Some("inbound".to_owned()),
        (Some(false), Some(false)) => Some("external".to_owned()),
        _ => None,
    };
    Ok(())
}

fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

fn map_http(ecs: &mut Ecs, fields: &Fields<'_>) {
    ecs.event.category.push("web".to_owned());
    ecs.event.kind_type = vec!["protocol".to_owned(), "access".to_owned()];
    ecs.network.protocol = Some("http".to_owned());
    let host = fields.str("host").map(str::to_owned);
    let uri = fields.str("uri").map(str::to_owned);
    ecs.url.domain.clone_from(&host);
    ecs.destination.domain.clone_from(&host);
    if let Some(uri) = uri {
        ecs.url.path = uri.split(['?', '#']).next().map(str::to_owned);
        ecs.url.full = Some(match &host {
            Some(host) if uri.starts_with('/') => match ecs.destination.port {
                Some(80) | None => format!("http://{host}{uri}"),
                Some(port) => format!("http://{host}:{port}{uri}"),
            },
            _ => uri,
        });
    }
}

fn map_files(ecs: &mut Ecs, fields: &Fields<'_>) {
    ecs.event.category.push("file".to_owned());
    ecs.event.kind_type = vec!["info".to_owned()];
    ecs.file.name = fields.str("filename").map(str::to_owned);
    let hash = |key: &str| fields.str(key).map(str::to_ascii_lowercase);
    ecs.file.hash.md5 = hash("md5");
    ecs.file.hash.sha1 = hash("sha1");
    ecs.file.hash.sha256 = hash("sha256");
    // Files have no five-tuple; the first transmitting and receiving hosts stand in for it.
    let first_ip = |key: &str| {
        let value = fields.get(key)?;
        let text = match value {
            Value::Array(items) => items.first()?.as_str()?,
            Value::String(text) => text.as_str(),
            _ => return None,
        };
        super::parse_ip(text)
    };
    ecs.source.ip = ecs.source.ip.or_else(|| first_ip("tx_hosts"));
    ecs.destination.ip = ecs.destination.ip.or_else(|| first_ip("rx_hosts"));
}

fn map_notice(ecs: &mut Ecs, fields: &Fields<'_>) -> Result<(), String> {
    ecs.event.kind = Some("alert".to_owned());
    ecs.event.category.push("intrusion_detection".to_owned());
    ecs.event.kind_type = vec!["info".to_owned()];
    ecs.rule.name = fields.str("note").map(str::to_owned);
    if ecs.source.ip.is_none() {
        ecs.source.ip = fields.ip("src")?;
    }
    if ecs.destination.ip.is_none() {
        ecs.destination.ip = fields.ip("dst")?;
    }
    if ecs.destination.port.is_none() {
        ecs.destination.port = fields.port("p")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReadOptions, read_bytes_all};

    fn events(name: &str, text: &str) -> Vec<Ingested> {
        read_bytes_all(name, text.as_bytes(), &ReadOptions::default())
    }

    #[test]
    fn json_lines_take_the_log_from_the_file_name() {
        let read = events(
            "/x/conn.log",
            r#"{"ts":1664464851.198729,"uid":"CwZp","id.orig_h":"172.16.1.11","id.orig_p":35357,"id.resp_h":"172.16.1.1","id.resp_p":443,"proto":"tcp","conn_state":"S0","local_orig":true,"local_resp":true,"orig_pkts":1,"orig_ip_bytes":44,"resp_pkts":0,"resp_ip_bytes":0}"#,
        );
        let [Ingested::Event(event)] = read.as_slice() else {
            panic!("{read:?}");
        };
        assert_eq!(event.ecs.event.dataset.as_deref(), Some("zeek.conn"));
        assert_eq!(event.ecs.network.direction.as_deref(), Some("internal"));
        assert_eq!(event.ecs.network.bytes, Some(44));
        assert_eq!(event.attributes["zeek.conn.conn_state"], "S0");
        // Every conn row carries the same feature columns; unset ones are NaN or `-`.
        let features = event.features.as_ref().unwrap();
        assert_eq!(features.layout, CONN_LAYOUT);
        assert_eq!(features.values.len(), CONN_FEATURES.len());
        let value = |name: &str| &features.values.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(value("conn_state"), &FeatureValue::Category("S0".into()));
        assert_eq!(value("local_orig"), &FeatureValue::Number(1.0));
        assert_eq!(value("orig_ip_bytes"), &FeatureValue::Number(44.0));
        assert_eq!(value("service"), &FeatureValue::Category("-".into()));
        assert!(matches!(value("duration"), FeatureValue::Number(x) if x.is_nan()));
    }

    #[test]
    fn header_change_mid_file_switches_columns() {
        let text = "#separator \\x09\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n1.5\texample.org\n#fields\tts\tquery\tqtype_name\n#types\ttime\tstring\tstring\n2.5\texample.net\tAAAA\n";
        let read = events("/x/dns.log", text);
        let names: Vec<_> = read
            .iter()
            .map(|item| match item {
                Ingested::Event(event) => (
                    event.ecs.dns.question.name.clone(),
                    event.ecs.dns.question.query_type.clone(),
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                (Some("example.org".to_owned()), None),
                (Some("example.net".to_owned()), Some("AAAA".to_owned()))
            ]
        );
    }

    #[test]
    fn file_names_give_log_names() {
        for (name, log) in [
            ("conn.log", "conn"),
            ("conn.log.labeled", "conn"),
            ("labeled-conn.log", "conn"),
            ("dns.00:00:00-01:00:00.log.gz", "dns"),
        ] {
            assert_eq!(log_from_file_name(name).as_deref(), Some(log));
        }
    }
}
