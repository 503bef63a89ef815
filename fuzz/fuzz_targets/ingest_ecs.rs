//! Reads arbitrary bytes as ECS JSON documents (lines, an array or pretty-printed ones): framing
//! and parsing must never panic, and every record is an event or a dead letter with a reason.
#![no_main]

#[path = "../common/reader.rs"]
mod reader;

use libfuzzer_sys::fuzz_target;
use rampart_core::Format;

fuzz_target!(|data: &[u8]| {
    reader::check(
        Format::Ecs,
        "/fuzz/events.ndjson",
        data,
        reader::small_limits(),
    );
});
