//! One uniform record for every piece of context the stage attaches, with its source.

use rampart_core::EntityRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Asset, Catalog, IndicatorMatch, Inventory, SourceInfo, Technique};

/// What kind of context an [`Enrichment`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrichmentKind {
    /// An ATT&CK or ATLAS technique (`detail` is a [`Technique`]).
    Technique,
    /// A threat-intel indicator match (`detail` is an [`IndicatorMatch`]).
    Indicator,
    /// An inventory entry (`detail` is an [`Asset`]).
    Asset,
}

/// One piece of context about an event or alert, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    /// The source and its version: `attack-enterprise` `18.1`, `stix:<file>` with the bundle
    /// id, `ioc:<file>` with the feed date, `inventory:<file>` with the line.
    pub source: SourceInfo,
    /// What kind of context.
    pub kind: EnrichmentKind,
    /// What it is about: a technique id, an indicator id, an entity (`ip:10.0.0.1`).
    pub subject: String,
    /// The context itself, as JSON.
    pub detail: Value,
}

impl Enrichment {
    /// The enrichment a technique gives.
    pub fn technique(technique: &Technique) -> Self {
        Self {
            source: technique.source.clone(),
            kind: EnrichmentKind::Technique,
            subject: technique.id.clone(),
            detail: serde_json::to_value(technique).unwrap_or(Value::Null),
        }
    }

    /// The enrichment an indicator match gives.
    pub fn indicator(m: &IndicatorMatch) -> Self {
        Self {
            source: m.source.clone(),
            kind: EnrichmentKind::Indicator,
            subject: m.indicator_id.clone(),
            detail: serde_json::to_value(m).unwrap_or(Value::Null),
        }
    }

    /// The enrichment an inventory entry gives about an entity.
    pub fn asset(entity: &EntityRef, asset: &Asset) -> Self {
        Self {
            source: asset.source.clone(),
            kind: EnrichmentKind::Asset,
            subject: entity.to_string(),
            detail: serde_json::to_value(asset).unwrap_or(Value::Null),
        }
    }
}

impl Catalog {
    /// The enrichments for technique ids (unknown ids are skipped; revoked ones resolve to
    /// their replacement).
    pub fn enrich(&self, technique_ids: &[String]) -> Vec<Enrichment> {
        technique_ids
            .iter()
            .filter_map(|id| self.resolve(id))
            .map(Enrichment::technique)
            .collect()
    }

    /// The tactics (shortnames) of technique ids, in kill-chain order, without repeats.
    pub fn tactics_of(&self, technique_ids: &[String]) -> Vec<String> {
        let mut tactics: Vec<String> = technique_ids
            .iter()
            .filter_map(|id| self.resolve(id))
            .flat_map(|t| t.tactics.iter().map(|tactic| tactic.id.clone()))
            .collect();
        self.order_tactics(&mut tactics);
        tactics
            .iter()
            .filter_map(|id| self.tactic(id))
            .map(|t| t.shortname.clone())
            .collect()
    }
}

impl Inventory {
    /// The enrichments for entities the inventory knows.
    pub fn enrich(&self, entities: &[EntityRef]) -> Vec<Enrichment> {
        entities
            .iter()
            .filter_map(|entity| {
                self.get(entity)
                    .map(|asset| Enrichment::asset(entity, asset))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::EntityKind;

    use super::*;

    #[test]
    fn enrichments_record_their_source_and_version() {
        let catalog = Catalog::embedded();
        let found = catalog.enrich(&[
            "T1059.001".to_owned(),
            "T9999".to_owned(),
            "AML.T0051".to_owned(),
        ]);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].source,
            SourceInfo::new("attack-enterprise", "18.1")
        );
        assert_eq!(found[0].detail["name"], "PowerShell");
        assert_eq!(found[1].source, SourceInfo::new("atlas", "5.6.0"));
        let tactics = catalog.tactics_of(&[
            "T1566.001".to_owned(),
            "T1059.001".to_owned(),
            "T1486".to_owned(),
        ]);
        assert_eq!(tactics, ["initial-access", "execution", "impact"]);

        let (inventory, _) =
            Inventory::from_csv("assets.csv", b"kind,value,criticality\nhost,web01,high\n");
        let host = EntityRef::new(EntityKind::Host, "WEB01");
        let found = inventory.enrich(&[host, EntityRef::new(EntityKind::Host, "x")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "host:web01");
        assert_eq!(
            found[0].source,
            SourceInfo::new("inventory:assets.csv", "line 2")
        );
        assert_eq!(found[0].detail["criticality"], 4);
    }
}
