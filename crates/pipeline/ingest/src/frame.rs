//! Framing: splitting one input's byte stream into records, with bounded memory.
//!
//! Every framer reads from an [`Input`] (a buffered stream plus its [`SourceInfo`]) and pushes
//! [`Frame`]s into a [`RecordSink`], which groups them into [`RecordBatch`]es of
//! [`Limits::batch_records`] and hands them to the caller's delivery callback together with the
//! [`RecordParser`] that reads them. A format's reader (see [`crate::formats`]) picks a framer
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
                return Ok(chunk
                    .iter()
                    .copied()
                    .find(|byte| !byte.is_ascii_whitespace() && *byte != 0xEF && *byte != 0xBB && *byte != 0xBF));
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

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
                        let keep = head.get(..head.len().min(DeadLetter::RAW_CAP)).unwrap_or(head);
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
                            take(&mut element, &mut element_len, &mut over, max, chunk.get(from..at));
                            emit(sink, &mut element, element_start, element_len, over, max);
                            state = if byte == b']' {
                                ArrayState::Closed
                            } else {
                                ArrayState::Between
                            };
                            continue;
                        }
                        _ => depth == 0 && byte.is_ascii_whitespace(),
                    };
                    if ends {
                        let from = taken_from.take().unwrap_or(0);
                        take(&mut element, &mut element_len, &mut over, max, chunk.get(from..=at));
                        emit(sink, &mut element, element_start, element_len, over, max);
                        state = ArrayState::Between;
                    }
                }
                ArrayState::Text => match byte {
                    b'\\' => state = ArrayState::Escape,
                    b'"' if depth == 0 => {
                        let from = taken_from.take().unwrap_or(0);
                        take(&mut element, &mut element_len, &mut over, max, chunk.get(from..=at));
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
                        let keep = head.get(..head.len().min(DeadLetter::RAW_CAP)).unwrap_or(head);
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
            take(&mut element, &mut element_len, &mut over, max, chunk.get(from..consumed));
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
                    format!("truncated JSON array element: input ends after {element_len} bytes of it"),
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
