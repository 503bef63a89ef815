//! The contract between framing (splitting a byte stream into records) and parsing (turning
//! one record into events, intel objects or dead letters).
//!
//! Framing is sequential per input; parsing is pure and runs on any core. A reader for a
//! format provides a [`RecordParser`]; the framer hands out [`RecordBatch`]es that carry the
//! parser with them, so parse workers need no other state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rampart_core::{ContentHash, DeadLetter, Format, Ingested, Position, Provenance};

/// One framed record: its bytes and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The record's bytes exactly as read (one line, one array element, one CSV row, …).
    pub bytes: Vec<u8>,
    /// Where it starts in its source.
    pub position: Position,
}

/// What framing yields: a record to parse, or bytes that could not even be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A well-framed record.
    Record(RawRecord),
    /// Bytes that broke the framing (an over-long line, a truncated array), kept for the
    /// dead letter.
    Bad {
        /// The bad bytes, possibly truncated to a cap by the framer.
        record: RawRecord,
        /// Why framing failed.
        reason: String,
    },
}

/// Where a batch of records came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// An absolute file path, or `archive!member` for archive members.
    pub source: String,
    /// When ingestion of this source started (provenance only; not part of any identity).
    pub ingested_at: DateTime<Utc>,
}

/// Parses single records of one format (with whatever per-source state framing gathered,
/// such as a Zeek `#fields` header or a CSV header).
pub trait RecordParser: Send + Sync {
    /// The format this parser reads.
    fn format(&self) -> Format;

    /// Parser name and version recorded in provenance, e.g. `suricata-eve/1`.
    fn parser_id(&self) -> &'static str;

    /// Parses one record, pushing what it yields: usually one event or one intel object, a
    /// dead letter when the record is malformed. Must never panic, whatever the bytes.
    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>);

    /// Provenance for a record of this parser.
    fn provenance(&self, record: &RawRecord, source: &SourceInfo) -> Provenance {
        Provenance {
            source: source.source.clone(),
            position: record.position,
            format: Some(self.format()),
            parser: self.parser_id().to_owned(),
            ingested_at: source.ingested_at,
            content_hash: ContentHash::of(&record.bytes),
        }
    }

    /// A dead letter for a record of this parser.
    fn dead_letter(&self, record: &RawRecord, source: &SourceInfo, reason: String) -> Ingested {
        Ingested::DeadLetter(Box::new(DeadLetter::new(
            self.provenance(record, source),
            reason,
            &record.bytes,
        )))
    }
}

/// A batch of frames from one source, with the parser that reads them.
pub struct RecordBatch {
    /// Where the frames came from.
    pub source: Arc<SourceInfo>,
    /// The parser for these frames.
    pub parser: Arc<dyn RecordParser>,
    /// The frames, in source order.
    pub frames: Vec<Frame>,
}

impl RecordBatch {
    /// Parses every frame; framing failures become dead letters. Pure and thread-safe, so
    /// the runner calls it from worker threads.
    pub fn parse(&self) -> Vec<Ingested> {
        let mut out = Vec::with_capacity(self.frames.len());
        for frame in &self.frames {
            match frame {
                Frame::Record(record) => self.parser.parse(record, &self.source, &mut out),
                Frame::Bad { record, reason } => {
                    out.push(
                        self.parser
                            .dead_letter(record, &self.source, reason.clone()),
                    );
                }
            }
        }
        out
    }

    /// How many records the batch holds (each frame is one record read).
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

impl std::fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatch")
            .field("source", &self.source)
            .field("format", &self.parser.format())
            .field("frames", &self.frames.len())
            .finish()
    }
}
