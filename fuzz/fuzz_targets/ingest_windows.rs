//! Reads arbitrary bytes as Windows JSON events (flat nxlog or nested evtx_dump, lines or
//! pretty-printed): framing and parsing must never panic, and every record is an event or a dead
//! letter with a reason.
#![no_main]

#[path = "../common/reader.rs"]
mod reader;

use libfuzzer_sys::fuzz_target;
use rampart_core::Format;

fuzz_target!(|data: &[u8]| {
    reader::check(
        Format::WindowsJson,
        "/fuzz/events.json",
        data,
        reader::small_limits(),
    );
});
