//! Events of the `System` log (service control) and of Microsoft Defender to ECS.

use super::fields::{Mapped, basename};
use super::record::WinRecord;

/// Maps a `System` log event (service installs and state changes).
pub(super) fn map_system(record: &WinRecord, out: &mut Mapped) {
    match record.event_id {
        7045 => {
            out.classify("service-installed", &["configuration"], &["creation"]);
            out.attribute("service.name", record.get("ServiceName"));
            out.attribute("service.executable", record.get("ImagePath"));
            out.ecs.user.name = record.get("AccountName").map(str::to_owned);
        }
        7036 => {
            out.classify("service-state-changed", &["configuration"], &["change"]);
            out.attribute("service.name", record.get("param1"));
        }
        7040 => {
            out.classify(
                "service-start-type-changed",
                &["configuration"],
                &["change"],
            );
            out.attribute("service.name", record.get("param1"));
        }
        104 => out.classify("log-cleared", &["iam"], &["admin", "change"]),
        _ => {}
    }
}

/// Maps a Microsoft Defender event: detections (1116) and actions taken (1117) are alerts
/// raised by another tool, so they become `event.kind: alert` with the threat as the rule.
pub(super) fn map_defender(record: &WinRecord, out: &mut Mapped) {
    let action = match record.event_id {
        1006 | 1116 => "malware-detected",
        1007 | 1117 => "malware-action-taken",
        1008 | 1118 | 1119 => "malware-action-failed",
        _ => return,
    };
    out.classify(action, &["malware"], &["info"]);
    out.ecs.event.kind = Some("alert".to_owned());
    out.ecs.rule.name = record.get("Threat Name").map(str::to_owned);
    out.ecs.rule.id = record.get("Threat ID").map(str::to_owned);
    out.ecs.rule.category = record.get("Category Name").map(str::to_owned);
    out.qualified_user(record, "Detection User");
    if let Some(image) = record.get("Process Name") {
        out.ecs.process.name = basename(image);
        out.ecs.process.executable = Some(image.to_owned());
    }
    // `Path` lists resources as `file:_C:\x.exe;process:_pid:42,…`; the first file is the one.
    if let Some(path) = record.get("Path").and_then(|paths| {
        paths
            .split(';')
            .find_map(|resource| resource.strip_prefix("file:_"))
    }) {
        out.ecs.file.name = basename(path);
        out.ecs.file.path = Some(path.to_owned());
    }
}
