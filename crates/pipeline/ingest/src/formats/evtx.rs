//! Native Windows event log files (`.evtx`), read with the `evtx` crate.
//!
//! An EVTX file is binary and its records are only meaningful together with the chunk that
//! holds their string and template tables, so the file is read whole, up to
//! [`Limits::max_document_bytes`]. Each record is rendered as JSON in the `evtx_dump` layout
//! (`Event.System`, `Event.EventData`) and framed with [`Position::Record`] set to its
//! `EventRecordID`; the raw record is that JSON, and the Windows JSON parser maps it, so a
//! record reads the same whether it came from the `.evtx` file or from its `evtx_dump` export.
//!
//! Damage never stops the file: a chunk that cannot be parsed, or a record that cannot be
//! read or rendered, becomes a bad frame (a dead letter) placed at the chunk's byte offset or
//! the record's id, and reading goes on with the next one. Chunk checksums are not used to
//! skip chunks, since skipping would drop records without a trace.

use std::io::Cursor;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use rampart_core::{DeadLetter, Position};

use super::windows::WindowsEvents;
use super::{Delivery, Input, Limits, RecordParser, RecordSink};
use crate::frame;
use crate::{Frame, RawRecord};

/// Size of the EVTX file header.
const FILE_HEADER_BYTES: u64 = 4096;
/// Size of one EVTX chunk.
const CHUNK_BYTES: u64 = 65_536;

/// Reads one `.evtx` file.
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let parser: Arc<dyn RecordParser> = Arc::new(WindowsEvents::evtx(limits));
    let mut sink = RecordSink::new(Arc::clone(&input.source), parser, limits, deliver);
    match frame::whole_document(input, limits) {
        Ok(bytes) => frame_records(&bytes, limits, &mut |frame| sink.push(frame)),
        Err(bad) => sink.push(bad),
    }
    sink.finish();
}

/// Frames every record of an EVTX file held in memory, in the file's record order.
pub(crate) fn frame_records(bytes: &[u8], limits: &Limits, push: &mut dyn FnMut(Frame)) {
    let parser = match EvtxParser::from_read_seek(Cursor::new(bytes)) {
        Ok(parser) => parser,
        Err(error) => {
            push(bad(
                bytes,
                Position::Offset(0),
                format!("not a readable EVTX file: {}", chain(&error)),
            ));
            return;
        }
    };
    let mut parser = parser.with_configuration(ParserSettings::new().indent(false));
    for rendered in parser.records_json() {
        match rendered {
            Ok(record) => {
                let position = Position::Record(record.event_record_id);
                if record.data.len() > limits.max_record_bytes {
                    push(bad(
                        record.data.as_bytes(),
                        position,
                        format!(
                            "EVTX record rendered to {} bytes of JSON, over the record cap of {} \
                             bytes (`max_record_bytes`)",
                            record.data.len(),
                            limits.max_record_bytes
                        ),
                    ));
                } else {
                    push(Frame::Record(RawRecord {
                        bytes: record.data.into_bytes(),
                        position,
                    }));
                }
            }
            Err(error) => {
                let (position, start) = locate(&error);
                let at = usize::try_from(start).unwrap_or(usize::MAX);
                let damaged = bytes.get(at..).unwrap_or_default();
                push(bad(
                    damaged,
                    position,
                    format!("corrupt EVTX data: {}", chain(&error)),
                ));
            }
        }
    }
}

/// Where an error happened: the position for the dead letter, and the byte offset whose bytes
/// it keeps.
fn locate(error: &EvtxError) -> (Position, u64) {
    match error {
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            let offset = chunk_offset(*chunk_id);
            (Position::Offset(offset), offset)
        }
        EvtxError::FailedToReadRecordAt {
            chunk: Some(chunk),
            offset,
            ..
        } => {
            let at = chunk_offset(*chunk).saturating_add(*offset);
            (Position::Offset(at), at)
        }
        EvtxError::FailedToParseRecord { record_id, .. } => {
            (Position::Record(*record_id), u64::MAX)
        }
        _ => (Position::Offset(0), u64::MAX),
    }
}

fn chunk_offset(chunk: u64) -> u64 {
    chunk
        .saturating_mul(CHUNK_BYTES)
        .saturating_add(FILE_HEADER_BYTES)
}

/// An error with its causes, `outer: inner: innermost`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn bad(bytes: &[u8], position: Position, reason: String) -> Frame {
    Frame::Bad {
        record: RawRecord {
            bytes: bytes.get(..DeadLetter::RAW_CAP).unwrap_or(bytes).to_vec(),
            position,
        },
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        frame_records(bytes, &Limits::default(), &mut |frame| out.push(frame));
        out
    }

    #[test]
    fn garbage_is_one_bad_frame() {
        for input in [&b""[..], b"ElfFile\0", b"not an evtx file at all"] {
            let out = frames(input);
            assert_eq!(out.len(), 1, "{input:?}");
            let Frame::Bad { reason, .. } = &out[0] else {
                panic!("expected a bad frame")
            };
            assert!(reason.starts_with("not a readable EVTX file"), "{reason}");
        }
    }

    #[test]
    fn a_header_without_chunks_yields_nothing() {
        // A file header whose chunk area is empty: no records, no error.
        let mut header = vec![0u8; 4096];
        header[..8].copy_from_slice(b"ElfFile\0");
        header[32..36].copy_from_slice(&128u32.to_le_bytes());
        header[36..38].copy_from_slice(&1u16.to_le_bytes());
        header[38..40].copy_from_slice(&3u16.to_le_bytes());
        header[40..42].copy_from_slice(&4096u16.to_le_bytes());
        let out = frames(&header);
        assert!(out.iter().all(|frame| matches!(frame, Frame::Bad { .. })) || out.is_empty());
    }

    #[test]
    fn corrupt_chunks_become_bad_frames_at_their_offset() {
        let mut file = vec![0u8; 4096 + 65_536];
        file[..8].copy_from_slice(b"ElfFile\0");
        file[32..36].copy_from_slice(&128u32.to_le_bytes());
        file[36..38].copy_from_slice(&1u16.to_le_bytes());
        file[38..40].copy_from_slice(&3u16.to_le_bytes());
        file[40..42].copy_from_slice(&4096u16.to_le_bytes());
        file[42..44].copy_from_slice(&1u16.to_le_bytes());
        file[4096..4104].copy_from_slice(b"ElfChnk\0");
        for (at, byte) in file.iter_mut().enumerate().skip(4104) {
            *byte = u8::try_from(at % 251).unwrap();
        }
        for frame in frames(&file) {
            if let Frame::Bad { record, reason } = frame {
                assert!(reason.starts_with("corrupt EVTX data"), "{reason}");
                assert!(record.bytes.len() <= DeadLetter::RAW_CAP);
            }
        }
    }
}
