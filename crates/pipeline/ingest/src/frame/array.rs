//! The streaming splitter for one top-level JSON array.

use std::io::ErrorKind;

use rampart_core::{DeadLetter, Position};

use super::{Input, RecordSink, bad};
use crate::{Frame, Limits, RawRecord};

/// Where the array scanner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening `[`.
    Open,
    /// Between elements (whitespace and commas).
    Between,
    /// Inside an element, outside any string.
    Element,
    /// Inside a string of an element.
    Text,
    /// Right after a backslash inside a string.
    Escape,
    /// After the closing `]`.
    Closed,
}

/// Frames the elements of one top-level JSON array ([`Position::Offset`] of each element).
///
/// Scalars between commas are elements too (the parser decides what to make of them). An
/// element over the record cap becomes a bad frame; a stream that ends inside an element or
/// before the closing `]` yields a bad frame for what is left; bytes after the closing `]`
/// other than whitespace yield one bad frame.
#[expect(
    clippy::too_many_lines,
    reason = "one state machine over bytes; splitting it scatters the state"
)]
pub fn json_array_elements(input: &mut Input<'_>, limits: &Limits, sink: &mut RecordSink<'_>) {
    let max = limits.max_record_bytes;
    let mut state = ArrayState::Open;
    let mut offset: u64 = 0;
    let mut element = Vec::new();
    let mut element_start: u64 = 0;
    let mut element_len: u64 = 0;
    let mut over = false;
    let mut depth: u64 = 0;
    let mut trailing: Option<(u64, Vec<u8>)> = None;
    loop {
        let chunk = match input.reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => {
                sink.push(bad(
                    element,
                    Position::Offset(offset),
                    format!("read failed at byte {offset}: {error}"),
                ));
                return;
            }
        };
        if chunk.is_empty() {
            break;
        }
        let mut consumed = 0usize;
        // `taken_from` marks where the current element's bytes start inside this chunk.
        let mut taken_from: Option<usize> = None;
        for (at, &byte) in chunk.iter().enumerate() {
            consumed = at + 1;
            match state {
                ArrayState::Open => {
                    if byte == b'[' {
                        state = ArrayState::Between;
                    } else if !(byte.is_ascii_whitespace() || matches!(byte, 0xEF | 0xBB | 0xBF)) {
                        let head = chunk.get(at..).unwrap_or_default();
                        let keep = head
                            .get(..head.len().min(DeadLetter::RAW_CAP))
                            .unwrap_or(head);
                        sink.push(bad(
                            keep.to_vec(),
                            Position::Offset(offset + at as u64),
                            "expected a JSON array starting with `[`".to_owned(),
                        ));
                        return;
                    }
                }
                ArrayState::Between => {
                    if byte == b']' {
                        state = ArrayState::Closed;
                    } else if !(byte.is_ascii_whitespace() || byte == b',') {
                        state = if byte == b'"' {
                            ArrayState::Text
                        } else {
                            ArrayState::Element
                        };
                        depth = u64::from(matches!(byte, b'{' | b'['));
                        element_start = offset + at as u64;
                        element_len = 0;
                        over = false;
                        element.clear();
                        taken_from = Some(at);
                    }
                }
                ArrayState::Element => {
                    let ends = match byte {
                        b'{' | b'[' => {
                            depth += 1;
                            false
                        }
                        b'}' | b']' if depth > 0 => {
                            depth -= 1;
                            depth == 0
                        }
                        b'"' => {
                            state = ArrayState::Text;
                            false
                        }
                        // A scalar element ends before a comma, a closing bracket or blank.
                        b',' | b']' if depth == 0 => {
                            let from = taken_from.take().unwrap_or(0);
                            take(
                                &mut element,
                                &mut element_len,
                                &mut over,
                                max,
                                chunk.get(from..at),
                            );
                            emit(sink, &mut element, element_start, element_len, over, max);
                            state = if byte == b']' {
                                ArrayState::Closed
                            } else {
                                ArrayState::Between
                            };
                            continue;
                        }
                        // A scalar also ends at blank space, which is not part of it.
                        _ => depth == 0 && byte.is_ascii_whitespace(),
                    };
                    if ends {
                        let from = taken_from.take().unwrap_or(0);
                        let piece = if byte.is_ascii_whitespace() {
                            chunk.get(from..at)
                        } else {
                            chunk.get(from..=at)
                        };
                        take(&mut element, &mut element_len, &mut over, max, piece);
                        emit(sink, &mut element, element_start, element_len, over, max);
                        state = ArrayState::Between;
                    }
                }
                ArrayState::Text => match byte {
                    b'\\' => state = ArrayState::Escape,
                    b'"' if depth == 0 => {
                        let from = taken_from.take().unwrap_or(0);
                        take(
                            &mut element,
                            &mut element_len,
                            &mut over,
                            max,
                            chunk.get(from..=at),
                        );
                        emit(sink, &mut element, element_start, element_len, over, max);
                        state = ArrayState::Between;
                    }
                    b'"' => state = ArrayState::Element,
                    _ => {}
                },
                ArrayState::Escape => state = ArrayState::Text,
                ArrayState::Closed => {
                    if !byte.is_ascii_whitespace() {
                        let head = chunk.get(at..).unwrap_or_default();
                        let keep = head
                            .get(..head.len().min(DeadLetter::RAW_CAP))
                            .unwrap_or(head);
                        trailing = Some((offset + at as u64, keep.to_vec()));
                        consumed = chunk.len();
                        break;
                    }
                }
            }
        }
        if matches!(
            state,
            ArrayState::Element | ArrayState::Text | ArrayState::Escape
        ) {
            let from = taken_from.unwrap_or(0);
            take(
                &mut element,
                &mut element_len,
                &mut over,
                max,
                chunk.get(from..consumed),
            );
        }
        input.reader.consume(consumed);
        offset += consumed as u64;
        if trailing.is_some() {
            break;
        }
    }
    if let Some((at, head)) = trailing {
        sink.push(bad(
            head,
            Position::Offset(at),
            "unexpected bytes after the closing `]` of the JSON array".to_owned(),
        ));
        return;
    }
    match state {
        ArrayState::Element | ArrayState::Text | ArrayState::Escape => {
            if over || depth > 0 || state != ArrayState::Element {
                element.truncate(DeadLetter::RAW_CAP);
                sink.push(bad(
                    element,
                    Position::Offset(element_start),
                    format!(
                        "truncated JSON array element: input ends after {element_len} bytes of it"
                    ),
                ));
            } else {
                // A scalar right before the end of input: complete, but the `]` is missing.
                emit(sink, &mut element, element_start, element_len, over, max);
                sink.push(bad(
                    Vec::new(),
                    Position::Offset(offset),
                    "truncated JSON array: input ends before the closing `]`".to_owned(),
                ));
            }
        }
        ArrayState::Between => sink.push(bad(
            Vec::new(),
            Position::Offset(offset),
            "truncated JSON array: input ends before the closing `]`".to_owned(),
        )),
        ArrayState::Open | ArrayState::Closed => {}
    }
}

/// Appends a piece of the current element, switching to keep-the-head mode over the cap.
fn take(element: &mut Vec<u8>, len: &mut u64, over: &mut bool, max: usize, piece: Option<&[u8]>) {
    let piece = piece.unwrap_or_default();
    *len += piece.len() as u64;
    if *over {
        return;
    }
    if element.len() + piece.len() > max {
        *over = true;
        let room = DeadLetter::RAW_CAP.saturating_sub(element.len());
        element.extend_from_slice(piece.get(..room.min(piece.len())).unwrap_or_default());
        element.truncate(DeadLetter::RAW_CAP);
        element.shrink_to_fit();
    } else {
        element.extend_from_slice(piece);
    }
}

/// Pushes the finished element as a record (or a bad frame when it was over the cap).
fn emit(
    sink: &mut RecordSink<'_>,
    element: &mut Vec<u8>,
    start: u64,
    len: u64,
    over: bool,
    max: usize,
) {
    let bytes = std::mem::take(element);
    let position = Position::Offset(start);
    if over {
        sink.push(bad(
            bytes,
            position,
            format!("JSON array element of {len} bytes exceeds the record cap of {max} bytes (`max_record_bytes`)"),
        ));
    } else {
        sink.push(Frame::Record(RawRecord { bytes, position }));
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::Position;

    use super::json_array_elements;
    use crate::Limits;
    use crate::frame::tests::{frames, frames_with, records};

    #[test]
    fn array_elements_are_string_and_escape_aware() {
        let text = br#" [ {"a":"]}\"[{"} , {"b":[1,{"c":2}]},"s\"]",17 ,null,[1]] "#;
        let got = records(&frames(json_array_elements, text));
        assert_eq!(
            got,
            [
                (r#"{"a":"]}\"[{"}"#.to_owned(), Position::Offset(3)),
                (r#"{"b":[1,{"c":2}]}"#.to_owned(), Position::Offset(20)),
                (r#""s\"]""#.to_owned(), Position::Offset(38)),
                ("17".to_owned(), Position::Offset(45)),
                ("null".to_owned(), Position::Offset(49)),
                ("[1]".to_owned(), Position::Offset(54)),
            ]
        );
    }

    #[test]
    fn array_damage_becomes_bad_frames() {
        let truncated = records(&frames(json_array_elements, br#"[{"a":1},{"b":"#));
        assert_eq!(truncated[0].0, r#"{"a":1}"#);
        assert!(
            truncated[1]
                .0
                .starts_with("BAD truncated JSON array element"),
            "{truncated:?}"
        );
        let unclosed = records(&frames(json_array_elements, br#"[{"a":1}"#));
        assert!(unclosed[1].0.contains("before the closing"), "{unclosed:?}");
        let trailing = records(&frames(json_array_elements, br#"[{"a":1}] junk"#));
        assert!(trailing[1].0.contains("after the closing"), "{trailing:?}");
        let not_array = records(&frames(json_array_elements, br#"{"a":1}"#));
        assert!(
            not_array[0].0.contains("expected a JSON array"),
            "{not_array:?}"
        );
        let limits = Limits {
            max_record_bytes: 8,
            ..Limits::default()
        };
        let over = frames_with(
            json_array_elements,
            &br#"[{"a":"0123456789"},{"b":1}]"#[..],
            3,
            &limits,
        );
        let over = records(&over);
        assert!(over[0].0.contains("exceeds the record cap"), "{over:?}");
        assert_eq!(over[1], (r#"{"b":1}"#.to_owned(), Position::Offset(20)));
    }
}
