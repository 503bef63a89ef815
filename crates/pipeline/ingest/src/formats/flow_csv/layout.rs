//! The three flow CSV layouts: which column is a feature, which fills ECS, which is the label.

use rampart_core::GroundTruth;

/// NSL-KDD's 41 feature columns, in file order (from the data set's `Field Names.csv`).
const NSL_KDD_FEATURES: [&str; 41] = [
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
];

/// NSL-KDD attack names grouped into the four usual categories.
const NSL_KDD_CATEGORIES: [(&str, &str); 40] = [
    ("apache2", "dos"),
    ("back", "dos"),
    ("buffer_overflow", "u2r"),
    ("ftp_write", "r2l"),
    ("guess_passwd", "r2l"),
    ("httptunnel", "r2l"),
    ("imap", "r2l"),
    ("ipsweep", "probe"),
    ("land", "dos"),
    ("loadmodule", "u2r"),
    ("mailbomb", "dos"),
    ("mscan", "probe"),
    ("multihop", "r2l"),
    ("named", "r2l"),
    ("neptune", "dos"),
    ("nmap", "probe"),
    ("perl", "u2r"),
    ("phf", "r2l"),
    ("pod", "dos"),
    ("portsweep", "probe"),
    ("processtable", "dos"),
    ("ps", "u2r"),
    ("rootkit", "u2r"),
    ("saint", "probe"),
    ("satan", "probe"),
    ("sendmail", "r2l"),
    ("smurf", "dos"),
    ("snmpgetattack", "r2l"),
    ("snmpguess", "r2l"),
    ("spy", "r2l"),
    ("sqlattack", "u2r"),
    ("teardrop", "dos"),
    ("udpstorm", "dos"),
    ("warezclient", "r2l"),
    ("warezmaster", "r2l"),
    ("worm", "dos"),
    ("xlock", "r2l"),
    ("xsnoop", "r2l"),
    ("xterm", "u2r"),
    ("normal", "normal"),
];

/// The ECS slot (or label role) a column fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    None,
    SourceIp,
    DestinationIp,
    SourcePort,
    DestinationPort,
    ProtocolNumber,
    ProtocolName,
    Service,
    Timestamp,
    DurationSeconds,
    DurationMicros,
    SourceBytes,
    DestinationBytes,
    SourcePackets,
    DestinationPackets,
    Label,
    AttackCategory,
}

/// One column of a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// The name as the layout spells it (the feature name).
    pub(crate) name: String,
    /// The attribute key: lowercase, spaces and slashes as `_`.
    pub(crate) key: String,
    /// The ECS slot or label role.
    pub(crate) slot: Slot,
    /// `Some(categorical)` when the column is a feature.
    pub(crate) feature: Option<bool>,
    /// Whether the column is kept as an attribute (identifiers that are not features).
    pub(crate) attribute: bool,
}

impl Column {
    fn new(name: &str, slot: Slot, feature: Option<bool>, attribute: bool) -> Self {
        let key = name
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Self {
            name: name.trim().to_owned(),
            key,
            slot,
            feature,
            attribute,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NslKdd,
    CicIds2017,
    UnswNb15,
    Unknown,
}

/// A flow CSV layout with its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    kind: Kind,
    columns: Option<Vec<Column>>,
}

impl Layout {
    /// A layout that reads nothing: every row becomes a dead letter.
    pub(crate) fn unknown() -> Self {
        Self {
            kind: Kind::Unknown,
            columns: None,
        }
    }

    /// The layout a file's first line announces, and whether that line is a header.
    pub(crate) fn from_first_line(bytes: &[u8]) -> (Self, bool) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_start_matches('\u{feff}').trim_end_matches('\r');
        let names: Vec<&str> = text.split(',').map(str::trim).collect();
        let first_is_number = names
            .first()
            .is_some_and(|cell| cell.parse::<f64>().is_ok());
        if first_is_number {
            return if matches!(names.len(), 41..=43) {
                (Self::nsl_kdd(), false)
            } else {
                (Self::unknown(), false)
            };
        }
        let has = |name: &str| names.iter().any(|cell| cell.eq_ignore_ascii_case(name));
        let layout = if has("sttl") && has("dttl") {
            Self::header(Kind::UnswNb15, &names)
        } else if has("Flow Duration") {
            Self::header(Kind::CicIds2017, &names)
        } else {
            Self::unknown()
        };
        (layout, true)
    }

    fn nsl_kdd() -> Self {
        let mut columns: Vec<Column> = NSL_KDD_FEATURES
            .iter()
            .map(|&name| {
                let slot = match name {
                    "duration" => Slot::DurationSeconds,
                    "protocol_type" => Slot::ProtocolName,
                    "service" => Slot::Service,
                    "src_bytes" => Slot::SourceBytes,
                    "dst_bytes" => Slot::DestinationBytes,
                    _ => Slot::None,
                };
                let categorical = matches!(name, "protocol_type" | "service" | "flag");
                Column::new(name, slot, Some(categorical), false)
            })
            .collect();
        columns.push(Column::new("label", Slot::Label, None, false));
        columns.push(Column::new("difficulty", Slot::None, None, true));
        Self {
            kind: Kind::NslKdd,
            columns: Some(columns),
        }
    }

    fn header(kind: Kind, names: &[&str]) -> Self {
        let columns = names
            .iter()
            .map(|name| match kind {
                Kind::UnswNb15 => unsw_column(name),
                _ => cic_column(name),
            })
            .collect();
        Self {
            kind,
            columns: Some(columns),
        }
    }

    /// The columns, unless the layout is unknown.
    pub(crate) fn columns(&self) -> Option<&[Column]> {
        self.columns.as_deref()
    }

    /// The layout's name, as [`rampart_core::FeatureRecord::layout`] spells it.
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            Kind::NslKdd => "nsl-kdd",
            Kind::CicIds2017 => "cic-ids2017",
            Kind::UnswNb15 => "unsw-nb15",
            Kind::Unknown => "unknown",
        }
    }

    /// The attribute prefix for identifier columns.
    pub(crate) fn attribute_prefix(&self) -> &'static str {
        match self.kind {
            Kind::NslKdd => "nsl_kdd",
            Kind::CicIds2017 => "cic_ids2017",
            Kind::UnswNb15 => "unsw_nb15",
            Kind::Unknown => "flow_csv",
        }
    }

    /// Whether a row of `cells` columns fits: NSL-KDD rows may omit the label and difficulty.
    pub(crate) fn accepts(&self, cells: usize) -> bool {
        match (&self.kind, &self.columns) {
            (Kind::NslKdd, _) => (41..=43).contains(&cells),
            (_, Some(columns)) => cells == columns.len(),
            (_, None) => false,
        }
    }

    /// The column count(s) the layout expects, for error messages.
    pub(crate) fn expected(&self) -> String {
        match (&self.kind, &self.columns) {
            (Kind::NslKdd, _) => "41 to 43".to_owned(),
            (_, Some(columns)) => columns.len().to_string(),
            (_, None) => "none".to_owned(),
        }
    }

    /// The ground truth of a row from its label and attack-category cells.
    pub(crate) fn ground_truth(
        &self,
        label: Option<&str>,
        category: Option<&str>,
    ) -> Option<GroundTruth> {
        let label = label.map(str::trim).filter(|label| !label.is_empty());
        let category = category
            .map(str::trim)
            .filter(|category| !category.is_empty());
        match self.kind {
            Kind::NslKdd => {
                let label = label?;
                let name = label.to_ascii_lowercase();
                Some(GroundTruth {
                    label: label.to_owned(),
                    malicious: Some(name != "normal"),
                    category: NSL_KDD_CATEGORIES
                        .iter()
                        .find(|(attack, _)| *attack == name)
                        .map(|(_, group)| (*group).to_owned())
                        .filter(|group| group != "normal"),
                })
            }
            Kind::CicIds2017 => {
                let label = label?;
                let benign = label.eq_ignore_ascii_case("BENIGN");
                let attempted = category.is_some_and(|cell| cell != "-1" && cell != "0");
                Some(GroundTruth {
                    label: label.to_owned(),
                    malicious: Some(!benign),
                    category: if attempted {
                        Some("attempted".to_owned())
                    } else {
                        cic_family(label)
                    },
                })
            }
            Kind::UnswNb15 => {
                let normal_category =
                    category.is_some_and(|cell| cell.eq_ignore_ascii_case("normal"));
                let malicious = match label {
                    Some("1") => Some(true),
                    Some("0") => Some(false),
                    _ => category.map(|_| !normal_category),
                };
                Some(GroundTruth {
                    label: category.or(label)?.to_owned(),
                    malicious,
                    category: category.filter(|_| !normal_category).map(str::to_owned),
                })
            }
            Kind::Unknown => None,
        }
    }
}

/// The attack family of a CIC-IDS2017 label.
fn cic_family(label: &str) -> Option<String> {
    let lower = label.to_ascii_lowercase();
    let family = if lower == "benign" {
        return None;
    } else if lower.starts_with("dos") || lower.starts_with("ddos") {
        "dos"
    } else if lower.contains("portscan") {
        "probe"
    } else if lower.contains("patator") {
        "brute-force"
    } else if lower.starts_with("web attack") {
        "web-attack"
    } else if lower.starts_with("bot") {
        "botnet"
    } else if lower.starts_with("infiltration") {
        "infiltration"
    } else if lower.starts_with("heartbleed") {
        "exploit"
    } else {
        return None;
    };
    Some(family.to_owned())
}

fn cic_column(name: &str) -> Column {
    let lower = name.trim().to_ascii_lowercase();
    let (slot, feature, attribute) = match lower.as_str() {
        "id" | "flow id" => (Slot::None, None, true),
        "src ip" | "source ip" => (Slot::SourceIp, None, false),
        "dst ip" | "destination ip" => (Slot::DestinationIp, None, false),
        "src port" | "source port" => (Slot::SourcePort, None, false),
        "dst port" | "destination port" => (Slot::DestinationPort, Some(false), false),
        "protocol" => (Slot::ProtocolNumber, Some(false), false),
        "timestamp" => (Slot::Timestamp, None, false),
        "flow duration" => (Slot::DurationMicros, Some(false), false),
        "total fwd packet" | "total fwd packets" => (Slot::SourcePackets, Some(false), false),
        "total bwd packets" | "total backward packets" => {
            (Slot::DestinationPackets, Some(false), false)
        }
        "total length of fwd packet" | "total length of fwd packets" => {
            (Slot::SourceBytes, Some(false), false)
        }
        "total length of bwd packet" | "total length of bwd packets" => {
            (Slot::DestinationBytes, Some(false), false)
        }
        "label" => (Slot::Label, None, false),
        "attempted category" => (Slot::AttackCategory, None, false),
        _ => (Slot::None, Some(false), false),
    };
    Column::new(name, slot, feature, attribute)
}

fn unsw_column(name: &str) -> Column {
    let lower = name.trim().to_ascii_lowercase();
    let (slot, feature, attribute) = match lower.as_str() {
        "id" | "stime" | "ltime" => (Slot::None, None, true),
        "srcip" => (Slot::SourceIp, None, false),
        "dstip" => (Slot::DestinationIp, None, false),
        "sport" => (Slot::SourcePort, None, false),
        "dsport" => (Slot::DestinationPort, None, false),
        "proto" => (Slot::ProtocolName, Some(true), false),
        "service" => (Slot::Service, Some(true), false),
        "state" => (Slot::None, Some(true), false),
        "dur" => (Slot::DurationSeconds, Some(false), false),
        "sbytes" => (Slot::SourceBytes, Some(false), false),
        "dbytes" => (Slot::DestinationBytes, Some(false), false),
        "spkts" => (Slot::SourcePackets, Some(false), false),
        "dpkts" => (Slot::DestinationPackets, Some(false), false),
        "attack_cat" => (Slot::AttackCategory, None, false),
        "label" => (Slot::Label, None, false),
        _ => (Slot::None, Some(false), false),
    };
    Column::new(name, slot, feature, attribute)
}
