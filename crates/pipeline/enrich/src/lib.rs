//! Threat-intel enrichment: STIX 2.1 indicator patterns, IOC lists, allow-lists, ATT&CK/ATLAS
//! catalogues and the asset inventory.
//!
//! Inputs are STIX 2.1 objects (as `serde_json::Value`, from bundle files or from the store's
//! intel objects), IOC lists (CSV or text), MISP warninglists, MITRE's ATT&CK and ATLAS data
//! and an inventory CSV. Outputs are [`IndicatorMatch`]es and [`Alert`](rampart_core::Alert)s
//! for events, [`Technique`]/[`Tactic`] lookups and [`Asset`]s for entities. Every result
//! names the source and version it came from ([`SourceInfo`]).
//!
//! The main design decision is that indicators are indexed by the observables their
//! patterns require (hash maps for exact values, one map per prefix length for CIDR blocks),
//! so matching an event costs a probe per observable, not a pass over every indicator; and
//! that a pattern is either evaluated exactly as written or rejected with a reason, never
//! half-read.
//!
//! ```
//! use rampart_core::{ContentHash, Ecs, Event, Position, Provenance};
//! use rampart_enrich::{IntelStore, SourceInfo};
//!
//! let mut store = IntelStore::new();
//! let indicator = serde_json::json!({
//!     "type": "indicator", "spec_version": "2.1",
//!     "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
//!     "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
//!     "name": "C2 range", "confidence": 85,
//!     "pattern": "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
//!     "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z"
//! });
//! store.add_stix_object(&indicator, &SourceInfo::new("example", "1"))?;
//!
//! let mut ecs = Ecs::default();
//! ecs.destination.ip = Some("198.51.100.7".parse().unwrap());
//! let provenance = Provenance {
//!     source: "conn.log".into(),
//!     position: Position::Line(1),
//!     format: None,
//!     parser: "example".into(),
//!     ingested_at: chrono::Utc::now(),
//!     content_hash: ContentHash::of(b"x"),
//! };
//! let event = Event::new(ecs, "x".into(), provenance);
//! let now = "2016-02-01T00:00:00Z".parse().unwrap();
//! let matches = store.match_event(&event, now);
//! assert_eq!(matches.len(), 1);
//! assert_eq!(matches[0].observables[0].field, "destination.ip");
//! let alerts = store.alerts_for(&event, now);
//! assert_eq!(alerts[0].level, rampart_core::Level::High);
//! # Ok::<(), rampart_enrich::EnrichError>(())
//! ```

mod catalog;
mod decay;
mod enrichment;
mod error;
mod indicator;
mod inventory;
mod ioc;
mod matching;
mod net;
mod observed;
mod pattern;
mod store;
#[cfg(test)]
mod testkit;
mod warninglist;

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Framework, Tactic, Technique};
pub use decay::DecayRule;
pub use enrichment::{Enrichment, EnrichmentKind};
pub use error::{EnrichError, ItemError, LoadReport};
pub use indicator::{DEFAULT_BASE_SCORE, Inactive, Indicator, Tlp};
pub use inventory::{Asset, Criticality, Inventory, RowError};
pub use matching::{IndicatorMatch, MatchedObservable, alert_for};
pub use net::IpNet;
pub use pattern::{MAX_PATTERN_BYTES, Pattern, PatternError};
pub use store::{Added, IntelStore, MAX_FILE_BYTES};
pub use warninglist::Suppression;

/// Where an enrichment came from: a source name and its version, e.g. `attack-enterprise`
/// `18.1`, `stix:reports/apt1.json` with the bundle id, `ioc:ipblocklist.csv` with the feed's
/// date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The source's name.
    pub name: String,
    /// Its version (a release, a date, a bundle id); empty when unknown.
    pub version: String,
}

impl SourceInfo {
    /// A source with a name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
        }
    }
}
