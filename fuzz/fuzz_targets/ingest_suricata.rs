//! Reads arbitrary bytes as the `eve.json` of this format: framing and parsing must never panic
//! and must account for every record.
#![no_main]

#[path = "../common/reader.rs"]
mod reader;

use libfuzzer_sys::fuzz_target;
use rampart_core::Format;
use rampart_ingest::Limits;

fuzz_target!(|data: &[u8]| {
    reader::check(
        Format::SuricataEve,
        "/fuzz/eve.json",
        data,
        Limits {
            max_record_bytes: 4096,
            ..Limits::default()
        },
    );
});
