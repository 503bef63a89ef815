//! The input formats Rampart reads.

use serde::{Deserialize, Serialize};

/// An input format. The kebab-case names are what `--format` accepts and what keys `by_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Elastic Common Schema JSON lines.
    Ecs,
    /// Open Cybersecurity Schema Framework JSON.
    Ocsf,
    /// Suricata EVE JSON (lines or a JSON array).
    SuricataEve,
    /// Zeek logs, TSV with `#fields` header or JSON lines.
    Zeek,
    /// Windows events exported as JSON (flat nxlog-style or nested `Event.System`).
    WindowsJson,
    /// Native Windows XML event log files.
    Evtx,
    /// Labelled CSV flow records (NSL-KDD, CIC-IDS2017, UNSW-NB15 layouts).
    FlowCsv,
    /// STIX 2.1 bundles.
    Stix,
}

impl Format {
    /// Every format, in documentation order.
    pub const ALL: [Self; 8] = [
        Self::Ecs,
        Self::Ocsf,
        Self::SuricataEve,
        Self::Zeek,
        Self::WindowsJson,
        Self::Evtx,
        Self::FlowCsv,
        Self::Stix,
    ];

    /// The name used on the command line and in summaries.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ecs => "ecs",
            Self::Ocsf => "ocsf",
            Self::SuricataEve => "suricata-eve",
            Self::Zeek => "zeek",
            Self::WindowsJson => "windows-json",
            Self::Evtx => "evtx",
            Self::FlowCsv => "flow-csv",
            Self::Stix => "stix",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = crate::CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.name() == s)
            .ok_or_else(|| crate::CoreError::UnknownFormat(s.to_owned()))
    }
}
