//! Reads arbitrary bytes as a STIX 2.1 document: the bundle scanner and the object parser must
//! never panic; every object is an intel object (with an id and a type) or a dead letter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::{Format, Ingested};
use rampart_ingest::{Limits, ReadOptions, read_bytes_all};

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        format: Some(Format::Stix),
        limits: Limits {
            max_record_bytes: 1 << 16,
            max_document_bytes: 1 << 22,
            max_json_depth: 32,
            max_fields: 1024,
            ..Limits::default()
        },
    };
    for item in read_bytes_all("/fuzz/bundle.json", data, &options) {
        match item {
            Ingested::DeadLetter(letter) => {
                assert!(!letter.reason.is_empty());
                assert!(letter.raw.len() <= 4 * rampart_core::DeadLetter::RAW_CAP);
            }
            Ingested::Intel(object) => {
                assert!(!object.stix_id.is_empty() && !object.stix_type.is_empty());
            }
            Ingested::Event(_) => panic!("the STIX reader yields no events"),
        }
    }
});
