//! STIX 2.1 bundles: every object of a bundle becomes one [`IntelObject`].
//!
//! A bundle is one JSON document, read whole up to [`Limits::max_document_bytes`]. Its
//! `objects` array is split into records by a bracket scanner (no recursion, strings and
//! escapes understood), so each object is framed at [`Position::Index`] `i` and parsed on its
//! own with the per-record caps: one bad object is one dead letter and the rest of the bundle
//! still reads. A document that is a single STIX object (`type` and `id` at the top) is one
//! record at index 0; a top-level JSON array is read as a list of objects.
//!
//! Every object type is kept, whole, for the enrichment stage: indicators, observed data,
//! malware, threat actors, attack patterns, relationships, reports, sightings, identities,
//! marking definitions, custom `x-…` objects. An object without a string `id` or `type` is a
//! dead letter.

use std::ops::Range;
use std::sync::Arc;

use rampart_core::{DeadLetter, Format, Ingested, IntelObject, Position};
use serde_json::Value;

use super::windows::check_depth;
use super::{Delivery, Input, Limits, RecordParser, RecordSink, parse_json_object};
use crate::frame;
use crate::{Frame, RawRecord, SourceInfo};

/// Reads one STIX document (a bundle, a single object, or an array of objects).
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let parser: Arc<dyn RecordParser> = Arc::new(StixObjects::new(limits));
    let mut sink = RecordSink::new(Arc::clone(&input.source), parser, limits, deliver);
    match frame::whole_document(input, limits) {
        Ok(bytes) => frame_document(&bytes, limits, &mut |frame| sink.push(frame)),
        Err(bad) => sink.push(bad),
    }
    sink.finish();
}

/// Parses single STIX objects into intel objects.
#[derive(Debug, Clone)]
pub(crate) struct StixObjects {
    limits: Limits,
}

impl StixObjects {
    /// A parser with the given caps.
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
        }
    }

    fn object(&self, record: &RawRecord, source: &SourceInfo) -> Result<IntelObject, String> {
        check_depth(&record.bytes, &self.limits)?;
        let object = parse_json_object(&record.bytes, &self.limits)?;
        let text = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let stix_type =
            text("type").ok_or_else(|| "STIX object without a string `type`".to_owned())?;
        let stix_id = text("id")
            .ok_or_else(|| format!("STIX object of type `{stix_type}` without a string `id`"))?;
        let modified = text("modified");
        Ok(IntelObject {
            stix_id,
            stix_type,
            modified,
            object: Value::Object(object),
            provenance: self.provenance(record, source),
        })
    }
}

impl RecordParser for StixObjects {
    fn format(&self) -> Format {
        Format::Stix
    }

    fn parser_id(&self) -> &'static str {
        "stix/1"
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        match self.object(record, source) {
            Ok(object) => out.push(Ingested::Intel(Box::new(object))),
            Err(reason) => out.push(self.dead_letter(record, source, reason)),
        }
    }
}

/// Frames the objects of one STIX document held in memory.
pub(crate) fn frame_document(bytes: &[u8], limits: &Limits, push: &mut dyn FnMut(Frame)) {
    let (ranges, failure) = split_document(bytes);
    let mut index = 0u64;
    for range in ranges {
        let element = bytes.get(range).unwrap_or_default();
        let position = Position::Index(index);
        index += 1;
        if element.len() > limits.max_record_bytes {
            push(bad(
                element,
                position,
                format!(
                    "STIX object of {} bytes exceeds the record cap of {} bytes (`max_record_bytes`)",
                    element.len(),
                    limits.max_record_bytes
                ),
            ));
        } else {
            push(Frame::Record(RawRecord {
                bytes: element.to_vec(),
                position,
            }));
        }
    }
    if let Some((at, reason)) = failure {
        // Placed after the objects framed before it, or at its byte offset when none were.
        let position = if index == 0 {
            Position::Offset(at as u64)
        } else {
            Position::Index(index)
        };
        push(bad(bytes.get(at..).unwrap_or_default(), position, reason));
    }
}

/// A framing failure: the byte offset where framing stopped, and why.
type Failure = (usize, String);

/// The byte ranges of the document's objects, and the failure that stopped framing, if any
/// (the objects before it are still framed).
fn split_document(bytes: &[u8]) -> (Vec<Range<usize>>, Option<Failure>) {
    let start = skip_blank(bytes, 0);
    match bytes.get(start) {
        Some(b'[') => array_elements(bytes, start),
        Some(b'{') => {
            let (members, end) = object_members(bytes, start);
            if let Some(member) = members.iter().find(|member| member.key == "objects") {
                if bytes.get(member.start) != Some(&b'[') {
                    let reason = "the bundle's `objects` is not an array".to_owned();
                    return (Vec::new(), Some((member.start, reason)));
                }
                let (elements, failure) = array_elements(bytes, member.start);
                // A failure inside `objects` explains itself; one after it still counts.
                (elements, failure.or(end.err()))
            } else if let Err(failure) = end {
                (Vec::new(), Some(failure))
            } else if members.iter().any(|member| member.key == "type")
                && members.iter().any(|member| member.key == "id")
            {
                (
                    vec![Range {
                        start,
                        end: end.unwrap_or(bytes.len()),
                    }],
                    None,
                )
            } else {
                let reason = "not a STIX bundle or object: no `objects` array and no `type` and \
                              `id`"
                    .to_owned();
                (Vec::new(), Some((start, reason)))
            }
        }
        _ => {
            let reason = "not a STIX document: expected a JSON object or array".to_owned();
            (Vec::new(), Some((start, reason)))
        }
    }
}

/// One member of a JSON object: its key and where its value starts.
struct Member {
    key: String,
    start: usize,
}

/// The members of the object at `start`, as far as they can be read, and where the object
/// ends (or why it could not be read to its end).
fn object_members(bytes: &[u8], start: usize) -> (Vec<Member>, Result<usize, Failure>) {
    let mut members = Vec::new();
    let mut at = skip_blank(bytes, start + 1);
    if bytes.get(at) == Some(&b'}') {
        return (members, Ok(at + 1));
    }
    loop {
        let Some(key_end) = value_end(bytes, at).filter(|_| bytes.get(at) == Some(&b'"')) else {
            return (
                members,
                Err((at, "malformed JSON: expected an object key".to_owned())),
            );
        };
        let key = match serde_json::from_slice::<String>(bytes.get(at..key_end).unwrap_or_default())
        {
            Ok(key) => key,
            Err(error) => return (members, Err((at, format!("malformed JSON key: {error}")))),
        };
        at = skip_blank(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return (
                members,
                Err((at, "malformed JSON: expected `:` after a key".to_owned())),
            );
        }
        let value_start = skip_blank(bytes, at + 1);
        members.push(Member {
            key,
            start: value_start,
        });
        let Some(end) = value_end(bytes, value_start) else {
            return (members, Err((value_start, truncated(bytes, value_start))));
        };
        at = skip_blank(bytes, end);
        match bytes.get(at) {
            Some(b',') => at = skip_blank(bytes, at + 1),
            Some(b'}') => return (members, Ok(at + 1)),
            _ => {
                let reason = "malformed JSON: expected `,` or `}` in an object".to_owned();
                return (members, Err((at, reason)));
            }
        }
    }
}

/// The byte ranges of the elements of the array at `start`, and the failure that stopped
/// framing before its closing `]`, if any.
fn array_elements(bytes: &[u8], start: usize) -> (Vec<Range<usize>>, Option<Failure>) {
    let mut elements = Vec::new();
    let mut at = skip_blank(bytes, start + 1);
    if bytes.get(at) == Some(&b']') {
        return (elements, None);
    }
    loop {
        let Some(end) = value_end(bytes, at) else {
            let reason = truncated(bytes, at);
            return (elements, Some((at, reason)));
        };
        elements.push(at..end);
        at = skip_blank(bytes, end);
        match bytes.get(at) {
            Some(b',') => at = skip_blank(bytes, at + 1),
            Some(b']') => return (elements, None),
            _ => {
                let reason = "malformed JSON: expected `,` or `]` between STIX objects".to_owned();
                return (elements, Some((at, reason)));
            }
        }
    }
}

fn truncated(bytes: &[u8], at: usize) -> String {
    if at >= bytes.len() {
        "truncated STIX document: it ends before the closing bracket".to_owned()
    } else {
        "truncated or malformed JSON value: it has no matching closing bracket".to_owned()
    }
}

/// The end (exclusive) of the JSON value starting at `start`, scanning brackets and strings
/// without parsing; `None` when it never ends.
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    let first = *bytes.get(start)?;
    let rest = bytes.get(start..)?;
    match first {
        b'{' | b'[' => crate::json_scan::bracketed_len(rest).map(|len| start + len),
        b'"' => {
            let mut escaped = false;
            for (offset, &byte) in rest.iter().enumerate().skip(1) {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => return Some(start + offset + 1),
                    _ => {}
                }
            }
            None
        }
        b',' | b'}' | b']' | b':' => None,
        _ => {
            let length = rest
                .iter()
                .position(|&byte| matches!(byte, b',' | b'}' | b']') || byte.is_ascii_whitespace())
                .unwrap_or(rest.len());
            Some(start + length)
        }
    }
}

fn skip_blank(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| {
            rest.iter().position(|&byte| {
                !byte.is_ascii_whitespace() && !matches!(byte, 0xEF | 0xBB | 0xBF)
            })
        })
        .map_or(bytes.len().max(from), |skip| from + skip)
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

    fn read_document(text: &str) -> Vec<Ingested> {
        let parser = StixObjects::new(&Limits::default());
        let source = SourceInfo {
            source: "/data/bundle.json".to_owned(),
            ingested_at: chrono::Utc::now(),
        };
        let mut out = Vec::new();
        frame_document(
            text.as_bytes(),
            &Limits::default(),
            &mut |frame| match frame {
                Frame::Record(record) => parser.parse(&record, &source, &mut out),
                Frame::Bad { record, reason } => {
                    out.push(parser.dead_letter(&record, &source, reason));
                }
            },
        );
        out
    }

    fn position(item: &Ingested) -> Position {
        match item {
            Ingested::Intel(object) => object.provenance.position,
            Ingested::DeadLetter(letter) => letter.provenance.position,
            Ingested::Event(event) => event.provenance.position,
        }
    }

    #[test]
    fn every_bundle_object_is_one_record() {
        let out = read_document(
            r#"{"type":"bundle","id":"bundle--1","objects":[
              {"type":"indicator","spec_version":"2.1","id":"indicator--a","modified":"2014-05-08T09:00:00.000Z","pattern":"[ipv4-addr:value = '10.0.0.0']","name":"x ] } \" ["},
              {"type":"x-custom-thing","id":"x-custom-thing--b"},
              {"type":"malware"},
              {"id":"relationship--c"},
              42
            ]}"#,
        );
        assert_eq!(out.len(), 5);
        let Ingested::Intel(indicator) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(indicator.stix_type, "indicator");
        assert_eq!(
            indicator.modified.as_deref(),
            Some("2014-05-08T09:00:00.000Z")
        );
        assert!(matches!(&out[1], Ingested::Intel(custom) if custom.stix_type == "x-custom-thing"));
        assert!(matches!(&out[2], Ingested::DeadLetter(letter) if letter.reason.contains("`id`")));
        assert!(
            matches!(&out[3], Ingested::DeadLetter(letter) if letter.reason.contains("`type`"))
        );
        assert!(matches!(&out[4], Ingested::DeadLetter(_)));
        let positions: Vec<_> = out.iter().map(position).collect();
        assert_eq!(positions, (0..5).map(Position::Index).collect::<Vec<_>>());
    }

    #[test]
    fn single_objects_and_arrays_are_read() {
        let single = read_document(r#"{"type":"campaign","id":"campaign--1","name":"x"}"#);
        assert!(
            matches!(&single[..], [Ingested::Intel(campaign)] if campaign.stix_id == "campaign--1")
        );
        let array =
            read_document(r#"[{"type":"tool","id":"tool--1"},{"type":"tool","id":"tool--2"}]"#);
        assert_eq!(array.len(), 2);
        assert!(read_document(r#"{"type":"bundle","id":"bundle--1","objects":[]}"#).is_empty());
    }

    #[test]
    fn broken_documents_keep_what_framed_and_report_the_rest() {
        let out = read_document(
            r#"{"type":"bundle","objects":[{"type":"tool","id":"tool--1"},{"type":"tool","id""#,
        );
        assert_eq!(out.len(), 2);
        assert!(matches!(&out[0], Ingested::Intel(_)));
        assert!(
            matches!(&out[1], Ingested::DeadLetter(letter) if letter.provenance.position == Position::Index(1))
        );
        for text in [
            "",
            "nonsense",
            r#"{"$schema":"x"}"#,
            r#"{"objects":{}}"#,
            r#"{"a" 1}"#,
            "[1,",
        ] {
            let out = read_document(text);
            assert!(!out.is_empty(), "{text}");
            assert!(
                out.iter()
                    .all(|item| matches!(item, Ingested::DeadLetter(_))),
                "{text}"
            );
        }
    }
}
