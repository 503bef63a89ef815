//! Security channel (`Microsoft-Windows-Security-Auditing`) events to ECS.

use super::fields::{Mapped, audit_outcome, basename, ip, pid, port, transport};
use super::record::WinRecord;

/// Events whose `Target*` fields name the account that logs on; the others name their actor
/// with `Subject*`.
const TARGET_USER_EVENTS: [u32; 10] = [4624, 4625, 4634, 4647, 4648, 4768, 4769, 4771, 4776, 4740];

/// Maps one Security event by its event id.
pub(super) fn map(record: &WinRecord, out: &mut Mapped) {
    let id = record.event_id;
    classify(id, out);
    if let Some(outcome) = record.system_text("keywords").and_then(audit_outcome) {
        out.ecs.event.outcome = Some(outcome.to_owned());
    }
    if id == 4776 {
        // Credential validation reports its result in `Status`, not in the keywords.
        out.ecs.event.outcome = record
            .get("Status")
            .map(|status| {
                if status == "0x0" {
                    "success"
                } else {
                    "failure"
                }
                .to_owned()
            })
            .or(out.ecs.event.outcome.take());
    }
    if TARGET_USER_EVENTS.contains(&id) && record.get("TargetUserName").is_some() {
        out.user(
            record,
            "TargetUserName",
            "TargetDomainName",
            "TargetUserSid",
        );
    } else {
        out.user(
            record,
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectUserSid",
        );
    }
    match id {
        4688 => {
            out.process(record, "NewProcessId", "NewProcessName");
            out.ecs.process.command_line = record.get("CommandLine").map(str::to_owned);
            out.parent(record, "ProcessId", "ParentProcessName");
        }
        4689 => out.process(record, "ProcessId", "ProcessName"),
        5156..=5159 => {
            out.process(record, "ProcessID", "Application");
            out.ecs.source.ip = record.get("SourceAddress").and_then(ip);
            out.ecs.source.port = record.get("SourcePort").and_then(port);
            out.ecs.destination.ip = record.get("DestAddress").and_then(ip);
            out.ecs.destination.port = record.get("DestPort").and_then(port);
            out.ecs.network.transport = record.get("Protocol").and_then(transport);
            out.ecs.network.direction = match record.get("Direction") {
                Some("%%14592") => Some("ingress".to_owned()),
                Some("%%14593") => Some("egress".to_owned()),
                _ => None,
            };
        }
        _ => {
            if let Some(pid) = record
                .get("ProcessId")
                .and_then(pid)
                .filter(|&pid| pid != 0)
            {
                out.ecs.process.pid = Some(pid);
            }
            if let Some(image) = record.get("ProcessName") {
                out.ecs.process.name = basename(image);
                out.ecs.process.executable = Some(image.to_owned());
            }
        }
    }
    if out.ecs.source.ip.is_none() {
        out.ecs.source.ip = record.get("IpAddress").and_then(ip);
        out.ecs.source.port = record.get("IpPort").and_then(port);
    }
    out.ecs.source.domain = record
        .first(&["WorkstationName", "Workstation"])
        .map(str::to_owned);
    if matches!(id, 4656 | 4658 | 4660 | 4663) && record.get("ObjectType") == Some("File") {
        out.file(record, "ObjectName");
    }
    if matches!(id, 5140 | 5145) {
        out.attribute("file.share.name", record.get("ShareName"));
        if let Some(target) = record.get("RelativeTargetName") {
            out.ecs.file.path = Some(target.to_owned());
        }
    }
    if id == 4697 {
        out.attribute("service.name", record.get("ServiceName"));
        out.attribute("service.executable", record.get("ServiceFileName"));
    }
    if matches!(id, 4698..=4702) {
        out.attribute("scheduled_task.name", record.get("TaskName"));
    }
    if matches!(id, 4624 | 4625) {
        out.attribute("winlog.logon.type", record.get("LogonType"));
    }
}

fn classify(id: u32, out: &mut Mapped) {
    let (action, category, kind): (&str, &[&str], &[&str]) = match id {
        1102 => ("audit-log-cleared", &["iam"], &["admin", "change"]),
        4624 => ("logged-in", &["authentication"], &["start"]),
        4625 => ("logon-failed", &["authentication"], &["start"]),
        4634 | 4647 => ("logged-out", &["authentication"], &["end"]),
        4648 => ("logged-in-explicit", &["authentication"], &["start"]),
        4656 => ("object-handle-requested", &["file"], &["access"]),
        4662 => ("object-operation-performed", &["iam"], &["access"]),
        4663 => ("object-access-attempted", &["file"], &["access"]),
        4672 => ("logged-in-special", &["iam"], &["admin"]),
        4673 => ("privileged-service-called", &["iam"], &["admin"]),
        4688 => ("created-process", &["process"], &["start"]),
        4689 => ("exited-process", &["process"], &["end"]),
        4697 => ("service-installed", &["configuration"], &["creation"]),
        4698 => ("scheduled-task-created", &["configuration"], &["creation"]),
        4699 => ("scheduled-task-deleted", &["configuration"], &["deletion"]),
        4700 => ("scheduled-task-enabled", &["configuration"], &["change"]),
        4701 => ("scheduled-task-disabled", &["configuration"], &["change"]),
        4702 => ("scheduled-task-updated", &["configuration"], &["change"]),
        4719 => ("changed-audit-config", &["iam"], &["admin", "change"]),
        4720 => ("added-user-account", &["iam"], &["user", "creation"]),
        4722 => ("enabled-user-account", &["iam"], &["user", "change"]),
        4723 => ("changed-password", &["iam"], &["user", "change"]),
        4724 => ("reset-password", &["iam"], &["user", "change"]),
        4725 => ("disabled-user-account", &["iam"], &["user", "change"]),
        4726 => ("deleted-user-account", &["iam"], &["user", "deletion"]),
        4728 | 4732 | 4756 => ("added-member-to-group", &["iam"], &["group", "change"]),
        4729 | 4733 | 4757 => ("removed-member-from-group", &["iam"], &["group", "change"]),
        4738 => ("modified-user-account", &["iam"], &["user", "change"]),
        4740 => ("locked-out-user-account", &["iam"], &["user", "change"]),
        4768 => (
            "kerberos-authentication-ticket-requested",
            &["authentication"],
            &["start"],
        ),
        4769 => (
            "kerberos-service-ticket-requested",
            &["authentication"],
            &["start"],
        ),
        4771 => ("kerberos-preauth-failed", &["authentication"], &["start"]),
        4776 => ("credential-validated", &["authentication"], &["start"]),
        4798 => ("user-member-enumerated", &["iam"], &["user", "info"]),
        4799 => ("group-membership-enumerated", &["iam"], &["group", "info"]),
        5140 => (
            "network-share-object-accessed",
            &["network", "file"],
            &["access"],
        ),
        5145 => (
            "network-share-object-access-checked",
            &["network", "file"],
            &["access"],
        ),
        5156 => (
            "network-connection-permitted",
            &["network"],
            &["connection", "allowed"],
        ),
        5157 => (
            "network-connection-blocked",
            &["network"],
            &["connection", "denied"],
        ),
        5158 => (
            "network-bind-permitted",
            &["network"],
            &["connection", "allowed"],
        ),
        5159 => (
            "network-bind-blocked",
            &["network"],
            &["connection", "denied"],
        ),
        _ => return,
    };
    out.classify(action, category, kind);
}
