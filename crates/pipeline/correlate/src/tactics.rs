//! Kill-chain order of ATT&CK tactics, so an incident lists its tactics as the attack progressed.

/// Ranks tactic names in kill-chain order.
///
/// The ATT&CK catalogue lives in the enrichment stage; this trait lets the binary pass its
/// order in without correlation depending on that stage. Any `Fn(&str) -> Option<usize>` is a
/// `TacticOrder`.
pub trait TacticOrder: Send + Sync {
    /// The tactic's position in the kill chain (smaller is earlier), or `None` when unknown.
    ///
    /// Receives the name as written on the alert; implementations normalise it themselves
    /// ([`normalise_tactic`] does what [`KillChain`] does).
    fn rank(&self, tactic: &str) -> Option<usize>;

    /// The canonical name to show for a tactic (the input when it is unknown).
    fn canonical(&self, tactic: &str) -> String {
        normalise_tactic(tactic)
    }
}

impl<F> TacticOrder for F
where
    F: Fn(&str) -> Option<usize> + Send + Sync,
{
    fn rank(&self, tactic: &str) -> Option<usize> {
        self(tactic)
    }
}

/// The ATT&CK Enterprise tactics by shortname, in kill-chain order.
pub const ENTERPRISE_TACTICS: [&str; 14] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// ATT&CK tactic ids (`TA0043`, …) in the same order as [`ENTERPRISE_TACTICS`].
const ENTERPRISE_TACTIC_IDS: [&str; 14] = [
    "ta0043", "ta0042", "ta0001", "ta0002", "ta0003", "ta0004", "ta0005", "ta0006", "ta0007",
    "ta0008", "ta0009", "ta0011", "ta0010", "ta0040",
];

/// Newer tactic names that Sigma rules from the `SigmaHQ` repository use for the two halves of
/// Defense Evasion; they rank (and read) as `defense-evasion`, as in ATT&CK Enterprise v18.1.
const DEFENSE_EVASION_ALIASES: [&str; 2] = ["stealth", "defense-impairment"];

/// The default order: ATT&CK Enterprise, accepting shortnames (`credential-access`), display
/// names (`Credential Access`), Sigma tags (`attack.credential_access`), ids (`TA0006`) and
/// the `stealth` and `defense-impairment` of newer Sigma rules (as Defense Evasion).
#[derive(Debug, Clone, Copy, Default)]
pub struct KillChain;

impl TacticOrder for KillChain {
    fn rank(&self, tactic: &str) -> Option<usize> {
        let name = normalise_tactic(tactic);
        ENTERPRISE_TACTICS
            .iter()
            .position(|t| *t == name)
            .or_else(|| ENTERPRISE_TACTIC_IDS.iter().position(|t| *t == name))
            .or_else(|| {
                DEFENSE_EVASION_ALIASES
                    .contains(&name.as_str())
                    .then(|| {
                        ENTERPRISE_TACTICS
                            .iter()
                            .position(|t| *t == "defense-evasion")
                    })
                    .flatten()
            })
    }

    fn canonical(&self, tactic: &str) -> String {
        self.rank(tactic)
            .and_then(|i| ENTERPRISE_TACTICS.get(i))
            .map_or_else(|| normalise_tactic(tactic), |t| (*t).to_owned())
    }
}

/// Lowercases a tactic name, drops an `attack.` prefix and joins words with `-`.
pub fn normalise_tactic(tactic: &str) -> String {
    let lower = tactic.trim().to_lowercase();
    let bare = lower.strip_prefix("attack.").unwrap_or(&lower);
    bare.split([' ', '_', '-'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Sorts and deduplicates tactics in kill-chain order; unknown tactics follow, alphabetically.
pub fn order_tactics<'a>(
    order: &dyn TacticOrder,
    tactics: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut ranked: Vec<(usize, String)> = tactics
        .into_iter()
        .map(|t| (order.rank(t).unwrap_or(usize::MAX), order.canonical(t)))
        .collect();
    ranked.sort();
    ranked.dedup_by(|a, b| a.1 == b.1);
    ranked.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_spelling() {
        for name in [
            "credential-access",
            "Credential Access",
            "attack.credential_access",
            "TA0006",
        ] {
            assert_eq!(KillChain.rank(name), Some(7), "{name}");
            assert_eq!(KillChain.canonical(name), "credential-access");
        }
        assert_eq!(KillChain.rank("nonsense"), None);
        for name in ["stealth", "attack.defense_impairment", "Defense Impairment"] {
            assert_eq!(KillChain.canonical(name), "defense-evasion", "{name}");
        }
    }

    #[test]
    fn orders_by_kill_chain_then_unknown() {
        let got = order_tactics(
            &KillChain,
            [
                "impact",
                "zzz-custom",
                "Initial Access",
                "impact",
                "execution",
            ],
        );
        assert_eq!(got, ["initial-access", "execution", "impact", "zzz-custom"]);
    }

    #[test]
    fn closures_are_orders() {
        let reversed = |t: &str| KillChain.rank(t).map(|r| 100 - r);
        let got = order_tactics(&reversed, ["execution", "impact"]);
        assert_eq!(got, ["impact", "execution"]);
    }

    /// Every tactic that a real ATT&CK Enterprise technique names is known to the default order.
    #[test]
    fn knows_every_attack_enterprise_tactic() {
        let root = std::env::var("RAMPART_SHARED_DATA").map_or_else(
            |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
            std::path::PathBuf::from,
        );
        let path = root.join("mitre-attack-enterprise-v18.1/attack-patterns-lookup-v18.1.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("SKIPPED: {} is absent", path.display());
            return;
        };
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for pattern in doc["attack_patterns"].as_array().unwrap() {
            for tactic in pattern["tactics"].as_array().into_iter().flatten() {
                seen.insert(tactic.as_str().unwrap().to_owned());
            }
        }
        assert_eq!(seen.len(), 14, "{seen:?}");
        for tactic in &seen {
            assert!(
                KillChain.rank(tactic).is_some(),
                "unknown tactic `{tactic}`"
            );
        }
    }
}
