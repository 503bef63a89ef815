//! The compact catalogue file: tab-separated lines, one per source, tactic and technique.
//!
//! ```text
//! source     <framework> <version>
//! tactic     <framework> <id> <shortname> <name> <order>
//! technique  <framework> <id> <name> <tactic ids, comma-separated> <flags> <revoked-by>
//! ```
//!
//! `flags` is `-` or a comma-separated subset of `deprecated`, `revoked`; an empty field is
//! `-`. Lines starting with `#` are comments (the attribution).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Catalog, Framework, Tactic, Technique};
use crate::{EnrichError, SourceInfo};

const HEADER: &str = "\
# Rampart's compact ATT&CK Enterprise and ATLAS catalogue: technique ids to names and tactics.
# Generated from MITRE's data; regenerate with
#   cargo test -p rampart-enrich --test catalog -- --ignored regenerate_committed_catalog
# MITRE ATT&CK: (c) The MITRE Corporation, used under the ATT&CK Terms of Use. MITRE ATT&CK and
# ATT&CK are registered trademarks of The MITRE Corporation.
# MITRE ATLAS: (c) The MITRE Corporation, Apache License 2.0. See ATTRIBUTION.md beside this file.
";

fn bad(line: usize, reason: impl Into<String>) -> EnrichError {
    EnrichError::Format {
        path: format!("attack-catalog.tsv line {line}").into(),
        what: "catalogue file",
        reason: reason.into(),
    }
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

impl Catalog {
    /// Writes the catalogue in the compact format: sorted, so equal catalogues give equal
    /// bytes.
    pub fn to_tsv(&self) -> String {
        let mut out = String::from(HEADER);
        for source in &self.sources {
            let _ = writeln!(out, "source\t{}\t{}", source.name, or_dash(&source.version));
        }
        let mut tactics: Vec<&Tactic> = self.tactics.iter().collect();
        tactics.sort_by(|a, b| (a.framework, a.order, &a.id).cmp(&(b.framework, b.order, &b.id)));
        for t in tactics {
            let _ = writeln!(
                out,
                "tactic\t{}\t{}\t{}\t{}\t{}",
                t.framework.as_str(),
                t.id,
                t.shortname,
                clean(&t.name),
                t.order
            );
        }
        for t in self.techniques() {
            let framework = Framework::parse(&t.source.name).unwrap_or(Framework::AttackEnterprise);
            let tactics: Vec<&str> = t.tactics.iter().map(|t| t.id.as_str()).collect();
            let mut flags = Vec::new();
            if t.deprecated {
                flags.push("deprecated");
            }
            if t.revoked {
                flags.push("revoked");
            }
            let _ = writeln!(
                out,
                "technique\t{}\t{}\t{}\t{}\t{}\t{}",
                framework.as_str(),
                t.id,
                clean(&t.name),
                or_dash(&tactics.join(",")),
                or_dash(&flags.join(",")),
                or_dash(t.revoked_by.as_deref().unwrap_or_default())
            );
        }
        out
    }

    /// Reads a catalogue in the compact format.
    pub fn from_tsv(text: &str) -> Result<Self, EnrichError> {
        let mut catalog = Self::default();
        let mut versions: HashMap<Framework, String> = HashMap::new();
        let mut tactic_ids: HashMap<String, usize> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let number = n + 1;
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let field = |i: usize| {
                fields
                    .get(i)
                    .copied()
                    .ok_or_else(|| bad(number, format!("missing field {}", i + 1)))
            };
            let framework = Framework::parse(field(1)?).ok_or_else(|| {
                bad(
                    number,
                    format!("unknown framework `{}`", fields.get(1).unwrap_or(&"")),
                )
            })?;
            let dash = |text: &str| {
                if text == "-" {
                    String::new()
                } else {
                    text.to_owned()
                }
            };
            match field(0)? {
                "source" => {
                    let version = dash(field(2)?);
                    versions.insert(framework, version.clone());
                    catalog.insert_source(SourceInfo::new(framework.as_str(), version));
                }
                "tactic" => {
                    let order = field(5)?
                        .parse::<u16>()
                        .map_err(|_| bad(number, "tactic order is not an integer"))?;
                    tactic_ids.insert(field(2)?.to_owned(), catalog.tactics.len());
                    catalog.insert_tactic(Tactic {
                        id: field(2)?.to_owned(),
                        shortname: field(3)?.to_owned(),
                        name: field(4)?.to_owned(),
                        order,
                        framework,
                    });
                }
                "technique" => {
                    let mut tactics = Vec::new();
                    for id in field(4)?.split(',').filter(|t| *t != "-" && !t.is_empty()) {
                        let tactic = tactic_ids
                            .get(id)
                            .and_then(|i| catalog.tactics.get(*i))
                            .ok_or_else(|| bad(number, format!("unknown tactic `{id}`")))?;
                        tactics.push(tactic.clone());
                    }
                    let flags = field(5)?;
                    let id = field(2)?.to_owned();
                    catalog.techniques.insert(
                        id.clone(),
                        Technique {
                            id,
                            name: field(3)?.to_owned(),
                            tactics,
                            deprecated: flags.split(',').any(|f| f == "deprecated"),
                            revoked: flags.split(',').any(|f| f == "revoked"),
                            revoked_by: Some(dash(field(6)?)).filter(|r| !r.is_empty()),
                            source: SourceInfo::new(
                                framework.as_str(),
                                versions.get(&framework).cloned().unwrap_or_default(),
                            ),
                        },
                    );
                }
                other => return Err(bad(number, format!("unknown record `{other}`"))),
            }
        }
        Ok(catalog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_lines() {
        let catalog = Catalog::embedded();
        let text = catalog.to_tsv();
        assert_eq!(Catalog::from_tsv(&text).unwrap(), catalog);
        let err =
            Catalog::from_tsv("technique\tattack-enterprise\tT1\tX\tTA9999\t-\t-\n").unwrap_err();
        assert!(err.to_string().contains("unknown tactic `TA9999`"), "{err}");
        assert!(Catalog::from_tsv("tactic\tnope\n").is_err());
        assert!(Catalog::from_tsv("tactic\tatlas\tA\tb\tC\n").is_err());
    }
}
