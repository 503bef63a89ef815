//! The harness shared by the reader fuzz targets: arbitrary bytes read as one format must
//! never panic, every dead letter carries a reason and a capped copy of the bytes, and a
//! reader yields only the kind of item its format holds.

#![allow(dead_code, reason = "each fuzz target uses a subset of the harness")]

use rampart_core::{DeadLetter, Format, Ingested};
use rampart_ingest::{Limits, ReadOptions, read_bytes_all};

/// Tight caps so the fuzzer reaches them quickly.
pub fn small_limits() -> Limits {
    Limits {
        max_record_bytes: 1 << 16,
        max_document_bytes: 1 << 22,
        max_json_depth: 32,
        max_fields: 1024,
        ..Limits::default()
    }
}

/// Reads `data` as `format` (named `source`, which matters for formats detected by name)
/// and checks every item.
pub fn check(format: Format, source: &str, data: &[u8], limits: Limits) {
    let options = ReadOptions {
        format: Some(format),
        limits,
    };
    for item in read_bytes_all(source, data, &options) {
        match item {
            Ingested::DeadLetter(letter) => {
                assert!(!letter.reason.is_empty());
                // Lossy UTF-8 decoding may grow each kept byte to three.
                assert!(letter.raw.len() <= 4 * DeadLetter::RAW_CAP);
            }
            Ingested::Event(_) => assert!(format != Format::Stix, "{format} yielded an event"),
            Ingested::Intel(object) => {
                assert!(format == Format::Stix, "{format} yielded an intel object");
                assert!(!object.stix_id.is_empty() && !object.stix_type.is_empty());
            }
        }
    }
}
