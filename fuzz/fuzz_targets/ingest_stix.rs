//! Reads arbitrary bytes as a STIX 2.1 document: the bundle scanner and the object parser must
//! never panic; every object is an intel object (with an id and a type) or a dead letter.
#![no_main]

#[path = "../common/reader.rs"]
mod reader;

use libfuzzer_sys::fuzz_target;
use rampart_core::Format;

fuzz_target!(|data: &[u8]| {
    reader::check(
        Format::Stix,
        "/fuzz/bundle.json",
        data,
        reader::small_limits(),
    );
});
