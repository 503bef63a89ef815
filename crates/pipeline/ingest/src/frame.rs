//! Framing: splitting one input's byte stream into records, with bounded memory.
//!
//! Every framer reads from an [`Input`] (a buffered stream plus its [`SourceInfo`]) and pushes
//! [`Frame`]s into a [`RecordSink`], which groups them into [`RecordBatch`]es of
//! [`Limits::batch_records`] and hands them to the caller's delivery callback together with the
//! [`RecordParser`] that reads them. A format's reader (in the crate's `formats` module) picks a framer
//! and a parser; formats whose parser depends on headers (Zeek `#fields`, CSV) call
//! [`RecordSink::set_parser`] when the header changes.
//!
//! The framers:
//!
//! - [`lines`]: one record per non-blank line ([`Position::Line`], 1-based); `\r\n` accepted.
//! - [`json_array_elements`]: the elements of one top-level JSON array, such as a
//!   pretty-printed Suricata `alerts-only.json` ([`Position::Offset`] of the element's first
//!   byte); aware of strings and escapes, so brackets inside strings do not confuse it.
//! - [`json_records`]: [`json_array_elements`] when the first non-blank byte is `[`, else
//!   [`lines`]. Most JSON formats use this one.
//! - [`whole_document`]: the whole input as one buffer, for formats that are one document
//!   (a STIX bundle, an EVTX file), capped at [`Limits::max_document_bytes`].
//!
//! INVARIANT: no framer holds more than [`Limits::max_record_bytes`] of one record (plus the
//! reader's buffer). A record over the cap becomes [`Frame::Bad`] holding its first
//! [`DeadLetter::RAW_CAP`] bytes; the framer skips the rest without buffering it and carries on
//! with the next record. A read error (a corrupt gzip stream) becomes one final bad frame.

use std::io::{BufRead, ErrorKind};
use std::sync::Arc;

use rampart_core::{DeadLetter, Position};

use crate::{Delivery, Frame, Limits, RawRecord, RecordBatch, RecordParser, SourceInfo};

mod array;

pub use array::json_array_elements;

/// One input being read: its name and its bytes, not yet consumed.
pub struct Input<'a> {
    /// Where the bytes come from, shared by every batch of this input.
    pub source: Arc<SourceInfo>,
    /// The bytes. Detection has only peeked at them: the stream starts at byte 0.
    pub reader: &'a mut dyn BufRead,
}

impl Input<'_> {
    /// The last component of the source name (`conn.log` for `/x/y.zip!logs/conn.log`), used
    /// by formats whose file name carries meaning (Zeek log names).
    pub fn file_name(&self) -> &str {
        let name = self.source.source.as_str();
        name.rsplit(['/', '\\', '!']).next().unwrap_or(name)
    }
}

/// Collects frames into batches and delivers them with the parser that reads them.
pub struct RecordSink<'d> {
    source: Arc<SourceInfo>,
    parser: Arc<dyn RecordParser>,
    frames: Vec<Frame>,
    batch_records: usize,
    deliver: &'d mut dyn FnMut(Delivery),
    records: u64,
}

impl<'d> RecordSink<'d> {
    /// A sink for frames of `source`, read by `parser`, delivered in batches of
    /// `limits.batch_records` (at least one).
    pub fn new(
        source: Arc<SourceInfo>,
        parser: Arc<dyn RecordParser>,
        limits: &Limits,
        deliver: &'d mut dyn FnMut(Delivery),
    ) -> Self {
        let batch_records = limits.batch_records.max(1);
        Self {
            source,
            parser,
            frames: Vec::with_capacity(batch_records.min(4096)),
            batch_records,
            deliver,
            records: 0,
        }
    }

    /// Adds one frame; delivers a batch when it is full.
    pub fn push(&mut self, frame: Frame) {
        self.records += 1;
        self.frames.push(frame);
        if self.frames.len() >= self.batch_records {
            self.flush();
        }
    }

    /// Switches the parser for the frames that follow (a new Zeek header, a CSV layout).
    /// Frames pushed so far are delivered with the previous parser.
    pub fn set_parser(&mut self, parser: Arc<dyn RecordParser>) {
        self.flush();
        self.parser = parser;
    }

    /// The parser frames are currently delivered with.
    pub fn parser(&self) -> &Arc<dyn RecordParser> {
        &self.parser
    }

    /// Delivers the frames collected so far.
    pub fn flush(&mut self) {
        if self.frames.is_empty() {
            return;
        }
        let frames = std::mem::replace(
            &mut self.frames,
            Vec::with_capacity(self.batch_records.min(4096)),
        );
        (self.deliver)(Delivery::Batch(RecordBatch {
            source: Arc::clone(&self.source),
            parser: Arc::clone(&self.parser),
            frames,
        }));
    }

    /// Delivers what is left and returns how many frames this sink received.
    pub fn finish(mut self) -> u64 {
        self.flush();
        self.records
    }
}

/// A bad frame holding the first bytes of the offending record.
fn bad(head: Vec<u8>, position: Position, reason: String) -> Frame {
    Frame::Bad {
        record: RawRecord {
            bytes: head,
            position,
        },
        reason,
    }
}

/// Reads a stream line by line, never holding more than the record cap of one line.
pub struct LineReader<'r> {
    reader: &'r mut dyn BufRead,
    max: usize,
    next_line: u64,
    offset: u64,
    done: bool,
}

/// One line as [`LineReader`] yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its `\n` or `\r\n`.
    Text {
        /// The line's bytes.
        bytes: Vec<u8>,
        /// Its 1-based line number.
        number: u64,
        /// The byte offset of its first byte.
        offset: u64,
    },
    /// A line, or a read failure, that cannot be framed; already a bad frame.
    Bad(Frame),
}

impl<'r> LineReader<'r> {
    /// A reader of lines at most `max_record_bytes` long, starting at line 1, byte 0.
    pub fn new(reader: &'r mut dyn BufRead, limits: &Limits) -> Self {
        Self {
            reader,
            max: limits.max_record_bytes,
            next_line: 1,
            offset: 0,
            done: false,
        }
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> Option<Line> {
        if self.done {
            return None;
        }
        let number = self.next_line;
        let start = self.offset;
        let mut bytes = Vec::new();
        let mut total: u64 = 0;
        let mut over = false;
        let mut terminated = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.done = true;
                    return Some(Line::Bad(bad(
                        bytes,
                        Position::Line(number),
                        format!("read failed at line {number}: {error}"),
                    )));
                }
            };
            if chunk.is_empty() {
                self.done = true;
                break;
            }
            let (piece, used) = match memchr::memchr(b'\n', chunk) {
                Some(at) => {
                    terminated = true;
                    (chunk.get(..at).unwrap_or_default(), at + 1)
                }
                None => (chunk, chunk.len()),
            };
            total += piece.len() as u64;
            if !over {
                if bytes.len() + piece.len() > self.max {
                    over = true;
                    let room = DeadLetter::RAW_CAP.saturating_sub(bytes.len());
                    bytes.extend_from_slice(piece.get(..room.min(piece.len())).unwrap_or_default());
                    bytes.truncate(DeadLetter::RAW_CAP);
                    bytes.shrink_to_fit();
                } else {
                    bytes.extend_from_slice(piece);
                }
            }
            self.reader.consume(used);
            self.offset += used as u64;
            if terminated {
                break;
            }
        }
        if !terminated && total == 0 {
            return None;
        }
        self.next_line += 1;
        if over {
            return Some(Line::Bad(bad(
                bytes,
                Position::Line(number),
                format!(
                    "line of {total} bytes exceeds the record cap of {} bytes (`max_record_bytes`)",
                    self.max
                ),
            )));
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Some(Line::Text {
            bytes,
            number,
            offset: start,
        })
    }
}

/// Whether a record holds nothing but whitespace.
pub fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Frames one record per non-blank line ([`Position::Line`]).
pub fn lines(input: &mut Input<'_>, limits: &Limits, sink: &mut RecordSink<'_>) {
    let mut reader = LineReader::new(input.reader, limits);
    while let Some(line) = reader.next_line() {
        match line {
            Line::Text { bytes, number, .. } => {
                if !is_blank(&bytes) {
                    sink.push(Frame::Record(RawRecord {
                        bytes,
                        position: Position::Line(number),
                    }));
                }
            }
            Line::Bad(frame) => sink.push(frame),
        }
    }
}

/// Frames [`json_array_elements`] when the first non-blank byte is `[`, else [`lines`].
pub fn json_records(input: &mut Input<'_>, limits: &Limits, sink: &mut RecordSink<'_>) {
    match first_non_blank(input.reader) {
        Ok(Some(b'[')) => json_array_elements(input, limits, sink),
        Ok(_) => lines(input, limits, sink),
        Err(error) => sink.push(bad(
            Vec::new(),
            Position::Offset(0),
            format!("read failed: {error}"),
        )),
    }
}

/// Peeks at the first non-whitespace byte without consuming anything.
fn first_non_blank(reader: &mut dyn BufRead) -> std::io::Result<Option<u8>> {
    loop {
        match reader.fill_buf() {
            Ok(chunk) => {
                // A stream of only whitespace in its first buffer is too odd to be worth
                // consuming: treat it as lines, which skip blank ones.
                return Ok(chunk.iter().copied().find(|byte| {
                    !byte.is_ascii_whitespace() && *byte != 0xEF && *byte != 0xBB && *byte != 0xBF
                }));
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Reads the whole input as one document, at most [`Limits::max_document_bytes`] long.
///
/// Returns the bytes, or the bad frame (with the document's first bytes) to push when the
/// document is over the cap or cannot be read.
pub fn whole_document(input: &mut Input<'_>, limits: &Limits) -> Result<Vec<u8>, Frame> {
    use std::io::Read as _;
    let cap = limits.max_document_bytes;
    let mut bytes = Vec::new();
    let mut limited = (&mut *input.reader).take(cap as u64 + 1);
    if let Err(error) = limited.read_to_end(&mut bytes) {
        bytes.truncate(DeadLetter::RAW_CAP);
        return Err(bad(
            bytes,
            Position::Offset(0),
            format!("read failed: {error}"),
        ));
    }
    if bytes.len() > cap {
        bytes.truncate(DeadLetter::RAW_CAP);
        return Err(bad(
            bytes,
            Position::Offset(0),
            format!("document exceeds the cap of {cap} bytes (`max_document_bytes`)"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{BufReader, Read};

    use chrono::Utc;
    use proptest::prelude::*;
    use rampart_core::{Format, Ingested};

    use super::*;

    pub(crate) struct Nop;

    impl RecordParser for Nop {
        fn format(&self) -> Format {
            Format::SuricataEve
        }
        fn parser_id(&self) -> &'static str {
            "nop/1"
        }
        fn parse(&self, _: &RawRecord, _: &SourceInfo, _: &mut Vec<Ingested>) {}
    }

    pub(crate) type Framer = fn(&mut Input<'_>, &Limits, &mut RecordSink<'_>);

    /// Runs a framer over a reader with a small buffer, so records straddle buffer refills.
    pub(crate) fn frames_with(
        framer: Framer,
        reader: impl Read,
        buffer: usize,
        limits: &Limits,
    ) -> Vec<Frame> {
        let mut reader = BufReader::with_capacity(buffer, reader);
        let source = Arc::new(SourceInfo {
            source: "/test".into(),
            ingested_at: Utc::now(),
        });
        let mut out = Vec::new();
        let mut deliver = |delivery: Delivery| {
            if let Delivery::Batch(batch) = delivery {
                out.extend(batch.frames);
            }
        };
        let mut sink = RecordSink::new(Arc::clone(&source), Arc::new(Nop), limits, &mut deliver);
        let mut input = Input {
            source,
            reader: &mut reader,
        };
        framer(&mut input, limits, &mut sink);
        sink.finish();
        out
    }

    pub(crate) fn frames(framer: Framer, bytes: &[u8]) -> Vec<Frame> {
        frames_with(framer, bytes, 5, &Limits::default())
    }

    pub(crate) fn records(frames: &[Frame]) -> Vec<(String, Position)> {
        frames
            .iter()
            .map(|frame| match frame {
                Frame::Record(record) => (
                    String::from_utf8_lossy(&record.bytes).into_owned(),
                    record.position,
                ),
                Frame::Bad { reason, record } => (format!("BAD {reason}"), record.position),
            })
            .collect()
    }

    #[test]
    fn lines_skip_blanks_strip_crlf_and_count_from_one() {
        let got = records(&frames(lines, b"a\r\n\n  \nbb\nlast"));
        assert_eq!(
            got,
            [
                ("a".to_owned(), Position::Line(1)),
                ("bb".to_owned(), Position::Line(4)),
                ("last".to_owned(), Position::Line(5))
            ]
        );
    }

    /// Fifty megabytes of one line, produced on the fly so the test holds none of it.
    struct LongLine {
        left: usize,
    }

    impl Read for LongLine {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.left);
            buf.iter_mut().take(n).for_each(|byte| *byte = b'x');
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn fifty_megabyte_line_is_one_bad_frame_and_the_next_lines_are_kept() {
        let input = b"{\"first\":1}\n"
            .chain(LongLine { left: 50 << 20 })
            .chain(&b"\n{\"after\":2}\n{\"after\":3}\n"[..]);
        let got = frames_with(lines, input, 64 * 1024, &Limits::default());
        assert_eq!(got.len(), 4);
        let Frame::Bad { record, reason } = &got[1] else {
            panic!("{:?}", got[1]);
        };
        assert_eq!(record.position, Position::Line(2));
        assert!(
            record.bytes.len() <= DeadLetter::RAW_CAP,
            "kept {} bytes",
            record.bytes.len()
        );
        assert!(record.bytes.capacity() <= DeadLetter::RAW_CAP * 2);
        assert!(reason.contains("52428800 bytes"), "{reason}");
        assert_eq!(
            records(&got[2..]),
            [
                ("{\"after\":2}".to_owned(), Position::Line(3)),
                ("{\"after\":3}".to_owned(), Position::Line(4))
            ]
        );
    }

    #[test]
    fn json_records_picks_the_framer_from_the_first_byte() {
        assert_eq!(records(&frames(json_records, b"\n [1,2]")).len(), 2);
        assert_eq!(
            records(&frames(json_records, b"{\"a\":1}\n{\"a\":2}\n")).len(),
            2
        );
    }

    #[test]
    fn whole_document_is_capped() {
        let limits = Limits {
            max_document_bytes: 4,
            ..Limits::default()
        };
        let mut reader = BufReader::new(&b"12345"[..]);
        let source = Arc::new(SourceInfo {
            source: "/doc".into(),
            ingested_at: Utc::now(),
        });
        let mut input = Input {
            source: Arc::clone(&source),
            reader: &mut reader,
        };
        assert!(matches!(
            whole_document(&mut input, &limits),
            Err(Frame::Bad { .. })
        ));
        let mut reader = BufReader::new(&b"1234"[..]);
        let mut input = Input {
            source,
            reader: &mut reader,
        };
        assert_eq!(whole_document(&mut input, &limits).unwrap(), b"1234");
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            "[\\[\\]{}\",\\\\a-z ]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z\\]\\[\"]{1,4}", inner, 0..4)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn framers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), buffer in 1usize..64, cap in 1usize..64) {
            let limits = Limits { max_record_bytes: cap, ..Limits::default() };
            for framer in [lines as Framer, json_array_elements, json_records] {
                let got = frames_with(framer, bytes.as_slice(), buffer, &limits);
                for frame in got {
                    let (Frame::Record(record) | Frame::Bad { record, .. }) = frame;
                    prop_assert!(record.bytes.len() <= cap.max(DeadLetter::RAW_CAP));
                }
            }
        }

        #[test]
        fn array_elements_round_trip(values in prop::collection::vec(json_value(), 0..8), pretty in any::<bool>(), buffer in 1usize..32) {
            let array = serde_json::Value::Array(values.clone());
            let text = if pretty { serde_json::to_vec_pretty(&array).unwrap() } else { serde_json::to_vec(&array).unwrap() };
            let got = frames_with(json_array_elements, text.as_slice(), buffer, &Limits::default());
            let parsed: Vec<serde_json::Value> = got
                .iter()
                .map(|frame| match frame {
                    Frame::Record(record) => serde_json::from_slice(&record.bytes).unwrap(),
                    Frame::Bad { reason, .. } => panic!("{reason}"),
                })
                .collect();
            prop_assert_eq!(parsed, values);
        }

        #[test]
        fn lines_round_trip(lines_in in prop::collection::vec("[^\r\n]{0,40}", 0..20), buffer in 1usize..32) {
            let text = lines_in.join("\n");
            let got = frames_with(lines, text.as_bytes(), buffer, &Limits::default());
            let expected: Vec<(String, Position)> = lines_in
                .iter()
                .enumerate()
                .filter(|(_, line)| !is_blank(line.as_bytes()))
                .map(|(index, line)| (line.clone(), Position::Line(index as u64 + 1)))
                .collect();
            prop_assert_eq!(records(&got), expected);
        }
    }
}
