//! The harness shared by the framer fuzz targets: arbitrary bytes through a framer with
//! arbitrary caps and buffer sizes must never panic nor yield an over-long frame.

use std::io::BufReader;
use std::sync::Arc;

use rampart_core::{DeadLetter, Format, Ingested};
use rampart_ingest::frame::{Input, RecordSink};
use rampart_ingest::{Delivery, Frame, Limits, RawRecord, RecordParser, SourceInfo};

struct Nothing;

impl RecordParser for Nothing {
    fn format(&self) -> Format {
        Format::SuricataEve
    }
    fn parser_id(&self) -> &'static str {
        "fuzz/1"
    }
    fn parse(&self, _: &RawRecord, _: &SourceInfo, _: &mut Vec<Ingested>) {}
}

/// A framer under test: one of `rampart_ingest::frame`'s framing functions.
pub type Framer = fn(&mut Input<'_>, &Limits, &mut RecordSink<'_>);

/// Frames `data` (its first byte picks the record cap and the read-buffer size) and checks
/// that no frame exceeds the record cap, or the dead-letter head cap for bad frames.
pub fn check(data: &[u8], framer: Framer) {
    let Some((&knob, bytes)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_record_bytes: usize::from(knob % 64) + 1,
        ..Limits::default()
    };
    let mut reader = BufReader::with_capacity(usize::from(knob / 64) + 1, bytes);
    let source = Arc::new(SourceInfo {
        source: "/fuzz".into(),
        ingested_at: Default::default(),
    });
    let mut frames = Vec::new();
    let mut deliver = |delivery: Delivery| {
        if let Delivery::Batch(batch) = delivery {
            frames.extend(batch.frames);
        }
    };
    let mut sink = RecordSink::new(
        Arc::clone(&source),
        Arc::new(Nothing),
        &limits,
        &mut deliver,
    );
    let mut input = Input {
        source,
        reader: &mut reader,
    };
    framer(&mut input, &limits, &mut sink);
    sink.finish();
    for frame in frames {
        let (Frame::Record(record) | Frame::Bad { record, .. }) = frame;
        assert!(record.bytes.len() <= limits.max_record_bytes.max(DeadLetter::RAW_CAP));
    }
}
