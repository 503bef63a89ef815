//! Reads arbitrary bytes as a native `.evtx` file (the `evtx` crate's chunk and BinXML
//! parsers, then the Windows mapping): no panic, whatever the damage; every record is an event
//! or a dead letter with a reason. Seed the corpus with real `.evtx` files for depth.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::{Format, Ingested};
use rampart_ingest::{Limits, ReadOptions, read_bytes_all};

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        format: Some(Format::Evtx),
        limits: Limits {
            max_document_bytes: 1 << 22,
            ..Limits::default()
        },
    };
    // Most inputs lack the magic; add it half of the time so the chunk parser is reached.
    let mut bytes = Vec::with_capacity(data.len() + 8);
    if data.first().is_some_and(|byte| byte & 1 == 1) {
        bytes.extend_from_slice(b"ElfFile\0");
    }
    bytes.extend_from_slice(data);
    for item in read_bytes_all("/fuzz/input.evtx", &bytes, &options) {
        match item {
            Ingested::DeadLetter(letter) => assert!(!letter.reason.is_empty()),
            Ingested::Event(_) => {}
            Ingested::Intel(_) => panic!("the EVTX reader yields no intel objects"),
        }
    }
});
