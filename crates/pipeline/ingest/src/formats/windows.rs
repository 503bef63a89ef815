//! Windows events exported as JSON, flat or nested, mapped onto ECS.
//!
//! Reads both shapes exporters write (see [`record`]): nested `Event.System` /
//! `Event.EventData` as `evtx_dump` renders it (JSON lines, a JSON array, or pretty-printed
//! objects one after another as in the Sigma regression events), and flat nxlog-style records
//! (OTRF Security-Datasets, Splunk `attack_data`). The native EVTX reader hands its records to
//! the same parser.
//!
//! Every event keeps its source fields for rule matching, under the names Sigma's Windows
//! field mappings use:
//!
//! | attribute | from |
//! |---|---|
//! | `winlog.channel`, `winlog.event_id`, `winlog.provider_name`, `winlog.provider_guid`, `winlog.computer_name`, `winlog.record_id` | `System` (flat: `Channel`, `EventID`, `SourceName`, `ProviderGuid`, `Hostname`, `RecordNumber`) |
//! | `winlog.task`, `winlog.opcode`, `winlog.level`, `winlog.keywords`, `winlog.version`, `winlog.process.pid`, `winlog.process.thread.id`, `winlog.user.identifier` | the other `System` values |
//! | `winlog.event_data.<Name>` | every `EventData` field, values as strings; unnamed `Data` items under `Data` |
//! | `winlog.user_data.<Name>` | the fields of the `UserData` element |
//! | `message`, `tags` | the rendered message and tags of flat exports |
//!
//! ECS fields common to all events: `@timestamp` (`System.TimeCreated`; flat: `@timestamp`,
//! `TimeCreated`, Sysmon's `UtcTime`, then nxlog's `EventTime` read as UTC), `event.kind`
//! (`event`), `event.code` (event id), `event.provider`, `host.name` (`Computer`).
//! Per channel:
//!
//! | channel | events | ECS fields |
//! |---|---|---|
//! | Sysmon | 1 process create | `process.*` from `ProcessId`, `Image`, `CommandLine`; `process.parent.*` from `Parent*`; `user.*` from `User`; `process.hash.*` attributes from `Hashes` |
//! | Sysmon | 3 network | `source.ip/port/domain`, `destination.ip/port/domain`, `network.transport`, `network.direction` (`Initiated`) |
//! | Sysmon | 6, 7 driver / image load | `file.path`, `file.name` (`ImageLoaded`), `file.hash.*` |
//! | Sysmon | 8, 10 remote thread / process access | `process.*` from `SourceProcessId`, `SourceImage`; `user.*` from `SourceUser` |
//! | Sysmon | 2, 11, 15, 23, 26–29 file events | `file.path`, `file.name` (`TargetFilename`), `file.hash.*` |
//! | Sysmon | 12, 13, 14 registry | `registry.path`, `registry.data.strings` attributes |
//! | Sysmon | 17, 18 pipes | `file.name` (`PipeName`) |
//! | Sysmon | 22 DNS | `dns.question.name` (`QueryName`), `network.protocol: dns` |
//! | Security | 4624, 4625, 4634, 4647, 4648, 4768, 4769, 4771, 4776 | `user.*` from `Target*`; `source.ip/port` from `IpAddress`, `IpPort`; `source.domain` from `WorkstationName`; `event.outcome` from the audit keywords |
//! | Security | 4688, 4689 | `process.*` from `NewProcessId`, `NewProcessName`, `CommandLine`; `process.parent.*` from `ProcessId`, `ParentProcessName`; `user.*` from `Subject*` |
//! | Security | 4672, 4697, 4698–4702, 4720–4740, 4798, 4799, 1102, … | `user.*` from `Subject*`; service and task names as attributes |
//! | Security | 5156–5159 (filtering platform) | `process.*` (`ProcessID`, `Application`), `source.*`, `destination.*`, `network.transport`, `network.direction` |
//! | PowerShell | 4104 | `powershell.file.script_block_text` / `_id` attributes, `file.path` (`Path`) |
//! | PowerShell | 4103, 400, 403, 600, 800 | `process.command_line`, `process.executable` (`Host Application`), `user.*`, `powershell.command.name` |
//! | System | 7045, 7036, 7040 | `service.name`, `service.executable` attributes |
//! | Defender | 1116, 1117 | `event.kind: alert`, `rule.name` (threat), `file.path`, `process.executable`, `user.*` |
//!
//! `event.action`, `event.category` and `event.type` follow the ECS categorisation values
//! (`process-created` / `process` / `start`, `logged-in` / `authentication` / `start`, …).

mod fields;
mod powershell;
mod record;
mod security;
mod stream;
mod sysmon;
mod system;

pub(super) use stream::{check_depth, json_documents};

use std::sync::Arc;

use rampart_core::{Event, Format, Ingested};
use serde_json::{Map, Value};

use super::{Delivery, Input, Limits, RecordParser, RecordSink, parse_json_object};
use crate::{RawRecord, SourceInfo};
use fields::Mapped;
use record::WinRecord;

/// Reads one input of Windows JSON events.
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let parser: Arc<dyn RecordParser> = Arc::new(WindowsEvents::json(limits));
    let mut sink = RecordSink::new(Arc::clone(&input.source), parser, limits, deliver);
    json_documents(input, limits, &mut sink);
    sink.finish();
}

/// Parses Windows events (either JSON shape) into ECS events.
#[derive(Debug, Clone)]
pub(crate) struct WindowsEvents {
    limits: Limits,
    format: Format,
    parser_id: &'static str,
}

impl WindowsEvents {
    /// The parser for Windows JSON exports.
    pub(crate) fn json(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
            format: Format::WindowsJson,
            parser_id: "windows-json/1",
        }
    }

    /// The parser for records the native EVTX reader rendered as JSON.
    pub(crate) fn evtx(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
            format: Format::Evtx,
            parser_id: "evtx/1",
        }
    }

    fn event(&self, record: &RawRecord, source: &SourceInfo) -> Result<Event, String> {
        check_depth(&record.bytes, &self.limits)?;
        let object = parse_json_object(&record.bytes, &self.limits)?;
        let windows = WinRecord::from_json(object)?;
        let mapped = map_record(&windows);
        let raw = String::from_utf8_lossy(&record.bytes).into_owned();
        let mut event = Event::new(mapped.ecs, raw, self.provenance(record, source));
        event.attributes = mapped.attributes;
        Ok(event)
    }
}

impl RecordParser for WindowsEvents {
    fn format(&self) -> Format {
        self.format
    }

    fn parser_id(&self) -> &'static str {
        self.parser_id
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        match self.event(record, source) {
            Ok(event) => out.push(Ingested::Event(Box::new(event))),
            Err(reason) => out.push(self.dead_letter(record, source, reason)),
        }
    }
}

/// Maps a normalised record onto ECS fields and `winlog.*` attributes.
fn map_record(record: &WinRecord) -> Mapped {
    let mut out = Mapped::default();
    out.ecs.timestamp = record.time;
    out.ecs.event.kind = Some("event".to_owned());
    out.ecs.event.code = Some(record.event_id.to_string());
    out.ecs.event.provider.clone_from(&record.provider);
    out.ecs.host.name.clone_from(&record.computer);
    let channel = record.channel_lower();
    let provider = record.provider.as_deref().unwrap_or_default();
    let is_sysmon =
        channel == "microsoft-windows-sysmon/operational" || provider == "Microsoft-Windows-Sysmon";
    let is_powershell = channel == "microsoft-windows-powershell/operational"
        || channel == "windows powershell"
        || provider == "Microsoft-Windows-PowerShell";
    if is_sysmon {
        sysmon::map(record, &mut out);
    } else if channel == "security" {
        security::map(record, &mut out);
    } else if is_powershell {
        powershell::map(record, &mut out);
    } else if channel == "system" {
        system::map_system(record, &mut out);
    } else if channel.starts_with("microsoft-windows-windows defender") {
        system::map_defender(record, &mut out);
    }
    if !is_sysmon && channel != "security" {
        // The account the event was logged under names the user when the event data does
        // not (PowerShell); Sysmon logs everything as SYSTEM, so not there.
        let user = &mut out.ecs.user;
        if user.name.is_none() && user.id.is_none() {
            user.id = record.system_text("user.identifier").map(str::to_owned);
            user.name = record.system_text("user.name").map(str::to_owned);
            user.domain = record.system_text("user.domain").map(str::to_owned);
        }
    }
    if is_powershell && out.ecs.process.pid.is_none() {
        out.ecs.process.pid = record
            .system_text("process.pid")
            .and_then(fields::pid)
            .filter(|&pid| pid != 0);
    }
    winlog_attributes(record, &mut out.attributes);
    out
}

fn winlog_attributes(record: &WinRecord, attributes: &mut Map<String, Value>) {
    let mut put = |path: &str, value: Option<Value>| {
        if let Some(value) = value {
            attributes.insert(path.to_owned(), value);
        }
    };
    put("winlog.channel", record.channel.clone().map(Value::String));
    put("winlog.event_id", Some(Value::from(record.event_id)));
    put(
        "winlog.provider_name",
        record.provider.clone().map(Value::String),
    );
    put(
        "winlog.provider_guid",
        record.provider_guid.clone().map(Value::String),
    );
    put(
        "winlog.computer_name",
        record.computer.clone().map(Value::String),
    );
    put("winlog.record_id", record.record_id.map(Value::from));
    put("message", record.message.clone().map(Value::String));
    put("tags", record.tags.clone());
    for (name, value) in &record.system {
        attributes.insert(format!("winlog.{name}"), value.clone());
    }
    for (name, value) in &record.data {
        attributes.insert(format!("winlog.event_data.{name}"), value.clone());
    }
    for (name, value) in &record.user_data {
        attributes.insert(format!("winlog.user_data.{name}"), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use rampart_core::Position;

    use super::*;

    fn source() -> SourceInfo {
        SourceInfo {
            source: "/data/events.json".to_owned(),
            ingested_at: chrono::Utc::now(),
        }
    }

    fn parse(line: &str) -> Ingested {
        let parser = WindowsEvents::json(&Limits::default());
        let record = RawRecord {
            bytes: line.as_bytes().to_vec(),
            position: Position::Line(1),
        };
        let mut out = Vec::new();
        parser.parse(&record, &source(), &mut out);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    fn event(line: &str) -> Event {
        match parse(line) {
            Ingested::Event(event) => *event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    const SYSMON_1: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2024-03-01T10:00:00.123456Z"}},"EventRecordID":42,"Correlation":null,"Execution":{"#attributes":{"ProcessID":2000,"ThreadID":3000}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws1.example.org","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"RuleName":"-","UtcTime":"2024-03-01 10:00:00.120","ProcessGuid":"{00000000-0000-0000-0000-000000000001}","ProcessId":4321,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami","User":"EXAMPLE\\alice","Hashes":"SHA1=AAAA,MD5=BBBB,SHA256=CCCC,IMPHASH=DDDD","ParentProcessId":1234,"ParentImage":"C:\\Windows\\explorer.exe","ParentCommandLine":"C:\\Windows\\Explorer.EXE","TerminalSessionId":1}}}"##;

    #[test]
    fn maps_a_nested_sysmon_process_create() {
        let event = event(SYSMON_1);
        let ecs = &event.ecs;
        assert_eq!(ecs.event.code.as_deref(), Some("1"));
        assert_eq!(ecs.event.action.as_deref(), Some("process-created"));
        assert_eq!(ecs.event.category, ["process"]);
        assert_eq!(ecs.process.pid, Some(4321));
        assert_eq!(ecs.process.name.as_deref(), Some("cmd.exe"));
        assert_eq!(
            ecs.process.command_line.as_deref(),
            Some("cmd.exe /c whoami")
        );
        assert_eq!(ecs.process.parent.pid, Some(1234));
        assert_eq!(ecs.process.parent.name.as_deref(), Some("explorer.exe"));
        assert_eq!(ecs.user.name.as_deref(), Some("alice"));
        assert_eq!(ecs.user.domain.as_deref(), Some("EXAMPLE"));
        assert_eq!(ecs.host.name.as_deref(), Some("ws1.example.org"));
        assert_eq!(
            ecs.timestamp.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-03-01T10:00:00.123456+00:00")
        );
        let attributes = &event.attributes;
        assert_eq!(attributes["winlog.event_id"], 1);
        assert_eq!(attributes["winlog.record_id"], 42);
        assert_eq!(attributes["winlog.event_data.ProcessId"], "4321");
        assert_eq!(attributes["winlog.event_data.TerminalSessionId"], "1");
        assert_eq!(
            attributes["winlog.channel"],
            "Microsoft-Windows-Sysmon/Operational"
        );
        assert_eq!(attributes["process.hash.sha256"], "cccc");
        assert_eq!(event.provenance.format, Some(Format::WindowsJson));
    }

    #[test]
    fn maps_flat_security_process_and_logon_events() {
        let created = event(
            r#"{"SourceName":"Microsoft-Windows-Security-Auditing","Keywords":"0x8020000000000000","Channel":"security","Hostname":"DC01.example.org","@timestamp":"2023-07-19T09:02:23.992Z","EventID":4688,"SubjectUserSid":"S-1-5-21-1-2-3-500","SubjectUserName":"Administrator","SubjectDomainName":"EXAMPLE","NewProcessId":"0xef0","NewProcessName":"C:\\Windows\\System32\\cmd.exe","ProcessId":"0x828","CommandLine":"cmd.exe /c dir","ParentProcessName":"C:\\Windows\\explorer.exe"}"#,
        );
        let ecs = &created.ecs;
        assert_eq!(ecs.process.pid, Some(0xef0));
        assert_eq!(ecs.process.parent.pid, Some(0x828));
        assert_eq!(ecs.process.parent.name.as_deref(), Some("explorer.exe"));
        assert_eq!(ecs.user.id.as_deref(), Some("S-1-5-21-1-2-3-500"));
        assert_eq!(ecs.event.outcome.as_deref(), Some("success"));
        let logon = event(
            r#"{"EventID":4624,"Channel":"Security","Keywords":-9214364837600034816,"TargetUserName":"bob","TargetDomainName":"EXAMPLE","TargetUserSid":"S-1-5-21-9","SubjectUserName":"-","IpAddress":"::ffff:172.18.38.5","IpPort":"61420","LogonType":"3","WorkstationName":"-"}"#,
        );
        assert_eq!(logon.ecs.user.name.as_deref(), Some("bob"));
        assert_eq!(logon.ecs.source.ip, "172.18.38.5".parse().ok());
        assert_eq!(logon.ecs.source.port, Some(61420));
        assert_eq!(logon.ecs.event.category, ["authentication"]);
        assert_eq!(logon.ecs.event.outcome.as_deref(), Some("success"));
        assert_eq!(logon.attributes["winlog.logon.type"], "3");
    }

    #[test]
    fn maps_powershell_script_blocks_and_context() {
        let block = event(
            r#"{"EventID":4104,"Channel":"Microsoft-Windows-PowerShell/Operational","SourceName":"Microsoft-Windows-PowerShell","UserID":"S-1-5-21-7","AccountName":"carol","Domain":"EXAMPLE","ExecutionProcessID":8648,"ScriptBlockText":"Get-Process","ScriptBlockId":"b1","Path":null}"#,
        );
        assert_eq!(
            block.attributes["powershell.file.script_block_text"],
            "Get-Process"
        );
        assert_eq!(block.ecs.user.name.as_deref(), Some("carol"));
        assert_eq!(block.ecs.process.pid, Some(8648));
        assert_eq!(block.ecs.file.path, None);
        let pipeline = event(
            r#"{"EventID":4103,"Channel":"Microsoft-Windows-PowerShell/Operational","ContextInfo":"        Host Application = C:\\Windows\\powershell.exe -nop\n        Command Name = Get-Date\n        User = EXAMPLE\\dave\n"}"#,
        );
        assert_eq!(
            pipeline.ecs.process.command_line.as_deref(),
            Some("C:\\Windows\\powershell.exe -nop")
        );
        assert_eq!(pipeline.ecs.process.name.as_deref(), Some("powershell.exe"));
        assert_eq!(pipeline.ecs.user.name.as_deref(), Some("dave"));
        assert_eq!(pipeline.attributes["powershell.command.name"], "Get-Date");
    }

    #[test]
    fn bad_records_become_dead_letters() {
        for line in [
            "not json",
            "[1,2]",
            r#"{"event_type":"alert"}"#,
            r#"{"EventID":"x"}"#,
        ] {
            assert!(matches!(parse(line), Ingested::DeadLetter(_)), "{line}");
        }
    }

    fn read_text(text: &str) -> Vec<Ingested> {
        let mut reader = Cursor::new(text.as_bytes().to_vec());
        let mut input = Input {
            source: Arc::new(source()),
            reader: &mut reader,
        };
        let mut out = Vec::new();
        read(
            &mut input,
            &Limits::default(),
            &mut |delivery| match delivery {
                Delivery::Batch(batch) => out.extend(batch.parse()),
                Delivery::Unreadable(letter) => out.push(Ingested::DeadLetter(letter)),
            },
        );
        out
    }

    #[test]
    fn frames_pretty_printed_events_one_after_another() {
        let pretty = format!(
            "{{\n  \"EventID\": 11,\n  \"Channel\": \"Microsoft-Windows-Sysmon/Operational\",\n  \"TargetFilename\": \"C:\\\\a}}.txt\"\n}}\n{SYSMON_1}\n{{\n  \"EventID\": 1"
        );
        let out = read_text(&pretty);
        assert_eq!(out.len(), 3);
        let Ingested::Event(first) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(first.ecs.file.name.as_deref(), Some("a}.txt"));
        assert_eq!(first.provenance.position, Position::Offset(0));
        assert!(matches!(out[1], Ingested::Event(_)));
        assert!(matches!(out[2], Ingested::DeadLetter(_)));
    }

    #[test]
    fn frames_json_lines() {
        let lines = format!("{SYSMON_1}\n\n{SYSMON_1}\n");
        let out = read_text(&lines);
        assert_eq!(out.len(), 2);
        let Ingested::Event(second) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(second.provenance.position, Position::Line(3));
    }
}
