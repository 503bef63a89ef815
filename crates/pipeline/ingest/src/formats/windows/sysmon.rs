//! Sysmon (`Microsoft-Windows-Sysmon/Operational`) events to ECS.

use super::fields::{Mapped, fill_hashes, hash_list, ip, port, transport};
use super::record::WinRecord;

/// Maps one Sysmon event by its event id.
#[expect(
    clippy::too_many_lines,
    reason = "one arm per Sysmon event id reads as the table it is"
)]
pub(super) fn map(record: &WinRecord, out: &mut Mapped) {
    // Most Sysmon events name the acting process with these two fields.
    out.process(record, "ProcessId", "Image");
    out.qualified_user(record, "User");
    match record.event_id {
        1 => {
            out.classify("process-created", &["process"], &["start"]);
            out.ecs.process.command_line = record.get("CommandLine").map(str::to_owned);
            out.parent(record, "ParentProcessId", "ParentImage");
            out.ecs.process.parent.command_line =
                record.get("ParentCommandLine").map(str::to_owned);
            for (algorithm, hex) in record.get("Hashes").map(hash_list).unwrap_or_default() {
                out.attribute(&format!("process.hash.{algorithm}"), Some(&hex));
            }
            out.attribute(
                "process.pe.original_file_name",
                record.get("OriginalFileName"),
            );
            out.attribute("process.working_directory", record.get("CurrentDirectory"));
        }
        2 => {
            out.classify("file-creation-time-changed", &["file"], &["change"]);
            out.file(record, "TargetFilename");
        }
        3 => {
            out.classify("network-connection", &["network"], &["connection", "start"]);
            network(record, out);
        }
        5 => out.classify("process-terminated", &["process"], &["end"]),
        6 => {
            out.classify("driver-loaded", &["driver"], &["start"]);
            out.file(record, "ImageLoaded");
            file_hashes(record, out, "Hashes");
        }
        7 => {
            out.classify("image-loaded", &["library"], &["start"]);
            out.file(record, "ImageLoaded");
            file_hashes(record, out, "Hashes");
        }
        8 => {
            out.classify("create-remote-thread", &["process"], &["change"]);
            out.process(record, "SourceProcessId", "SourceImage");
            out.qualified_user(record, "SourceUser");
        }
        9 => {
            out.classify("raw-access-read", &["file"], &["access"]);
            out.ecs.file.path = record.get("Device").map(str::to_owned);
        }
        10 => {
            out.classify("process-accessed", &["process"], &["access"]);
            out.process(record, "SourceProcessId", "SourceImage");
            out.qualified_user(record, "SourceUser");
        }
        11 => {
            out.classify("file-created", &["file"], &["creation"]);
            out.file(record, "TargetFilename");
        }
        12 => {
            let kind = match record.get("EventType") {
                Some("CreateKey") => "creation",
                Some("DeleteKey" | "DeleteValue") => "deletion",
                _ => "change",
            };
            out.classify("registry-object-added-or-deleted", &["registry"], &[kind]);
            out.attribute("registry.path", record.get("TargetObject"));
        }
        13 => {
            out.classify("registry-value-set", &["registry"], &["change"]);
            out.attribute("registry.path", record.get("TargetObject"));
            out.attribute("registry.data.strings", record.get("Details"));
        }
        14 => {
            out.classify("registry-object-renamed", &["registry"], &["change"]);
            out.attribute("registry.path", record.get("TargetObject"));
        }
        15 => {
            out.classify("file-stream-created", &["file"], &["creation"]);
            out.file(record, "TargetFilename");
            file_hashes(record, out, "Hash");
        }
        16 => out.classify("sysmon-config-changed", &["configuration"], &["change"]),
        17 => {
            out.classify("pipe-created", &["file"], &["creation"]);
            out.ecs.file.name = record.get("PipeName").map(str::to_owned);
        }
        18 => {
            out.classify("pipe-connected", &["file"], &["access"]);
            out.ecs.file.name = record.get("PipeName").map(str::to_owned);
        }
        19 => out.classify("wmi-event-filter", &["configuration"], &["change"]),
        20 => out.classify("wmi-event-consumer", &["configuration"], &["change"]),
        21 => out.classify(
            "wmi-event-consumer-to-filter",
            &["configuration"],
            &["change"],
        ),
        22 => {
            out.classify("dns-query", &["network"], &["protocol", "info"]);
            out.ecs.dns.question.name = record.get("QueryName").map(str::to_owned);
            out.ecs.network.protocol = Some("dns".to_owned());
        }
        23 | 26 => {
            let action = if record.event_id == 23 {
                "file-deleted"
            } else {
                "file-delete-detected"
            };
            out.classify(action, &["file"], &["deletion"]);
            out.file(record, "TargetFilename");
            file_hashes(record, out, "Hashes");
        }
        24 => out.classify("clipboard-changed", &["host"], &["change"]),
        25 => out.classify("process-tampering", &["process"], &["change"]),
        27 | 28 => {
            let action = if record.event_id == 27 {
                "file-block-executable"
            } else {
                "file-block-shredding"
            };
            out.classify(action, &["file"], &["denied"]);
            out.file(record, "TargetFilename");
            file_hashes(record, out, "Hashes");
        }
        29 => {
            out.classify("file-executable-detected", &["file"], &["creation"]);
            out.file(record, "TargetFilename");
            file_hashes(record, out, "Hashes");
        }
        255 => out.classify("sysmon-error", &[], &["error"]),
        _ => {}
    }
}

fn network(record: &WinRecord, out: &mut Mapped) {
    out.ecs.source.ip = record.get("SourceIp").and_then(ip);
    out.ecs.source.port = record.get("SourcePort").and_then(port);
    out.ecs.source.domain = record.get("SourceHostname").map(str::to_owned);
    out.ecs.destination.ip = record.get("DestinationIp").and_then(ip);
    out.ecs.destination.port = record.get("DestinationPort").and_then(port);
    out.ecs.destination.domain = record.get("DestinationHostname").map(str::to_owned);
    out.ecs.network.transport = record.get("Protocol").and_then(transport);
    out.ecs.network.direction = match record.get("Initiated") {
        Some(flag) if flag.eq_ignore_ascii_case("true") => Some("egress".to_owned()),
        Some(flag) if flag.eq_ignore_ascii_case("false") => Some("ingress".to_owned()),
        _ => None,
    };
}

fn file_hashes(record: &WinRecord, out: &mut Mapped, field: &str) {
    if let Some(text) = record.get(field) {
        fill_hashes(&mut out.ecs.file.hash, &hash_list(text));
    }
}
