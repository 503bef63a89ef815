//! Framing for JSON documents written one after another.
//!
//! Exporters write events as JSON lines, as one JSON array, or pretty-printed one after
//! another (`{\n  "Event": …\n}\n{\n …`, as the Sigma regression events and the OCSF examples
//! are). The first two are [`frame::json_records`]; the third would be cut apart by line
//! framing, so it is read whole (up to [`Limits::max_document_bytes`]) and split at the end
//! of each top-level value, each record placed at its byte offset.

use std::io::BufRead;

use rampart_core::{DeadLetter, Position};

use super::super::{Input, Limits, RecordSink};
use crate::frame;
use crate::json_scan::{Bracket, Lexer};
use crate::{Frame, RawRecord};

/// Frames JSON lines, a JSON array, or pretty-printed documents one after another.
pub(in crate::formats) fn json_documents(
    input: &mut Input<'_>,
    limits: &Limits,
    sink: &mut RecordSink<'_>,
) {
    if starts_with_multiline_object(input.reader) {
        match frame::whole_document(input, limits) {
            Ok(bytes) => split_concatenated(&bytes, limits, sink),
            Err(bad) => sink.push(bad),
        }
    } else {
        frame::json_records(input, limits, sink);
    }
}

/// Whether the input starts with a JSON object spread over several lines (pretty-printed
/// events one after another), which line framing would cut apart.
fn starts_with_multiline_object(reader: &mut dyn BufRead) -> bool {
    let Ok(buffer) = reader.fill_buf() else {
        return false;
    };
    let Some(start) = buffer
        .iter()
        .position(|&byte| !byte.is_ascii_whitespace() && !matches!(byte, 0xEF | 0xBB | 0xBF))
    else {
        return false;
    };
    let rest = buffer.get(start..).unwrap_or_default();
    if rest.first() != Some(&b'{') {
        return false;
    }
    match rest.iter().position(|&byte| byte == b'\n') {
        Some(end) => {
            let line = rest.get(..end).unwrap_or_default().trim_ascii_end();
            line.last() != Some(&b'}')
        }
        // A first line longer than the buffer: JSON lines with a long record.
        None => false,
    }
}

/// Frames JSON values written one after another (`{…}\n{…}`), each at its byte offset.
fn split_concatenated(bytes: &[u8], limits: &Limits, sink: &mut RecordSink<'_>) {
    let mut at = 0usize;
    loop {
        let rest = bytes.get(at..).unwrap_or_default();
        let Some(skip) = rest
            .iter()
            .position(|&byte| !byte.is_ascii_whitespace() && !matches!(byte, 0xEF | 0xBB | 0xBF))
        else {
            return;
        };
        let start = at + skip;
        let value = bytes.get(start..).unwrap_or_default();
        let position = Position::Offset(start as u64);
        let Some(length) = value_length(value) else {
            sink.push(Frame::Bad {
                record: RawRecord {
                    bytes: head(value),
                    position,
                },
                reason: "truncated or malformed JSON value: it has no matching closing bracket"
                    .to_owned(),
            });
            return;
        };
        let record = value.get(..length).unwrap_or_default();
        if record.len() > limits.max_record_bytes {
            sink.push(Frame::Bad {
                record: RawRecord {
                    bytes: head(record),
                    position,
                },
                reason: format!(
                    "JSON value of {} bytes exceeds the record cap of {} bytes (`max_record_bytes`)",
                    record.len(),
                    limits.max_record_bytes
                ),
            });
        } else {
            sink.push(Frame::Record(RawRecord {
                bytes: record.to_vec(),
                position,
            }));
        }
        at = start + length;
    }
}

/// The length of the bracketed JSON value at the start of `bytes` (strings and escapes
/// understood), or `None` when it does not start with a bracket or never closes. A value that
/// is not bracketed runs to the end of its line, so the parser reports it.
fn value_length(bytes: &[u8]) -> Option<usize> {
    if !matches!(bytes.first(), Some(b'{' | b'[')) {
        return Some(
            bytes
                .iter()
                .position(|&byte| byte == b'\n')
                .unwrap_or(bytes.len())
                .max(1),
        );
    }
    crate::json_scan::bracketed_len(bytes)
}

fn head(bytes: &[u8]) -> Vec<u8> {
    bytes.get(..DeadLetter::RAW_CAP).unwrap_or(bytes).to_vec()
}

/// Rejects a JSON record nested deeper than `limits.max_json_depth` before it is
/// deserialised: one pass over the bytes counting brackets outside strings, so a hostile
/// record never builds a deep tree. The error is the dead-letter reason.
pub(in crate::formats) fn check_depth(bytes: &[u8], limits: &Limits) -> Result<(), String> {
    let mut lexer = Lexer::default();
    let mut depth = 0usize;
    for &byte in bytes {
        match lexer.bracket(byte) {
            Some(Bracket::Open) => {
                depth += 1;
                if depth > limits.max_json_depth {
                    return Err(format!(
                        "JSON nesting deeper than {} levels (`max_json_depth`)",
                        limits.max_json_depth
                    ));
                }
            }
            Some(Bracket::Close) => depth = depth.saturating_sub(1),
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        let limits = Limits {
            max_json_depth: 3,
            ..Limits::default()
        };
        assert!(check_depth(br#"{"a":[{"b":"[[[[{{{{"}]}"#, &limits).is_ok());
        assert!(check_depth(br#"{"a":[{"b":[1]}]}"#, &limits).is_err());
        assert!(check_depth(br#"{"a":"\"[[[[\""}"#, &limits).is_ok());
        let deep = "[".repeat(100_000);
        assert!(check_depth(deep.as_bytes(), &Limits::default()).is_err());
    }

    #[test]
    fn values_end_at_their_matching_bracket() {
        assert_eq!(value_length(br#"{"a":"}"} tail"#), Some(9));
        assert_eq!(value_length(b"[1,[2]]"), Some(7));
        assert_eq!(value_length(br#"{"a":1"#), None);
        assert_eq!(value_length(b"garbage\n{}"), Some(7));
        assert_eq!(value_length(b"}"), Some(1));
    }
}
