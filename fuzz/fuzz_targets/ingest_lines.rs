//! The line framer over arbitrary bytes and buffer sizes: no panic, every frame within the
//! record cap (or the dead-letter head cap).
#![no_main]

#[path = "../common/framer.rs"]
mod framer;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| framer::check(data, rampart_ingest::frame::lines));
