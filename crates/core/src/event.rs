//! Events, threat-intel objects and dead letters: what ingestion produces.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{DeadLetterId, Ecs, EventId, Provenance};

/// One ingested event: ECS fields, source-specific attributes, the raw original and where it
/// came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Content-derived id: the same bytes at the same place always get the same id.
    pub id: EventId,
    /// The canonical ECS fields.
    pub ecs: Ecs,
    /// Source-specific fields under dotted ECS-style paths that ECS has no typed slot for,
    /// e.g. `winlog.event_data.TargetObject`, `suricata.eve.alert.signature_id`,
    /// `zeek.conn.history`. Rule engines match on these as well as on `ecs`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Numeric and categorical features, for flow records that models score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureRecord>,
    /// The data set's label, when it has one. Never a model input: kept apart from
    /// `features` so that no feature extraction can read it by accident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_truth: Option<GroundTruth>,
    /// The record exactly as read (UTF-8 lossily decoded for display; hashing uses the bytes).
    pub raw: String,
    /// Where the record came from.
    pub provenance: Provenance,
}

impl Event {
    /// Builds an event whose id derives from its provenance (source, position, content hash).
    pub fn new(ecs: Ecs, raw: String, provenance: Provenance) -> Self {
        let [source, position, hash] = provenance.identity_parts();
        Self {
            id: EventId::derive(&[&source, &position, &hash]),
            ecs,
            attributes: Map::new(),
            features: None,
            ground_truth: None,
            raw,
            provenance,
        }
    }
}

/// A value of one feature of a flow record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeatureValue {
    /// A number (counts, rates, durations). NaN and infinities are kept as read: the model's
    /// input contract decides what to do with them.
    Number(f64),
    /// A category (protocol, service, flag).
    Category(String),
}

/// The features of one flow record, in the order of its layout's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRecord {
    /// The layout the columns follow: `nsl-kdd`, `cic-ids2017` or `unsw-nb15`.
    pub layout: String,
    /// Column name and value, in column order.
    pub values: Vec<(String, FeatureValue)>,
}

/// A data set's label for one record: ground truth for evaluation, never an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The label as the data set spells it (`normal`, `neptune`, `DDoS`, `Malicious`, …).
    pub label: String,
    /// Whether the label means malicious; `None` when the data set says unknown
    /// (Stratosphere's `Background`).
    pub malicious: Option<bool>,
    /// A finer attack category when the data set gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// A STIX 2.1 object kept for the enrichment stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelObject {
    /// The STIX id, e.g. `indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`.
    pub stix_id: String,
    /// The STIX type, e.g. `indicator`.
    pub stix_type: String,
    /// The `modified` timestamp as written (STIX versions an object by id and `modified`).
    pub modified: Option<String>,
    /// The whole object.
    pub object: Value,
    /// Where it came from.
    pub provenance: Provenance,
}

impl IntelObject {
    /// The version key: an object is the same object when its id and `modified` agree.
    pub fn version_key(&self) -> (String, String) {
        (
            self.stix_id.clone(),
            self.modified.clone().unwrap_or_default(),
        )
    }
}

/// A record that could not be read, kept with the reason so that nothing is lost silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Derived from source, position and the hash of the bad bytes.
    pub id: DeadLetterId,
    /// Where the bad record was found; `content_hash` covers all of its bytes.
    pub provenance: Provenance,
    /// Why it could not be read.
    pub reason: String,
    /// The start of the bad bytes, up to [`DeadLetter::RAW_CAP`], lossily decoded.
    pub raw: String,
    /// How many bytes the bad record had in total.
    pub raw_len: u64,
}

impl DeadLetter {
    /// How many bytes of a bad record are kept.
    pub const RAW_CAP: usize = 4096;

    /// Builds a dead letter from the bad bytes, keeping at most [`Self::RAW_CAP`] of them.
    pub fn new(provenance: Provenance, reason: impl Into<String>, raw: &[u8]) -> Self {
        let [source, position, hash] = provenance.identity_parts();
        let kept = raw.get(..Self::RAW_CAP).unwrap_or(raw);
        Self {
            id: DeadLetterId::derive(&[&source, &position, &hash]),
            provenance,
            reason: reason.into(),
            raw: String::from_utf8_lossy(kept).into_owned(),
            raw_len: raw.len() as u64,
        }
    }
}

/// What reading one record yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    /// A telemetry event.
    Event(Box<Event>),
    /// A threat-intel object.
    Intel(Box<IntelObject>),
    /// A record that could not be read.
    DeadLetter(Box<DeadLetter>),
}
