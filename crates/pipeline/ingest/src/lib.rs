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

mod limits;
mod record;

pub use limits::Limits;
pub use record::{Frame, RawRecord, RecordBatch, RecordParser, SourceInfo};

use rampart_core::DeadLetter;

/// What reading inputs hands to the sink.
#[derive(Debug)]
pub enum Delivery {
    /// Records to parse.
    Batch(RecordBatch),
    /// A whole input (or archive member) that cannot be read, e.g. with reason
    /// `unsupported format`.
    Unreadable(Box<DeadLetter>),
}
