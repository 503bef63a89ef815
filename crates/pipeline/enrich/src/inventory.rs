//! The asset and identity inventory: criticality, owner and tags per entity, from CSV.
//!
//! Columns (header required, any order, case-insensitive): `kind`, `value`, `criticality`,
//! and optionally `owner` and `tags` (separated by `;` or `|`). `kind` is an entity kind
//! (`host`, `user`, `ip`, `process`, `file_hash`, `domain`, `url`; `identity`/`account` mean
//! `user`, `asset`/`hostname` mean `host`). An `ip` value may be a CIDR block: an address
//! takes the entry of the most specific block holding it when it has none of its own.
//! Criticality is `1`–`5` or `low` (2), `medium` (3), `high` (4), `critical` (5).

use std::collections::HashMap;
use std::path::Path;

use rampart_core::{EntityKind, EntityRef};
use serde::{Deserialize, Serialize};

use crate::net::{IpNet, PrefixMap};
use crate::{ItemError, SourceInfo};

/// How much an asset matters, 1 (least) to 5 (most).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Criticality(u8);

impl Criticality {
    /// A criticality from 1 to 5.
    pub fn new(level: u8) -> Option<Self> {
        (1..=5).contains(&level).then_some(Self(level))
    }

    /// Reads `1`–`5` or `low`/`medium`/`high`/`critical`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        match text.as_str() {
            "low" => Some(Self(2)),
            "medium" | "med" => Some(Self(3)),
            "high" => Some(Self(4)),
            "critical" => Some(Self(5)),
            digits => digits.parse::<u8>().ok().and_then(Self::new),
        }
    }

    /// The level, 1–5.
    pub const fn level(self) -> u8 {
        self.0
    }
}

/// What the inventory knows about one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// The entity (for a CIDR entry, the block as an `ip` entity).
    pub entity: EntityRef,
    /// How much it matters.
    pub criticality: Criticality,
    /// Who owns it.
    pub owner: Option<String>,
    /// Free-form tags (`pci`, `domain-controller`, …).
    pub tags: Vec<String>,
    /// The inventory file and the line the entry came from (as `version`).
    pub source: SourceInfo,
}

/// The inventory, looked up by entity.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    assets: HashMap<EntityRef, Asset>,
    networks: PrefixMap<Asset>,
}

/// A row of an inventory file that was not loaded.
pub type RowError = ItemError;

fn entity_kind(text: &str) -> Option<EntityKind> {
    Some(
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "host" | "asset" | "hostname" | "server" | "workstation" => EntityKind::Host,
            "user" | "identity" | "account" => EntityKind::User,
            "ip" | "ip_address" | "network" | "cidr" => EntityKind::Ip,
            "process" => EntityKind::Process,
            "file_hash" | "hash" => EntityKind::FileHash,
            "domain" => EntityKind::Domain,
            "url" => EntityKind::Url,
            "email" | "e_mail" | "mail" => EntityKind::Email,
            _ => return None,
        },
    )
}

/// Where an inventory file keeps each field.
struct Columns {
    kind: usize,
    value: usize,
    criticality: usize,
    owner: Option<usize>,
    tags: Option<usize>,
}

/// Reads one row into an asset, with its network when the row is a CIDR block.
fn read_row(
    record: &csv::StringRecord,
    columns: &Columns,
    name: &str,
    line: u64,
) -> Result<(Asset, Option<IpNet>), String> {
    let get = |i: Option<usize>| i.and_then(|i| record.get(i)).filter(|v| !v.is_empty());
    let kind_text = get(Some(columns.kind)).ok_or("empty `kind`")?;
    let kind = entity_kind(kind_text).ok_or_else(|| {
        format!(
            "unknown kind `{kind_text}`; expected host, user, ip, process, file_hash, domain or url"
        )
    })?;
    let value = get(Some(columns.value)).ok_or("empty `value`")?;
    let criticality = get(Some(columns.criticality))
        .and_then(Criticality::parse)
        .ok_or_else(|| {
            format!(
                "criticality `{}` is not 1-5, low, medium, high or critical",
                get(Some(columns.criticality)).unwrap_or_default()
            )
        })?;
    let network = if kind == EntityKind::Ip {
        Some(
            IpNet::parse(value)
                .ok_or_else(|| format!("`{value}` is not an IP address or CIDR block"))?,
        )
    } else {
        None
    };
    let entity = EntityRef::new(
        kind,
        network.map_or_else(|| value.to_owned(), |n| n.to_string()),
    );
    let asset = Asset {
        entity,
        criticality,
        owner: get(columns.owner).map(str::to_owned),
        tags: get(columns.tags)
            .map(|t| {
                t.split([';', '|'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        source: SourceInfo::new(format!("inventory:{name}"), format!("line {line}")),
    };
    Ok((asset, network))
}

impl Inventory {
    /// Loads an inventory CSV. Rows that cannot be read are returned as errors naming the file
    /// and line; the other rows still load. A file that cannot be read at all is one error.
    pub fn load_csv(path: impl AsRef<Path>) -> (Self, Vec<RowError>) {
        let path = path.as_ref();
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => Self::from_csv(&name, &bytes),
            Err(err) => (
                Self::default(),
                vec![ItemError {
                    source: name,
                    item: "file".into(),
                    reason: format!("cannot read: {err}"),
                }],
            ),
        }
    }

    /// Reads inventory CSV bytes; `name` names the source in errors and assets.
    pub fn from_csv(name: &str, bytes: &[u8]) -> (Self, Vec<RowError>) {
        let mut inventory = Self::default();
        let mut errors = Vec::new();
        let mut error = |line: u64, reason: String| {
            errors.push(ItemError {
                source: name.to_owned(),
                item: format!("line {line}"),
                reason,
            });
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(bytes);
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(str::to_ascii_lowercase).collect(),
            Err(err) => {
                error(1, format!("cannot read the header: {err}"));
                return (inventory, errors);
            }
        };
        let column = |name: &str| header.iter().position(|h| h == name);
        let (Some(kind_col), Some(value_col), Some(crit_col)) =
            (column("kind"), column("value"), column("criticality"))
        else {
            error(
                1,
                "the header needs `kind`, `value` and `criticality` columns".into(),
            );
            return (inventory, errors);
        };
        let columns = Columns {
            kind: kind_col,
            value: value_col,
            criticality: crit_col,
            owner: column("owner"),
            tags: column("tags"),
        };
        let mut first_line: HashMap<EntityRef, u64> = HashMap::new();
        for record in reader.records() {
            let record = match record {
                Ok(record) => record,
                Err(err) => {
                    let line = err.position().map_or(0, csv::Position::line);
                    error(line, format!("not a CSV row: {err}"));
                    continue;
                }
            };
            let line = record.position().map_or(0, csv::Position::line);
            let (asset, network) = match read_row(&record, &columns, name, line) {
                Ok(row) => row,
                Err(reason) => {
                    error(line, reason);
                    continue;
                }
            };
            let entity = asset.entity.clone();
            if let Some(first) = first_line.get(&entity) {
                error(
                    line,
                    format!(
                        "`{entity}` is already listed on line {first}; the first entry is kept"
                    ),
                );
                continue;
            }
            first_line.insert(entity.clone(), line);
            match network {
                Some(net) if !net.is_host() => inventory.networks.insert(net, asset),
                _ => {
                    inventory.assets.insert(entity, asset);
                }
            }
        }
        (inventory, errors)
    }

    /// What the inventory says about an entity. IP addresses fall back to the most specific
    /// CIDR block that holds them.
    pub fn get(&self, entity: &EntityRef) -> Option<&Asset> {
        let address = (entity.kind == EntityKind::Ip)
            .then(|| entity.value.parse::<std::net::IpAddr>().ok())
            .flatten();
        // The inventory holds normalised values (lowercased names, canonical addresses).
        let normalised = match address {
            Some(ip) => EntityRef::new(EntityKind::Ip, ip.to_string()),
            None => EntityRef::new(entity.kind, entity.value.clone()),
        };
        self.assets.get(&normalised).or_else(|| {
            let ip = address?;
            self.networks.containing(ip).next().map(|(_, asset)| asset)
        })
    }

    /// How many entries (entities and blocks) the inventory holds.
    pub fn len(&self) -> usize {
        self.assets.len() + self.networks.len()
    }

    /// Whether the inventory is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\
kind,value,criticality,owner,tags
host,DC01,critical,it-ops,domain-controller;tier0
user,CORP\\Alice,4,hr,
ip,10.20.0.0/16,medium,netops,server-vlan
ip,10.20.1.5,high,netops,db
host,web01,extreme,web,
printer,p1,1,,
ip,10.20.0.300,2,,
host,dc01,1,dup,
domain,,3,,
";

    #[test]
    fn loads_rows_and_reports_bad_ones_by_line() {
        let (inventory, errors) = Inventory::from_csv("assets.csv", CSV.as_bytes());
        assert_eq!(inventory.len(), 4);
        let dc = inventory
            .get(&EntityRef::new(EntityKind::Host, "dc01"))
            .unwrap();
        assert_eq!(dc.criticality.level(), 5);
        assert_eq!(dc.owner.as_deref(), Some("it-ops"));
        assert_eq!(dc.tags, ["domain-controller", "tier0"]);
        assert_eq!(dc.source.version, "line 2");
        let upper = EntityRef {
            kind: EntityKind::Host,
            value: "DC01".into(),
        };
        assert_eq!(inventory.get(&upper), Some(dc));
        assert_eq!(
            inventory
                .get(&EntityRef::new(EntityKind::User, "corp\\alice"))
                .unwrap()
                .criticality
                .level(),
            4
        );
        let ip = |v: &str| EntityRef::new(EntityKind::Ip, v);
        assert_eq!(inventory.get(&ip("10.20.1.5")).unwrap().tags, ["db"]);
        assert_eq!(
            inventory.get(&ip("10.20.9.9")).unwrap().criticality.level(),
            3
        );
        assert!(inventory.get(&ip("10.21.0.1")).is_none());
        let (v6, _) =
            Inventory::from_csv("v6.csv", b"kind,value,criticality\nip,2001:DB8::0:1,5\n");
        assert_eq!(v6.get(&ip("2001:db8::1")).unwrap().criticality.level(), 5);
        let lines: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.item.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[0].0, "line 6");
        assert!(lines[0].1.contains("extreme"));
        assert!(lines[1].1.contains("printer"));
        assert!(lines[2].1.contains("10.20.0.300"));
        assert!(lines[3].1.contains("line 2"));
        assert_eq!(lines[4], ("line 10", "empty `value`"));
        assert!(errors.iter().all(|e| e.source == "assets.csv"));
    }

    #[test]
    fn missing_columns_and_files_are_errors() {
        let (inventory, errors) = Inventory::from_csv("x.csv", b"kind,value\nhost,a\n");
        assert!(inventory.is_empty());
        assert!(errors[0].reason.contains("criticality"));
        let (_, errors) = Inventory::load_csv("/nonexistent/inventory.csv");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].source.contains("/nonexistent/inventory.csv"));
    }

    #[test]
    fn criticality_words_and_numbers() {
        assert_eq!(Criticality::parse("HIGH").unwrap().level(), 4);
        assert_eq!(Criticality::parse(" 1 ").unwrap().level(), 1);
        assert!(Criticality::parse("0").is_none());
        assert!(Criticality::parse("6").is_none());
    }
}
