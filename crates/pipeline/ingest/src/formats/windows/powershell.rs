//! PowerShell events (`Microsoft-Windows-PowerShell/Operational` and the classic
//! `Windows PowerShell` log) to ECS.

use serde_json::Value;

use super::fields::{Mapped, basename, split_user};
use super::record::WinRecord;

/// Maps one PowerShell event by its event id.
pub(super) fn map(record: &WinRecord, out: &mut Mapped) {
    match record.event_id {
        4103 => {
            out.classify("pipeline-executed", &["process"], &["info"]);
            context(record, "ContextInfo", " = ", out);
            out.attribute("powershell.command.payload", record.get("Payload"));
        }
        4104 => {
            out.classify("script-block-logged", &["process"], &["info"]);
            out.attribute(
                "powershell.file.script_block_text",
                record.get("ScriptBlockText"),
            );
            out.attribute(
                "powershell.file.script_block_id",
                record.get("ScriptBlockId"),
            );
            out.file(record, "Path");
        }
        4105 => out.classify("script-block-invocation-started", &["process"], &["start"]),
        4106 => out.classify("script-block-invocation-completed", &["process"], &["end"]),
        400 => {
            out.classify("engine-started", &["process"], &["start"]);
            classic_context(record, out);
        }
        403 => {
            out.classify("engine-stopped", &["process"], &["end"]);
            classic_context(record, out);
        }
        600 => {
            out.classify("provider-started", &["process"], &["info"]);
            classic_context(record, out);
        }
        800 => {
            out.classify("pipeline-executed", &["process"], &["info"]);
            classic_context(record, out);
        }
        _ => {}
    }
}

/// The classic log writes its context as `Key=Value` lines inside unnamed `Data` items (or
/// named `Data`/`HostApplication` fields in some exports).
fn classic_context(record: &WinRecord, out: &mut Mapped) {
    let texts: Vec<&str> = match record.data.get("Data") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(text)) => vec![text.as_str()],
        _ => Vec::new(),
    };
    // Only the context item: the others hold script text, where `User=…` may well appear.
    for text in texts
        .into_iter()
        .filter(|text| text.contains("HostApplication="))
    {
        apply_context(text, "=", out);
    }
    if out.ecs.process.command_line.is_none() {
        set_host_application(record.get("HostApplication"), out);
    }
}

/// 4103's `ContextInfo`: `        Host Application = C:\…\powershell.exe -nop …` lines.
fn context(record: &WinRecord, field: &str, separator: &str, out: &mut Mapped) {
    if let Some(text) = record.get(field) {
        apply_context(text, separator, out);
    }
}

fn apply_context(text: &str, separator: &str, out: &mut Mapped) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once(separator) else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "Host Application" | "HostApplication" => set_host_application(Some(value), out),
            "Command Name" | "CommandName" => {
                out.attribute("powershell.command.name", Some(value));
            }
            "Script Name" | "ScriptName" => {
                out.ecs.file.name = basename(value);
                out.ecs.file.path = Some(value.to_owned());
            }
            "User" | "UserId" => {
                let (domain, name) = split_user(value);
                out.ecs.user.domain = domain;
                out.ecs.user.name = name;
            }
            "Host Name" | "HostName" => out.attribute("powershell.process.host_name", Some(value)),
            "Engine Version" | "EngineVersion" => {
                out.attribute("powershell.engine.version", Some(value));
            }
            _ => {}
        }
    }
}

fn set_host_application(value: Option<&str>, out: &mut Mapped) {
    let Some(command_line) = value else {
        return;
    };
    out.ecs.process.command_line = Some(command_line.to_owned());
    // The executable is the first token, quoted or not.
    let executable = match command_line.strip_prefix('"') {
        Some(rest) => rest.split('"').next(),
        None => command_line.split_whitespace().next(),
    };
    if let Some(executable) = executable.filter(|e| !e.is_empty()) {
        out.ecs.process.name = basename(executable);
        out.ecs.process.executable = Some(executable.to_owned());
    }
}
