//! Reads arbitrary bytes as Windows JSON events (flat nxlog or nested evtx_dump, lines or
//! pretty-printed): framing and parsing must never panic, and every record is an event or a dead
//! letter with a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::{Format, Ingested};
use rampart_ingest::{Limits, ReadOptions, read_bytes_all};

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        format: Some(Format::WindowsJson),
        limits: Limits {
            max_record_bytes: 1 << 16,
            max_document_bytes: 1 << 22,
            max_json_depth: 32,
            max_fields: 1024,
            ..Limits::default()
        },
    };
    for item in read_bytes_all("/fuzz/events.json", data, &options) {
        match item {
            Ingested::DeadLetter(letter) => {
                assert!(!letter.reason.is_empty());
                assert!(letter.raw.len() <= 4 * rampart_core::DeadLetter::RAW_CAP);
            }
            Ingested::Event(_) => {}
            Ingested::Intel(_) => panic!("the Windows reader yields no intel objects"),
        }
    }
});
