//! Logsources: which ingested events a rule can see.
//!
//! A rule's `logsource` (product, category, service) resolves at load time into routes: a
//! Windows channel with its event ids, a Zeek log, or an ECS event category. The rule set
//! indexes rules by route, so an event is only tested against the rules that can apply to it
//! (a Sysmon network connection never meets the 1,400 process-creation rules). A logsource
//! that no ingested shape carries is a rejection, not a rule that silently never fires.

use crate::fields::Family;

/// Sysmon's channel, lowercased.
pub(crate) const SYSMON: &str = "microsoft-windows-sysmon/operational";
const SECURITY: &str = "security";
const POWERSHELL: &str = "microsoft-windows-powershell/operational";
const POWERSHELL_CLASSIC: &str = "windows powershell";

/// One kind of event a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Route {
    /// A Windows channel (lowercase), optionally only some event ids.
    Channel {
        /// Lowercase channel name.
        channel: String,
        /// The event ids; `None` for every event of the channel.
        event_ids: Option<Vec<u32>>,
    },
    /// Every Windows event.
    AnyWindows,
    /// A Zeek log (`zeek.<log>` dataset).
    Zeek(String),
    /// Non-Windows events with this ECS `event.category` and, when given, `event.type`.
    EcsCategory {
        /// `event.category` value.
        category: &'static str,
        /// `event.type` value that must also be present.
        kind: Option<&'static str>,
    },
}

/// A resolved logsource: how field names resolve and which events the rule sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The field-mapping family.
    pub family: Family,
    /// The Zeek log type for Zeek rules.
    pub zeek_log: Option<String>,
    /// Routes: the rule sees an event when any route matches it.
    pub routes: Vec<Route>,
}

fn channel(name: &str, ids: &[u32]) -> Route {
    Route::Channel {
        channel: name.to_owned(),
        event_ids: if ids.is_empty() {
            None
        } else {
            Some(ids.to_vec())
        },
    }
}

/// The Windows routes of a Sigma category.
fn windows_category(category: &str) -> Option<Vec<Route>> {
    let sysmon = |ids: &[u32]| Some(vec![channel(SYSMON, ids)]);
    match category {
        "process_creation" => Some(vec![channel(SYSMON, &[1]), channel(SECURITY, &[4688])]),
        "file_change" => sysmon(&[2]),
        "network_connection" => sysmon(&[3]),
        "sysmon_status" => sysmon(&[4, 16]),
        "process_termination" => sysmon(&[5]),
        "driver_load" => sysmon(&[6]),
        "image_load" => sysmon(&[7]),
        "create_remote_thread" => sysmon(&[8]),
        "raw_access_thread" => sysmon(&[9]),
        "process_access" => sysmon(&[10]),
        "file_event" => sysmon(&[11]),
        "registry_add" | "registry_delete" => sysmon(&[12]),
        "registry_set" => sysmon(&[13]),
        "registry_rename" => sysmon(&[14]),
        "registry_event" => sysmon(&[12, 13, 14]),
        "create_stream_hash" => sysmon(&[15]),
        "pipe_created" => sysmon(&[17, 18]),
        "wmi_event" => sysmon(&[19, 20, 21]),
        "dns_query" => sysmon(&[22]),
        "file_delete" => sysmon(&[23, 26]),
        "clipboard_capture" => sysmon(&[24]),
        "process_tampering" => sysmon(&[25]),
        "file_delete_detected" => sysmon(&[26]),
        "file_block_executable" => sysmon(&[27]),
        "file_block_shredding" => sysmon(&[28]),
        "file_executable_detected" => sysmon(&[29]),
        "sysmon_error" => sysmon(&[255]),
        "ps_module" => Some(vec![channel(POWERSHELL, &[4103])]),
        "ps_script" => Some(vec![channel(POWERSHELL, &[4104])]),
        "ps_classic_start" => Some(vec![channel(POWERSHELL_CLASSIC, &[400])]),
        "ps_classic_provider_start" => Some(vec![channel(POWERSHELL_CLASSIC, &[600])]),
        "ps_classic_script" => Some(vec![channel(POWERSHELL_CLASSIC, &[800])]),
        _ => None,
    }
}

/// The Windows channels of a Sigma service.
fn windows_service(service: &str) -> Option<&'static [&'static str]> {
    Some(match service {
        "security" => &["security"],
        "system" => &["system"],
        "application" => &["application"],
        "sysmon" => &[SYSMON],
        "powershell" => &[POWERSHELL],
        "powershell-classic" => &[POWERSHELL_CLASSIC],
        "taskscheduler" => &["microsoft-windows-taskscheduler/operational"],
        "wmi" => &["microsoft-windows-wmi-activity/operational"],
        "windefend" => &["microsoft-windows-windows defender/operational"],
        "firewall-as" => &["microsoft-windows-windows firewall with advanced security/firewall"],
        "bits-client" => &["microsoft-windows-bits-client/operational"],
        "codeintegrity-operational" => &["microsoft-windows-codeintegrity/operational"],
        "appxdeployment-server" => &["microsoft-windows-appxdeploymentserver/operational"],
        "appxpackaging-om" => &["microsoft-windows-appxpackaging/operational"],
        "appmodel-runtime" => &["microsoft-windows-appmodel-runtime/admin"],
        "msexchange-management" => &["msexchange management"],
        "dns-client" => &["microsoft-windows-dns client events/operational"],
        "dns-server" => &["dns server"],
        "dns-server-analytic" => &["microsoft-windows-dns-server/analytical"],
        "iis-configuration" => &["microsoft-iis-configuration/operational"],
        "ntlm" => &["microsoft-windows-ntlm/operational"],
        "security-mitigations" => &[
            "microsoft-windows-security-mitigations/kernel mode",
            "microsoft-windows-security-mitigations/user mode",
        ],
        "applocker" => &[
            "microsoft-windows-applocker/msi and script",
            "microsoft-windows-applocker/exe and dll",
            "microsoft-windows-applocker/packaged app-deployment",
            "microsoft-windows-applocker/packaged app-execution",
        ],
        "smbclient-connectivity" => &["microsoft-windows-smbclient/connectivity"],
        "smbclient-security" => &["microsoft-windows-smbclient/security"],
        "smbserver-connectivity" => &["microsoft-windows-smbserver/connectivity"],
        "printservice-admin" => &["microsoft-windows-printservice/admin"],
        "printservice-operational" => &["microsoft-windows-printservice/operational"],
        "microsoft-servicebus-client" => &["microsoft-servicebus-client"],
        "terminalservices-localsessionmanager" => {
            &["microsoft-windows-terminalservices-localsessionmanager/operational"]
        }
        "shell-core" => &["microsoft-windows-shell-core/operational"],
        "certificateservicesclient-lifecycle-system" => {
            &["microsoft-windows-certificateservicesclient-lifecycle-system/operational"]
        }
        "driver-framework" => &["microsoft-windows-driverframeworks-usermode/operational"],
        "ldap" | "ldap_debug" => &["microsoft-windows-ldap-client/debug"],
        "diagnosis-scripted" => &["microsoft-windows-diagnosis-scripted/operational"],
        "lsa-server" => &["microsoft-windows-lsa/operational"],
        "openssh" => &["openssh/operational"],
        "capi2" => &["microsoft-windows-capi2/operational"],
        "bitlocker" => &["microsoft-windows-bitlocker/bitlocker management"],
        "vhdmp" => &["microsoft-windows-vhdmp/operational"],
        "kernel-shimengine" => &["microsoft-windows-kernel-shimengine/operational"],
        "hyper-v-worker" => &["microsoft-windows-hyper-v-worker-admin"],
        _ => return None,
    })
}

/// Resolves a logsource into routes, or says why no ingested event can match it.
pub(crate) fn resolve(
    product: Option<&str>,
    category: Option<&str>,
    service: Option<&str>,
) -> Result<Resolved, String> {
    let describe = || {
        format!(
            "unsupported logsource `{}/{}/{}`",
            product.unwrap_or("-"),
            category.unwrap_or("-"),
            service.unwrap_or("-")
        )
    };
    match product {
        Some("windows") => {
            let routes = match (category, service) {
                (Some(category), None) => windows_category(category).ok_or_else(describe)?,
                (None, Some(service)) => windows_service(service)
                    .ok_or_else(describe)?
                    .iter()
                    .map(|name| channel(name, &[]))
                    .collect(),
                (Some(category), Some(service)) => {
                    // A category narrows its service's channels (e.g. `ps_script` under
                    // `powershell`): keep the category's routes on the service's channels.
                    let channels = windows_service(service).ok_or_else(describe)?;
                    windows_category(category)
                        .ok_or_else(describe)?
                        .into_iter()
                        .filter(|route| matches!(route, Route::Channel { channel, .. } if channels.contains(&channel.as_str())))
                        .collect()
                }
                (None, None) => vec![Route::AnyWindows],
            };
            if routes.is_empty() {
                return Err(describe());
            }
            Ok(Resolved {
                family: Family::Windows,
                zeek_log: None,
                routes,
            })
        }
        Some("zeek") => {
            let log = service.ok_or_else(describe)?;
            Ok(Resolved {
                family: Family::Zeek,
                zeek_log: Some(log.to_owned()),
                routes: vec![Route::Zeek(log.to_owned())],
            })
        }
        Some("linux" | "macos") if service.is_none() => {
            let route = match category {
                Some("process_creation") => Route::EcsCategory {
                    category: "process",
                    kind: Some("start"),
                },
                Some("network_connection") => Route::EcsCategory {
                    category: "network",
                    kind: None,
                },
                Some("file_event") => Route::EcsCategory {
                    category: "file",
                    kind: None,
                },
                _ => return Err(describe()),
            };
            Ok(Resolved {
                family: Family::Ecs,
                zeek_log: None,
                routes: vec![route],
            })
        }
        _ => Err(describe()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_creation_sees_sysmon_1_and_security_4688() {
        let resolved = resolve(Some("windows"), Some("process_creation"), None).unwrap();
        assert_eq!(resolved.family, Family::Windows);
        assert_eq!(
            resolved.routes,
            [channel(SYSMON, &[1]), channel("security", &[4688])]
        );
    }

    #[test]
    fn services_and_unknowns() {
        let security = resolve(Some("windows"), None, Some("security")).unwrap();
        assert_eq!(security.routes, [channel("security", &[])]);
        let both = resolve(Some("windows"), Some("ps_script"), Some("powershell")).unwrap();
        assert_eq!(both.routes, [channel(POWERSHELL, &[4104])]);
        assert!(resolve(Some("aws"), None, Some("cloudtrail")).is_err());
        assert!(
            resolve(Some("windows"), Some("file_access"), None)
                .unwrap_err()
                .contains("windows/file_access/-")
        );
        let zeek = resolve(Some("zeek"), None, Some("dns")).unwrap();
        assert_eq!(zeek.routes, [Route::Zeek("dns".into())]);
    }
}
