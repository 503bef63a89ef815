//! Readers for real telemetry and threat-intel formats.
//!
//! Input: paths (files or directories, `.gz`, `.zip` and `.tar.gz` read transparently).
//! Output: [`Delivery`]s handed to a sink: batches of framed records, each batch carrying the
//! [`RecordParser`] that turns its records into [`rampart_core::Event`]s,
//! [`rampart_core::IntelObject`]s or [`rampart_core::DeadLetter`]s, and dead letters for whole
//! inputs that cannot be read (an unsupported format, a zip bomb).
//!
//! The main design decision is the split between framing and parsing. Framing (splitting a
//! byte stream into records, tracking headers) is sequential per input and cheap; parsing is
//! pure per record, so the runner spreads [`RecordBatch::parse`] over the cores. Bad input is
//! data: every malformed record becomes a dead letter with its source, position and reason,
//! and every cap in [`Limits`] bounds memory whatever the input.
//!
//! A runner calls [`read_inputs`] on one thread and hands each [`Delivery::Batch`] to a parse
//! worker ([`RecordBatch::parse`]); each [`Delivery::Unreadable`] is already a dead letter.
//! Tests and small tools call [`read_all`] or [`read_bytes_all`], which do both in order.
//! Formats are detected from content ([`detect`]) unless [`ReadOptions::format`] forces one;
//! the readers and the way a new one plugs in are described in the `formats` module.
//!
//! ```
//! use rampart_core::Ingested;
//! use rampart_ingest::{ReadOptions, read_bytes_all};
//!
//! let eve = br#"{"timestamp":"2018-03-24T14:37:19.037299-0600","event_type":"alert","src_ip":"10.0.0.1","src_port":4242,"dest_ip":"10.0.0.2","dest_port":22,"proto":"TCP","alert":{"signature_id":2001219,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}"#;
//! let read = read_bytes_all("eve.json", eve, &ReadOptions::default());
//! let Some(Ingested::Event(event)) = read.first() else { panic!("expected an event") };
//! assert_eq!(event.ecs.rule.id.as_deref(), Some("2001219"));
//! assert_eq!(event.ecs.network.transport.as_deref(), Some("tcp"));
//! ```

pub mod detect;
mod formats;
pub mod frame;
mod json_scan;
mod limits;
mod record;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use rampart_core::{ContentHash, DeadLetter, Format, Ingested, Position, Provenance};
use serde::{Deserialize, Serialize};

pub use limits::Limits;
pub use record::{Frame, RawRecord, RecordBatch, RecordParser, SourceInfo};

/// Parser name recorded in the provenance of whole inputs that no reader read.
pub const UNREADABLE_PARSER: &str = "rampart-ingest/1";

/// What reading inputs hands to the sink.
#[derive(Debug)]
pub enum Delivery {
    /// Records to parse.
    Batch(RecordBatch),
    /// A whole input (or archive member) that cannot be read, e.g. with reason
    /// `unsupported format`.
    Unreadable(Box<DeadLetter>),
}

impl Delivery {
    /// A dead letter for a whole input (or archive member) that cannot be read, keeping its
    /// first bytes `head` (position: byte 0).
    pub fn unreadable(
        source: &SourceInfo,
        format: Option<Format>,
        reason: impl Into<String>,
        head: &[u8],
    ) -> Self {
        let provenance = Provenance {
            source: source.source.clone(),
            position: Position::Offset(0),
            format,
            parser: UNREADABLE_PARSER.to_owned(),
            ingested_at: source.ingested_at,
            content_hash: ContentHash::of(head),
        };
        Self::Unreadable(Box::new(DeadLetter::new(provenance, reason, head)))
    }
}

/// Errors that stop reading before it starts. Everything found while reading (bad records,
/// unreadable files, unsupported formats, archive bombs) is a dead letter instead.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// An input path does not exist or cannot be resolved.
    #[error("input `{path}` cannot be read: {source}; check the path")]
    MissingInput {
        /// The path as given.
        path: PathBuf,
        /// Why resolving it failed.
        source: std::io::Error,
    },
}

/// How to read inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadOptions {
    /// Read every input as this format instead of detecting it (`--format`).
    pub format: Option<Format>,
    /// Caps on record, document and archive sizes.
    pub limits: Limits,
}

/// What one call of [`read_inputs`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadReport {
    /// Sources read: files and archive members, whatever their format.
    pub sources: u64,
    /// Frames delivered in batches (each becomes at least one event, intel object or dead
    /// letter when parsed).
    pub records: u64,
    /// Whole inputs delivered as [`Delivery::Unreadable`].
    pub unreadable: u64,
    /// Frames delivered per format.
    pub by_format: BTreeMap<Format, u64>,
}

impl ReadReport {
    fn count(&mut self, delivery: &Delivery) {
        match delivery {
            Delivery::Batch(batch) => {
                let frames = batch.len() as u64;
                self.records += frames;
                *self.by_format.entry(batch.parser.format()).or_default() += frames;
            }
            Delivery::Unreadable(_) => self.unreadable += 1,
        }
    }
}

/// Reads files and directories (recursively, in sorted order), unpacking `.gz`, `.zip` and
/// `.tar.gz` archives, and hands every batch of framed records and every unreadable input to
/// `sink`, in input order.
///
/// Sources are named by their canonical absolute path (`/abs/path/a.zip!member/name.json` for
/// archive members), so event ids are stable across runs and working directories.
///
/// # Errors
///
/// [`IngestError::MissingInput`] when a path does not exist; checked for every path before
/// anything is read. Everything else is a dead letter.
pub fn read_inputs(
    paths: &[PathBuf],
    options: &ReadOptions,
    sink: &mut dyn FnMut(Delivery),
) -> Result<ReadReport, IngestError> {
    let mut roots = Vec::with_capacity(paths.len());
    for path in paths {
        let root = std::fs::canonicalize(path).map_err(|source| IngestError::MissingInput {
            path: path.clone(),
            source,
        })?;
        roots.push(root);
    }
    let mut report = ReadReport::default();
    let mut deliver = |delivery: Delivery| {
        report.count(&delivery);
        sink(delivery);
    };
    let mut sources = 0;
    for root in &roots {
        sources += source::read_path(root, options, &mut deliver);
    }
    report.sources = sources;
    Ok(report)
}

/// Reads bytes already in memory as if they were a file called `name` (archives and
/// compression included), handing batches and unreadable inputs to `sink`.
///
/// `name` is used as the source name as given; it is not resolved against the file system.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    options: &ReadOptions,
    sink: &mut dyn FnMut(Delivery),
) -> ReadReport {
    let mut report = ReadReport::default();
    let mut deliver = |delivery: Delivery| {
        report.count(&delivery);
        sink(delivery);
    };
    let sources = source::read_memory(name, bytes, options, &mut deliver);
    report.sources = sources;
    report
}

/// Reads and parses everything synchronously, in input order: a convenience for tests, small
/// inputs and tools. The runner uses [`read_inputs`] and parses batches on its workers.
///
/// # Errors
///
/// As [`read_inputs`].
pub fn read_all(paths: &[PathBuf], options: &ReadOptions) -> Result<Vec<Ingested>, IngestError> {
    let mut out = Vec::new();
    read_inputs(paths, options, &mut |delivery| collect(delivery, &mut out))?;
    Ok(out)
}

/// [`read_bytes`], parsed synchronously.
pub fn read_bytes_all(name: &str, bytes: &[u8], options: &ReadOptions) -> Vec<Ingested> {
    let mut out = Vec::new();
    read_bytes(name, bytes, options, &mut |delivery| {
        collect(delivery, &mut out);
    });
    out
}

/// Reads one path and parses it synchronously; shorthand for [`read_all`] on one path.
///
/// # Errors
///
/// As [`read_inputs`].
pub fn read_path_all(path: &Path, options: &ReadOptions) -> Result<Vec<Ingested>, IngestError> {
    read_all(&[path.to_path_buf()], options)
}

fn collect(delivery: Delivery, out: &mut Vec<Ingested>) {
    match delivery {
        Delivery::Batch(batch) => out.extend(batch.parse()),
        Delivery::Unreadable(letter) => out.push(Ingested::DeadLetter(letter)),
    }
}

/// The moment ingestion of a source starts (provenance only).
fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}
