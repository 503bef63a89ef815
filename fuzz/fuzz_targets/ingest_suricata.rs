//! Reads arbitrary bytes as the `eve.json` of this format: framing and parsing must never panic
//! and must account for every record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::{Format, Ingested};
use rampart_ingest::{Limits, ReadOptions, read_bytes_all};

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        format: Some(Format::SuricataEve),
        limits: Limits {
            max_record_bytes: 4096,
            ..Limits::default()
        },
    };
    for item in read_bytes_all("/fuzz/eve.json", data, &options) {
        if let Ingested::DeadLetter(letter) = item {
            assert!(!letter.reason.is_empty());
        }
    }
});
