//! The committed compact catalogue against MITRE's data in the shared data folder.
//!
//! `regenerate_committed_catalog` (ignored) rewrites `data/attack-catalog.tsv`;
//! `committed_catalog_matches_shared_data` fails when the committed file drifts from what the
//! shared data gives, and skips loudly when the shared data is absent.

#![expect(clippy::unwrap_used, reason = "test setup fails the test by panicking")]

use std::path::{Path, PathBuf};

use rampart_enrich::Catalog;

fn shared_data() -> Option<PathBuf> {
    let root = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    root.join("mitre-attack-enterprise-v18.1")
        .is_dir()
        .then_some(root)
}

fn committed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/attack-catalog.tsv")
}

fn from_shared(root: &Path) -> Catalog {
    let mut catalog =
        Catalog::from_attack_bundle(root.join("mitre-attack-enterprise-v18.1")).unwrap();
    let yaml = std::fs::read_to_string(root.join("mitre-atlas/ATLAS.yaml")).unwrap();
    let atlas: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    catalog.add_atlas(&atlas).unwrap();
    catalog
}

#[test]
#[ignore = "rewrites data/attack-catalog.tsv from the shared data"]
fn regenerate_committed_catalog() {
    let root = shared_data()
        .expect("shared data folder with mitre-attack-enterprise-v18.1 and mitre-atlas");
    std::fs::write(committed_path(), from_shared(&root).to_tsv()).unwrap();
}

#[test]
fn committed_catalog_matches_shared_data() {
    let Some(root) = shared_data() else {
        eprintln!("SKIPPED catalogue drift check: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let generated = from_shared(&root).to_tsv();
    let committed = std::fs::read_to_string(committed_path()).unwrap();
    assert!(
        committed == generated,
        "data/attack-catalog.tsv differs from the shared data; regenerate it with \
         `cargo test -p rampart-enrich --test catalog -- --ignored regenerate_committed_catalog`"
    );
}

#[test]
fn shared_data_builds_the_full_catalogue() {
    let Some(root) = shared_data() else {
        eprintln!("SKIPPED catalogue counts: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let catalog = from_shared(&root);
    let attack = catalog
        .techniques()
        .into_iter()
        .filter(|t| t.source.name == "attack-enterprise")
        .count();
    let atlas = catalog
        .techniques()
        .into_iter()
        .filter(|t| t.source.name == "atlas")
        .count();
    // PROVENANCE.md: 835 attack patterns; ATLAS 5.6.0: 170 techniques.
    assert_eq!((attack, atlas), (835, 170));
    let versions: Vec<(&str, &str)> = catalog
        .sources()
        .iter()
        .map(|s| (s.name.as_str(), s.version.as_str()))
        .collect();
    assert_eq!(
        versions,
        [("attack-enterprise", "18.1"), ("atlas", "5.6.0")]
    );
    assert_eq!(catalog.tactics().len(), 14 + 16);
    // Every active ATT&CK technique has at least one tactic; revoked ones mostly map onward.
    for t in catalog.techniques() {
        if !t.revoked && !t.deprecated {
            assert!(!t.tactics.is_empty(), "{} has no tactic", t.id);
        }
    }
    let revoked = catalog
        .techniques()
        .into_iter()
        .filter(|t| t.revoked)
        .count();
    let mapped = catalog
        .techniques()
        .into_iter()
        .filter(|t| t.revoked_by.is_some())
        .count();
    assert_eq!(revoked, 132);
    assert!(
        mapped >= 120,
        "{mapped} of {revoked} revoked techniques map to a replacement"
    );
    let cmd = catalog.technique("T1059.003").unwrap();
    assert_eq!(cmd.name, "Windows Command Shell");
    let prompt = catalog.technique("AML.T0051.000").unwrap();
    assert_eq!(
        prompt.tactics,
        catalog.technique("AML.T0051").unwrap().tactics
    );
    assert!(!prompt.tactics.is_empty());
}
