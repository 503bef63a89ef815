//! The JSON array framer over arbitrary bytes and buffer sizes: no panic, every frame within the
//! record cap (or the dead-letter head cap).
#![no_main]

use std::io::BufReader;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rampart_core::{DeadLetter, Format, Ingested};
use rampart_ingest::frame::{Input, RecordSink, json_array_elements};
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

fuzz_target!(|data: &[u8]| {
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
    json_array_elements(&mut input, &limits, &mut sink);
    sink.finish();
    for frame in frames {
        let (Frame::Record(record) | Frame::Bad { record, .. }) = frame;
        assert!(record.bytes.len() <= limits.max_record_bytes.max(DeadLetter::RAW_CAP));
    }
});
