//! Rampart's domain types: what every pipeline stage takes and gives.
//!
//! Ingestion turns bytes into [`Event`]s (ECS fields plus source attributes, the raw original
//! and its [`Provenance`]), [`IntelObject`]s and [`DeadLetter`]s; detection turns events into
//! [`Alert`]s; correlation groups alerts into [`Incident`]s; policies produce [`Decision`]s.
//! Stages never call each other: they meet in these types.
//!
//! The main design decision is that identity is content-derived. An event's [`EventId`] is a
//! hash of its source, its position there and its bytes, so processing the same input twice
//! yields the same ids and nothing is stored twice, while identical records at different
//! positions stay distinct.
//!
//! ```
//! use rampart_core::{ContentHash, Ecs, Event, Format, Position, Provenance};
//!
//! let raw = r#"{"event_type":"alert"}"#;
//! let provenance = Provenance {
//!     source: "/data/eve.json".into(),
//!     position: Position::Line(1),
//!     format: Some(Format::SuricataEve),
//!     parser: "suricata-eve/1".into(),
//!     ingested_at: chrono::Utc::now(),
//!     content_hash: ContentHash::of(raw.as_bytes()),
//! };
//! let first = Event::new(Ecs::default(), raw.into(), provenance.clone());
//! let again = Event::new(Ecs::default(), raw.into(), Provenance { ingested_at: chrono::Utc::now(), ..provenance });
//! assert_eq!(first.id, again.id);
//! ```

mod alert;
mod ecs;
mod entity;
mod event;
mod format;
mod id;
mod provenance;
mod run;
mod stage;

pub use alert::{
    ActionMode, Alert, AlertSource, Contribution, Decision, Explanation, Incident, Level,
};
pub use ecs::{
    Dns, DnsQuestion, Ecs, Endpoint, EventMeta, File, Hashes, Host, Network, ParentProcess,
    Process, Rule, Threat, ThreatTactic, ThreatTechnique, Url, User, flatten_into,
};
pub use entity::{EntityKind, EntityRef};
pub use event::{
    DeadLetter, Event, FeatureRecord, FeatureValue, GroundTruth, Ingested, IntelObject,
};
pub use format::Format;
pub use id::{
    AlertId, AlertTag, DeadLetterId, DeadLetterTag, DecisionId, DecisionTag, EventId, EventTag, Id,
    IdKind, IncidentId, IncidentTag, RunId, RunTag,
};
pub use provenance::{ContentHash, Position, Provenance};
pub use run::{RunCounts, RunRecord};
pub use stage::StageConfig;

/// Errors from parsing core values.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An id did not have the expected prefix or 32 hex digits.
    #[error("`{value}` is not a valid id; expected `{expected}_` followed by 32 hex digits")]
    InvalidId {
        /// The offending text.
        value: String,
        /// The expected prefix.
        expected: &'static str,
    },
    /// A format name is not one Rampart reads.
    #[error(
        "unknown format `{0}`; expected one of ecs, ocsf, suricata-eve, zeek, windows-json, evtx, flow-csv, stix"
    )]
    UnknownFormat(String),
}
