//! The Elastic Common Schema subset that is Rampart's canonical event vocabulary.
//!
//! Field names serialize exactly as ECS spells them (`@timestamp`, `source.ip`,
//! `process.parent.command_line`, …), so an event's JSON is valid ECS. Every group is
//! `Default` and skipped when empty, so readers fill only what their format carries:
//! `ecs.source.ip = Some(ip)`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The ECS fields of one event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ecs {
    /// When the event happened (`@timestamp`), in UTC.
    #[serde(
        rename = "@timestamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<DateTime<Utc>>,
    /// `event.*`: what kind of event this is.
    #[serde(default, skip_serializing_if = "is_default")]
    pub event: EventMeta,
    /// `source.*`: the initiating side of a network exchange.
    #[serde(default, skip_serializing_if = "is_default")]
    pub source: Endpoint,
    /// `destination.*`: the receiving side of a network exchange.
    #[serde(default, skip_serializing_if = "is_default")]
    pub destination: Endpoint,
    /// `network.*`: protocol details.
    #[serde(default, skip_serializing_if = "is_default")]
    pub network: Network,
    /// `host.*`: the host the event was observed on.
    #[serde(default, skip_serializing_if = "is_default")]
    pub host: Host,
    /// `user.*`: the user involved.
    #[serde(default, skip_serializing_if = "is_default")]
    pub user: User,
    /// `process.*`: the process involved.
    #[serde(default, skip_serializing_if = "is_default")]
    pub process: Process,
    /// `file.*`: the file involved.
    #[serde(default, skip_serializing_if = "is_default")]
    pub file: File,
    /// `url.*`: the URL involved.
    #[serde(default, skip_serializing_if = "is_default")]
    pub url: Url,
    /// `dns.*`: the DNS exchange involved.
    #[serde(default, skip_serializing_if = "is_default")]
    pub dns: Dns,
    /// `rule.*`: the upstream rule that produced this event, for alerts from other tools.
    #[serde(default, skip_serializing_if = "is_default")]
    pub rule: Rule,
    /// `threat.*`: ATT&CK classification carried by the source.
    #[serde(default, skip_serializing_if = "is_default")]
    pub threat: Threat,
}

/// `event.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMeta {
    /// `event.kind`: `event`, `alert`, `metric`, `state`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `event.category`: `network`, `process`, `authentication`, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<String>,
    /// `event.type`: `connection`, `start`, `info`, …
    #[serde(rename = "type", default, skip_serializing_if = "Vec::is_empty")]
    pub kind_type: Vec<String>,
    /// `event.action`: the action captured by the event, in the source's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `event.outcome`: `success`, `failure` or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `event.severity`: the source's numeric severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<i64>,
    /// `event.code`: the source's event code (Windows event id, OCSF class uid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `event.provider`: the source's provider or channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `event.dataset`: the source's log name (`zeek.conn`, `suricata.eve`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// `event.duration`: how long the event (a connection, a flow) lasted, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
}

/// `source.*` / `destination.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Bytes sent from this side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Packets sent from this side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
    /// Domain name of this side, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// `network.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Application protocol, lowercase (`http`, `dns`, `tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Transport protocol, lowercase (`tcp`, `udp`, `icmp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// `inbound`, `outbound`, `internal`, `external`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Total bytes in both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Total packets in both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
}

/// `host.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Host IP addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip: Vec<IpAddr>,
}

/// `user.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// User identifier (SID, uid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `process.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// Process name (the executable's file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Full command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// Full path of the executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// `process.parent.*`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub parent: ParentProcess,
}

/// `process.parent.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentProcess {
    /// Parent process name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Parent process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Parent command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// Parent executable path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
}

/// `file.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Full path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `file.hash.*`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub hash: Hashes,
}

/// `*.hash.*` fields, lowercase hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hashes {
    /// MD5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// SHA-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `url.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Url {
    /// The full URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// The URL's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The URL's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `dns.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// `dns.question.*`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub question: DnsQuestion,
}

/// `dns.question.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsQuestion {
    /// The queried name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The query type (`A`, `AAAA`, `TXT`, …).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub query_type: Option<String>,
}

/// `rule.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Rule identifier (e.g. a Suricata signature id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Rule name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Rule category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// `threat.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threat {
    /// `threat.technique.*`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub technique: ThreatTechnique,
    /// `threat.tactic.*`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub tactic: ThreatTactic,
}

/// `threat.technique.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatTechnique {
    /// ATT&CK technique ids, e.g. `T1059.001`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id: Vec<String>,
}

/// `threat.tactic.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatTactic {
    /// ATT&CK tactic names, e.g. `Execution`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<String>,
}

impl Ecs {
    /// The filled fields as dotted ECS paths (`source.ip`, `process.parent.name`, …) with
    /// their JSON values, in path order. Used for field fill rates and rule matching.
    pub fn flatten(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        if let Ok(value) = serde_json::to_value(self) {
            flatten_into(&mut out, String::new(), value);
        }
        out
    }
}

/// Flattens nested JSON objects into dotted paths; arrays and scalars are leaves.
pub fn flatten_into(out: &mut BTreeMap<String, Value>, prefix: String, value: Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_into(out, path, child);
            }
        }
        Value::Null => {}
        leaf => {
            out.insert(prefix, leaf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_ecs_names_and_skips_empty_groups() {
        let mut ecs = Ecs::default();
        ecs.source.ip = Some("10.0.0.1".parse().unwrap());
        ecs.process.parent.command_line = Some("cmd.exe /c whoami".into());
        ecs.event.kind_type = vec!["start".into()];
        let json = serde_json::to_value(&ecs).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "event": {"type": ["start"]},
                "source": {"ip": "10.0.0.1"},
                "process": {"parent": {"command_line": "cmd.exe /c whoami"}}
            })
        );
        let flat = ecs.flatten();
        assert_eq!(
            flat.keys().collect::<Vec<_>>(),
            ["event.type", "process.parent.command_line", "source.ip"]
        );
    }

    #[test]
    fn round_trips_through_json() {
        let mut ecs = Ecs {
            timestamp: Some("2017-03-25T22:49:58.856335Z".parse().unwrap()),
            ..Ecs::default()
        };
        ecs.dns.question.name = Some("example.org".into());
        let text = serde_json::to_string(&ecs).unwrap();
        assert!(text.contains("\"@timestamp\""));
        assert_eq!(serde_json::from_str::<Ecs>(&text).unwrap(), ecs);
    }
}
