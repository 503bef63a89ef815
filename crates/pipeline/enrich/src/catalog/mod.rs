//! The ATT&CK Enterprise and ATLAS catalogue: technique ids to names and tactics, tactics to
//! names and kill-chain order.
//!
//! [`Catalog::embedded`] reads the compact catalogue committed in `data/attack-catalog.tsv`
//! (generated from MITRE's data by an ignored test, see the file's header), so the binary
//! needs no data files at run time. [`Catalog::from_attack_bundle`] builds one from ATT&CK's
//! STIX bundle or its lookup files, and [`Catalog::add_atlas`] adds ATLAS.

mod build;
mod tsv;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::SourceInfo;

/// The committed compact catalogue.
const EMBEDDED: &str = include_str!("../../data/attack-catalog.tsv");

/// Which knowledge base an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// MITRE ATT&CK Enterprise.
    AttackEnterprise,
    /// MITRE ATLAS.
    Atlas,
}

impl Framework {
    /// The source name recorded on enrichments: `attack-enterprise` or `atlas`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AttackEnterprise => "attack-enterprise",
            Self::Atlas => "atlas",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "attack-enterprise" => Some(Self::AttackEnterprise),
            "atlas" => Some(Self::Atlas),
            _ => None,
        }
    }
}

/// A tactic: the adversary's goal at one stage of the kill chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tactic {
    /// `TA0002`, `AML.TA0005`.
    pub id: String,
    /// `execution`, `command-and-control` (ATLAS tactics get the slug of their name).
    pub shortname: String,
    /// `Execution`.
    pub name: String,
    /// Kill-chain position: ATT&CK tactics are 10, 20, … in matrix order; an ATLAS tactic
    /// shares the position of the ATT&CK tactic it references, or sits 5 after the one before
    /// it in the ATLAS matrix.
    pub order: u16,
    /// Where it is defined.
    pub framework: Framework,
}

/// A technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// `T1059.001`, `AML.T0051`.
    pub id: String,
    /// `PowerShell`.
    pub name: String,
    /// Its tactics in kill-chain order (sub-techniques have their parent's).
    pub tactics: Vec<Tactic>,
    /// Deprecated by MITRE: still resolves, but should not be used for new mappings.
    pub deprecated: bool,
    /// Revoked by MITRE; [`Technique::revoked_by`] names the replacement when known.
    pub revoked: bool,
    /// The technique that replaced a revoked one.
    pub revoked_by: Option<String>,
    /// Where it is defined, with the knowledge base's version.
    pub source: SourceInfo,
}

/// Techniques and tactics of ATT&CK Enterprise and ATLAS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    techniques: HashMap<String, Technique>,
    tactics: Vec<Tactic>,
    /// Lowercased id, shortname and name → index into `tactics`.
    tactic_keys: HashMap<String, usize>,
    sources: Vec<SourceInfo>,
}

impl Catalog {
    /// The compact catalogue committed with Rampart (ATT&CK Enterprise and ATLAS).
    pub fn embedded() -> Self {
        // INVARIANT: the committed file parses; a unit test holds it to that. Should it ever
        // not, an empty catalogue degrades enrichment without stopping the pipeline.
        Self::from_tsv(EMBEDDED).unwrap_or_default()
    }

    /// The knowledge bases in the catalogue, with their versions.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// A technique by id (`T1059`, `t1059.001`, `AML.T0051`). Revoked and deprecated ones
    /// resolve too, flagged; see [`Catalog::resolve`] to follow revocations.
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(id.trim().to_ascii_uppercase().as_str())
    }

    /// A technique by id, following `revoked-by` to the current technique when revoked.
    pub fn resolve(&self, id: &str) -> Option<&Technique> {
        let mut technique = self.technique(id)?;
        // Bounded: revocation chains are short, and a cycle must not hang.
        for _ in 0..8 {
            match technique
                .revoked_by
                .as_deref()
                .and_then(|next| self.technique(next))
            {
                Some(next) if technique.revoked => technique = next,
                _ => break,
            }
        }
        Some(technique)
    }

    /// A tactic by shortname (`execution`), id (`TA0002`, `AML.TA0005`) or name
    /// (`Command and Control`), case-insensitively. ATT&CK wins where ATLAS shares a name.
    pub fn tactic(&self, key: &str) -> Option<&Tactic> {
        self.tactic_keys
            .get(key.trim().to_lowercase().as_str())
            .and_then(|i| self.tactics.get(*i))
    }

    /// Every tactic, ATT&CK first, each in kill-chain order.
    pub fn tactics(&self) -> &[Tactic] {
        &self.tactics
    }

    /// How many techniques (and sub-techniques) the catalogue holds.
    pub fn technique_count(&self) -> usize {
        self.techniques.len()
    }

    /// Every technique, sorted by id.
    pub fn techniques(&self) -> Vec<&Technique> {
        let mut all: Vec<&Technique> = self.techniques.values().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Sorts tactic names, shortnames or ids into kill-chain order (unknown ones last, in
    /// their given order) and removes repeats of the same tactic.
    pub fn order_tactics(&self, tactics: &mut Vec<String>) {
        tactics.sort_by_key(|t| self.tactic(t).map_or(u16::MAX, |t| t.order));
        let mut seen = Vec::new();
        tactics.retain(|t| {
            let key = self.tactic(t).map_or_else(|| t.clone(), |t| t.id.clone());
            if seen.contains(&key) {
                false
            } else {
                seen.push(key);
                true
            }
        });
    }

    fn insert_tactic(&mut self, tactic: Tactic) {
        let index = self.tactics.len();
        for key in [&tactic.id, &tactic.shortname, &tactic.name] {
            self.tactic_keys.entry(key.to_lowercase()).or_insert(index);
        }
        for (alias, id) in TACTIC_ALIASES {
            if tactic.id == id {
                self.tactic_keys.entry(alias.to_owned()).or_insert(index);
            }
        }
        self.tactics.push(tactic);
    }

    fn insert_source(&mut self, source: SourceInfo) {
        if !self.sources.contains(&source) {
            self.sources.push(source);
        }
    }
}

/// Tactic names newer than the catalogue's ATT&CK release, mapped to the tactic they came from.
/// `SigmaHQ` rules (2026) tag `attack.stealth` and `attack.defense-impairment`, the two halves
/// into which later ATT&CK releases split Defense Evasion (TA0005 in v18.1).
const TACTIC_ALIASES: [(&str, &str); 2] = [("stealth", "TA0005"), ("defense-impairment", "TA0005")];

pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_parses_and_resolves() {
        let text_parses = Catalog::from_tsv(EMBEDDED);
        assert!(text_parses.is_ok(), "{:?}", text_parses.err());
        let catalog = Catalog::embedded();
        assert!(
            catalog.technique_count() > 900,
            "{}",
            catalog.technique_count()
        );
        let powershell = catalog.technique("t1059.001").unwrap();
        assert_eq!(powershell.name, "PowerShell");
        assert_eq!(powershell.tactics[0].shortname, "execution");
        assert_eq!(powershell.source.name, "attack-enterprise");
        assert_eq!(powershell.source.version, "18.1");
        let injection = catalog.technique("AML.T0051").unwrap();
        assert_eq!(injection.name, "LLM Prompt Injection");
        assert_eq!(injection.source.name, "atlas");
        let execution = catalog.tactic("TA0002").unwrap();
        assert_eq!(
            (execution.shortname.as_str(), execution.name.as_str()),
            ("execution", "Execution")
        );
        assert_eq!(catalog.tactic("execution"), Some(execution));
        assert_eq!(catalog.tactic("Command and Control").unwrap().id, "TA0011");
        assert_eq!(
            catalog.tactic("AML.TA0000").unwrap().name,
            "AI Model Access"
        );
    }

    #[test]
    fn orders_tactics_by_kill_chain() {
        let catalog = Catalog::embedded();
        let mut tactics = vec![
            "impact".to_owned(),
            "unknown".to_owned(),
            "TA0001".to_owned(),
            "execution".to_owned(),
            "reconnaissance".to_owned(),
            "Execution".to_owned(),
        ];
        catalog.order_tactics(&mut tactics);
        assert_eq!(
            tactics,
            ["reconnaissance", "TA0001", "execution", "impact", "unknown"]
        );
        let order = |k: &str| catalog.tactic(k).unwrap().order;
        assert!(order("AML.TA0000") > order("initial-access"));
        assert!(order("AML.TA0000") < order("execution"));
    }

    #[test]
    fn revoked_techniques_resolve_to_their_replacement() {
        let catalog = Catalog::embedded();
        let revoked = catalog
            .techniques()
            .into_iter()
            .find(|t| t.revoked && t.revoked_by.is_some())
            .unwrap();
        let current = catalog.resolve(&revoked.id).unwrap();
        assert!(!current.revoked, "{} -> {}", revoked.id, current.id);
        assert_ne!(current.id, revoked.id);
        assert!(catalog.techniques().iter().any(|t| t.deprecated));
    }
}

#[cfg(test)]
mod alias_tests {
    use super::Catalog;

    #[test]
    fn newer_sigma_tactic_names_resolve_to_defense_evasion() {
        let catalog = Catalog::embedded();
        for name in ["stealth", "Stealth", "defense-impairment"] {
            let tactic = catalog.tactic(name).expect(name);
            assert_eq!(tactic.id, "TA0005", "{name}");
        }
        let mut tactics = vec![
            "stealth".to_owned(),
            "execution".to_owned(),
            "defense-evasion".to_owned(),
        ];
        catalog.order_tactics(&mut tactics);
        assert_eq!(tactics, ["execution", "stealth"]);
    }
}
