//! Field mapping: Sigma field names to where ingested events keep the values.
//!
//! Sigma's Windows rules name the fields of the Windows event XML (`Image`, `CommandLine`,
//! `EventID`, …). Windows events are ingested with every event data field under
//! `winlog.event_data.<Name>` and the system fields under `winlog.*`, so those names resolve
//! there first. Events of the same category but another shape (Security 4688 has
//! `NewProcessName` where Sysmon 1 has `Image`; ECS JSON has only `process.executable`) fall
//! back to the ECS field the ingest stage filled from them. Dotted names (`process.name`,
//! `zeek.dns.query`) are ECS paths or attribute paths as written.
//!
//! Each distinct name resolves once, at load time, into a [`FieldSpec`] of lookups tried in
//! order; the first one present on an event supplies the value.

use std::borrow::Cow;

use rampart_core::Event;
use serde_json::Value;

/// Where one value can be found in an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Lookup {
    /// An attribute under its dotted path.
    Attr(String),
    /// A typed ECS field.
    Ecs(EcsField),
    /// Security 4688's `MandatoryLabel` SID as the integrity level name Sysmon writes
    /// (`S-1-16-12288` → `High`), for Sigma's `IntegrityLevel`.
    IntegrityFromLabel,
}

/// The integrity level a mandatory label SID stands for.
fn integrity_level(label: &str) -> Option<&'static str> {
    Some(match label.trim().to_ascii_uppercase().as_str() {
        "S-1-16-0" => "Untrusted",
        "S-1-16-4096" => "Low",
        "S-1-16-8192" => "Medium",
        "S-1-16-8448" => "MediumPlus",
        "S-1-16-12288" => "High",
        "S-1-16-16384" => "System",
        "S-1-16-20480" => "ProtectedProcess",
        _ => return None,
    })
}

/// The ECS fields rules can read directly from [`rampart_core::Ecs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EcsField {
    EventKind,
    EventCategory,
    EventType,
    EventAction,
    EventOutcome,
    EventCode,
    EventProvider,
    EventDataset,
    SourceIp,
    SourcePort,
    SourceDomain,
    DestinationIp,
    DestinationPort,
    DestinationDomain,
    NetworkProtocol,
    NetworkTransport,
    NetworkDirection,
    HostName,
    HostIp,
    UserName,
    UserDomain,
    UserId,
    /// `DOMAIN\name` when the domain is known, else the name: Sigma's `User` shape.
    UserQualified,
    ProcessName,
    ProcessPid,
    ProcessCommandLine,
    ProcessExecutable,
    ParentName,
    ParentPid,
    ParentCommandLine,
    ParentExecutable,
    FilePath,
    FileName,
    FileMd5,
    FileSha1,
    FileSha256,
    UrlFull,
    UrlDomain,
    UrlPath,
    DnsQuestionName,
    DnsQuestionType,
    RuleId,
    RuleName,
    RuleCategory,
}

impl EcsField {
    /// The typed field stored under an ECS dotted path.
    pub(crate) fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            "event.kind" => Self::EventKind,
            "event.category" => Self::EventCategory,
            "event.type" => Self::EventType,
            "event.action" => Self::EventAction,
            "event.outcome" => Self::EventOutcome,
            "event.code" => Self::EventCode,
            "event.provider" => Self::EventProvider,
            "event.dataset" => Self::EventDataset,
            "source.ip" => Self::SourceIp,
            "source.port" => Self::SourcePort,
            "source.domain" => Self::SourceDomain,
            "destination.ip" => Self::DestinationIp,
            "destination.port" => Self::DestinationPort,
            "destination.domain" => Self::DestinationDomain,
            "network.protocol" => Self::NetworkProtocol,
            "network.transport" => Self::NetworkTransport,
            "network.direction" => Self::NetworkDirection,
            "host.name" => Self::HostName,
            "host.ip" => Self::HostIp,
            "user.name" => Self::UserName,
            "user.domain" => Self::UserDomain,
            "user.id" => Self::UserId,
            "process.name" => Self::ProcessName,
            "process.pid" => Self::ProcessPid,
            "process.command_line" => Self::ProcessCommandLine,
            "process.executable" => Self::ProcessExecutable,
            "process.parent.name" => Self::ParentName,
            "process.parent.pid" => Self::ParentPid,
            "process.parent.command_line" => Self::ParentCommandLine,
            "process.parent.executable" => Self::ParentExecutable,
            "file.path" => Self::FilePath,
            "file.name" => Self::FileName,
            "file.hash.md5" => Self::FileMd5,
            "file.hash.sha1" => Self::FileSha1,
            "file.hash.sha256" => Self::FileSha256,
            "url.full" => Self::UrlFull,
            "url.domain" => Self::UrlDomain,
            "url.path" => Self::UrlPath,
            "dns.question.name" => Self::DnsQuestionName,
            "dns.question.type" => Self::DnsQuestionType,
            "rule.id" => Self::RuleId,
            "rule.name" => Self::RuleName,
            "rule.category" => Self::RuleCategory,
            _ => return None,
        })
    }

    /// Appends the field's values (as text) from `event`.
    fn read<'e>(self, event: &'e Event, out: &mut Vec<Cow<'e, str>>) {
        let ecs = &event.ecs;
        let text = |value: &'e Option<String>, out: &mut Vec<Cow<'e, str>>| {
            if let Some(value) = value {
                out.push(Cow::Borrowed(value.as_str()));
            }
        };
        let shown = |value: Option<String>, out: &mut Vec<Cow<'e, str>>| {
            if let Some(value) = value {
                out.push(Cow::Owned(value));
            }
        };
        match self {
            Self::EventKind => text(&ecs.event.kind, out),
            Self::EventCategory => out.extend(ecs.event.category.iter().map(|c| c.as_str().into())),
            Self::EventType => out.extend(ecs.event.kind_type.iter().map(|c| c.as_str().into())),
            Self::EventAction => text(&ecs.event.action, out),
            Self::EventOutcome => text(&ecs.event.outcome, out),
            Self::EventCode => text(&ecs.event.code, out),
            Self::EventProvider => text(&ecs.event.provider, out),
            Self::EventDataset => text(&ecs.event.dataset, out),
            Self::SourceIp => shown(ecs.source.ip.map(|ip| ip.to_string()), out),
            Self::SourcePort => shown(ecs.source.port.map(|p| p.to_string()), out),
            Self::SourceDomain => text(&ecs.source.domain, out),
            Self::DestinationIp => shown(ecs.destination.ip.map(|ip| ip.to_string()), out),
            Self::DestinationPort => shown(ecs.destination.port.map(|p| p.to_string()), out),
            Self::DestinationDomain => text(&ecs.destination.domain, out),
            Self::NetworkProtocol => text(&ecs.network.protocol, out),
            Self::NetworkTransport => text(&ecs.network.transport, out),
            Self::NetworkDirection => text(&ecs.network.direction, out),
            Self::HostName => text(&ecs.host.name, out),
            Self::HostIp => out.extend(ecs.host.ip.iter().map(|ip| ip.to_string().into())),
            Self::UserName => text(&ecs.user.name, out),
            Self::UserDomain => text(&ecs.user.domain, out),
            Self::UserId => text(&ecs.user.id, out),
            Self::UserQualified => match (&ecs.user.domain, &ecs.user.name) {
                (Some(domain), Some(name)) => out.push(Cow::Owned(format!("{domain}\\{name}"))),
                (None, Some(name)) => out.push(Cow::Borrowed(name.as_str())),
                _ => {}
            },
            Self::ProcessName => text(&ecs.process.name, out),
            Self::ProcessPid => shown(ecs.process.pid.map(|p| p.to_string()), out),
            Self::ProcessCommandLine => text(&ecs.process.command_line, out),
            Self::ProcessExecutable => text(&ecs.process.executable, out),
            Self::ParentName => text(&ecs.process.parent.name, out),
            Self::ParentPid => shown(ecs.process.parent.pid.map(|p| p.to_string()), out),
            Self::ParentCommandLine => text(&ecs.process.parent.command_line, out),
            Self::ParentExecutable => text(&ecs.process.parent.executable, out),
            Self::FilePath => text(&ecs.file.path, out),
            Self::FileName => text(&ecs.file.name, out),
            Self::FileMd5 => text(&ecs.file.hash.md5, out),
            Self::FileSha1 => text(&ecs.file.hash.sha1, out),
            Self::FileSha256 => text(&ecs.file.hash.sha256, out),
            Self::UrlFull => text(&ecs.url.full, out),
            Self::UrlDomain => text(&ecs.url.domain, out),
            Self::UrlPath => text(&ecs.url.path, out),
            Self::DnsQuestionName => text(&ecs.dns.question.name, out),
            Self::DnsQuestionType => text(&ecs.dns.question.query_type, out),
            Self::RuleId => text(&ecs.rule.id, out),
            Self::RuleName => text(&ecs.rule.name, out),
            Self::RuleCategory => text(&ecs.rule.category, out),
        }
    }
}

/// The ECS fields the ingest stage fills from Windows event data, by Sigma field name: the
/// fallback for events whose event data spells the field differently (Security 4688) or
/// that have no event data at all (ECS JSON).
fn ecs_fallback(name: &str) -> &'static [EcsField] {
    use EcsField as F;
    match name {
        "Image" | "NewProcessName" => &[F::ProcessExecutable],
        "CommandLine" => &[F::ProcessCommandLine],
        "ParentImage" | "ParentProcessName" => &[F::ParentExecutable],
        "ParentCommandLine" => &[F::ParentCommandLine],
        "ProcessId" | "NewProcessId" => &[F::ProcessPid],
        "ParentProcessId" => &[F::ParentPid],
        "User" => &[F::UserQualified],
        "TargetFilename" | "ImageLoaded" => &[F::FilePath],
        "QueryName" => &[F::DnsQuestionName],
        "DestinationIp" => &[F::DestinationIp],
        "DestinationPort" => &[F::DestinationPort],
        "DestinationHostname" => &[F::DestinationDomain],
        "SourceIp" => &[F::SourceIp],
        "SourcePort" => &[F::SourcePort],
        "SourceHostname" => &[F::SourceDomain],
        "Protocol" => &[F::NetworkTransport],
        "md5" => &[F::FileMd5],
        "sha1" => &[F::FileSha1],
        "sha256" => &[F::FileSha256],
        _ => &[],
    }
}

/// Which family of event shapes a rule's logsource targets; decides how its field names
/// resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    /// Windows event logs (`winlog.*` attributes).
    Windows,
    /// Zeek logs of one type (`zeek.<log>.*` attributes); the name is the log type.
    Zeek,
    /// ECS-shaped events from any other source.
    Ecs,
}

/// How one Sigma field name resolves: lookups tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FieldSpec {
    /// The field name as the rule writes it.
    pub name: String,
    /// Where to look, first present wins.
    pub lookups: Vec<Lookup>,
}

impl FieldSpec {
    /// Resolves a Sigma field name for a family of event shapes; `zeek_log` names the Zeek
    /// log type (`dns`, `http`) for [`Family::Zeek`].
    pub(crate) fn resolve(name: &str, family: Family, zeek_log: Option<&str>) -> Self {
        let mut lookups = Vec::new();
        if name.contains('.') {
            if let Some(field) = EcsField::from_path(name) {
                lookups.push(Lookup::Ecs(field));
            }
            lookups.push(Lookup::Attr(name.to_owned()));
            return Self {
                name: name.to_owned(),
                lookups,
            };
        }
        match family {
            Family::Windows => {
                let system = match name {
                    "EventID" => Some("winlog.event_id"),
                    "Channel" => Some("winlog.channel"),
                    "Provider_Name" | "ProviderName" => Some("winlog.provider_name"),
                    "Computer" | "ComputerName" => Some("winlog.computer_name"),
                    "EventRecordID" => Some("winlog.record_id"),
                    _ => None,
                };
                if let Some(path) = system {
                    lookups.push(Lookup::Attr(path.to_owned()));
                } else {
                    lookups.push(Lookup::Attr(format!("winlog.event_data.{name}")));
                    lookups.push(Lookup::Attr(format!("winlog.user_data.{name}")));
                    let system_value = match name {
                        "Level" => Some("winlog.level"),
                        "Task" => Some("winlog.task"),
                        "Opcode" => Some("winlog.opcode"),
                        "Keywords" => Some("winlog.keywords"),
                        "Version" => Some("winlog.version"),
                        "ScriptBlockText" => Some("powershell.file.script_block_text"),
                        _ => None,
                    };
                    if let Some(path) = system_value {
                        lookups.push(Lookup::Attr(path.to_owned()));
                    }
                }
                if matches!(name, "Computer" | "ComputerName") {
                    lookups.push(Lookup::Ecs(EcsField::HostName));
                }
                if name == "IntegrityLevel" {
                    lookups.push(Lookup::IntegrityFromLabel);
                }
                lookups.extend(ecs_fallback(name).iter().copied().map(Lookup::Ecs));
                // Defender and a few other providers name event data with spaces
                // (`Threat Name`) where Sigma rules write `ThreatName`.
                let spaced = spaced(name);
                if system.is_none() && spaced != name {
                    lookups.push(Lookup::Attr(format!("winlog.event_data.{spaced}")));
                }
            }
            Family::Zeek => {
                let log = zeek_log.unwrap_or("conn");
                match name {
                    "id.orig_h" => lookups.push(Lookup::Ecs(EcsField::SourceIp)),
                    "id.orig_p" => lookups.push(Lookup::Ecs(EcsField::SourcePort)),
                    "id.resp_h" => lookups.push(Lookup::Ecs(EcsField::DestinationIp)),
                    "id.resp_p" => lookups.push(Lookup::Ecs(EcsField::DestinationPort)),
                    _ => lookups.push(Lookup::Attr(format!("zeek.{log}.{name}"))),
                }
            }
            Family::Ecs => {
                lookups.extend(ecs_fallback(name).iter().copied().map(Lookup::Ecs));
                lookups.push(Lookup::Attr(name.to_owned()));
            }
        }
        Self {
            name: name.to_owned(),
            lookups,
        }
    }

    /// Appends the field's values from `event` as text; returns whether the field is present
    /// (a present field may be an empty string).
    pub(crate) fn read<'e>(&self, event: &'e Event, out: &mut Vec<Cow<'e, str>>) -> bool {
        for lookup in &self.lookups {
            let before = out.len();
            match lookup {
                Lookup::Attr(path) => {
                    if let Some(value) = event.attributes.get(path) {
                        push_value(value, out);
                        if out.len() > before || !value.is_null() {
                            return true;
                        }
                    }
                }
                Lookup::Ecs(field) => {
                    field.read(event, out);
                    if out.len() > before {
                        return true;
                    }
                }
                Lookup::IntegrityFromLabel => {
                    let level = event
                        .attributes
                        .get("winlog.event_data.MandatoryLabel")
                        .and_then(Value::as_str)
                        .and_then(integrity_level);
                    if let Some(level) = level {
                        out.push(Cow::Borrowed(level));
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// `ThreatName` as `Threat Name`: a space before every capital that follows a lowercase
/// letter.
fn spaced(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push(' ');
        }
        previous_lower = c.is_ascii_lowercase();
        out.push(c);
    }
    out
}

/// Appends a JSON value as text: strings as they are, numbers and booleans in decimal, the
/// elements of arrays one by one; objects and nulls add nothing.
pub(crate) fn push_value<'e>(value: &'e Value, out: &mut Vec<Cow<'e, str>>) {
    match value {
        Value::String(text) => out.push(Cow::Borrowed(text.as_str())),
        Value::Number(number) => out.push(Cow::Owned(number.to_string())),
        Value::Bool(flag) => out.push(Cow::Borrowed(if *flag { "true" } else { "false" })),
        Value::Array(items) => {
            for item in items {
                if !item.is_array() {
                    push_value(item, out);
                }
            }
        }
        Value::Object(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names_resolve_to_event_data_then_ecs() {
        let spec = FieldSpec::resolve("Image", Family::Windows, None);
        assert_eq!(
            spec.lookups,
            [
                Lookup::Attr("winlog.event_data.Image".into()),
                Lookup::Attr("winlog.user_data.Image".into()),
                Lookup::Ecs(EcsField::ProcessExecutable)
            ]
        );
        let spec = FieldSpec::resolve("EventID", Family::Windows, None);
        assert_eq!(spec.lookups, [Lookup::Attr("winlog.event_id".into())]);
        let spec = FieldSpec::resolve("query", Family::Zeek, Some("dns"));
        assert_eq!(spec.lookups, [Lookup::Attr("zeek.dns.query".into())]);
        let spec = FieldSpec::resolve("process.command_line", Family::Windows, None);
        assert_eq!(spec.lookups[0], Lookup::Ecs(EcsField::ProcessCommandLine));
    }
}
