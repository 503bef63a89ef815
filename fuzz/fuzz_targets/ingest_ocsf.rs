//! Reads arbitrary bytes as OCSF events: framing and parsing must never panic, and every record is
//! an event or a dead letter with a reason.
#![no_main]

#[path = "../common/reader.rs"]
mod reader;

use libfuzzer_sys::fuzz_target;
use rampart_core::Format;

fuzz_target!(|data: &[u8]| {
    reader::check(
        Format::Ocsf,
        "/fuzz/ocsf.json",
        data,
        reader::small_limits(),
    );
});
