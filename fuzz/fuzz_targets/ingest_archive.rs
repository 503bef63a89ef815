//! Reads arbitrary bytes as an input of unknown kind (gzip, zip, tar or plain): container
//! unwrapping, bomb caps and detection must never panic or expand without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_ingest::{Limits, ReadOptions, read_bytes};

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        format: None,
        limits: Limits {
            max_record_bytes: 4096,
            max_archive_bytes: 8 << 20,
            max_document_bytes: 1 << 20,
            max_archive_members: 64,
            ..Limits::default()
        },
    };
    read_bytes("/fuzz/input.zip", data, &options, &mut |delivery| {
        if let rampart_ingest::Delivery::Batch(batch) = delivery {
            let _ = batch.parse();
        }
    });
});
