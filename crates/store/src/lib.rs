//! Rampart's storage: the [`Store`] trait and its embedded `SQLite` implementation.
//!
//! Input: runs ([`RunRecord`](rampart_core::RunRecord)), batches of ingested records
//! ([`Ingested`](rampart_core::Ingested): events, threat-intel objects, dead letters) and
//! what later stages derive (alerts, incidents, decisions). Output: the same records read
//! back by id, by page or as a stream ([`scan_events`]), plus counts.
//!
//! The main design decision is that the store, not the caller, makes re-processing
//! idempotent (invariant 6): every record is keyed by its content-derived id, a batch is
//! written in one transaction with insert-if-absent semantics, and the [`BatchOutcome`] says
//! what was new and what was a duplicate. A run killed between batches loses only the batch
//! in flight, and running it again completes the store without storing anything twice.
//!
//! [`SqliteStore`] keeps everything in `rampart.db` inside a data directory (WAL mode,
//! forward-only migrations). The trait names no database type, so a `PostgreSQL` backend can
//! implement it unchanged. Sensitive fields can be protected at rest through a
//! [`FieldProtector`], applied to each record just before it is encoded.
//!
//! ```
//! use rampart_core::{ContentHash, Ecs, Event, Format, Ingested, Position, Provenance, RunRecord};
//! use rampart_store::{SqliteStore, Store};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("data"))?;
//! let run = RunRecord::start(vec!["eve.json".into()]);
//! store.begin_run(&run)?;
//!
//! let raw = r#"{"event_type":"alert"}"#;
//! let provenance = Provenance {
//!     source: "eve.json".into(),
//!     position: Position::Line(1),
//!     format: Some(Format::SuricataEve),
//!     parser: "suricata-eve/1".into(),
//!     ingested_at: chrono::Utc::now(),
//!     content_hash: ContentHash::of(raw.as_bytes()),
//! };
//! let event = Event::new(Ecs::default(), raw.into(), provenance);
//! let batch = [Ingested::Event(Box::new(event.clone()))];
//!
//! assert_eq!(store.write_batch(run.id, &batch)?.events_stored, 1);
//! // The same input again stores nothing new.
//! assert_eq!(store.write_batch(run.id, &batch)?.duplicates_skipped, 1);
//! assert_eq!(store.event(event.id)?, Some(event));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod audit_log;
mod error;
mod protect;
mod query;
mod sqlite;
mod store;

pub use audit_log::SqliteLogStorage;
pub use error::StoreError;
pub use protect::{FieldProtector, NoProtection};
pub use query::{BatchOutcome, Cursor, EventQuery, Listing, Page, PutOutcome};
pub use sqlite::{DATABASE_FILE, SqliteOptions, SqliteStore};
pub use store::{EventScan, Store, collect_pages, scan_events};
