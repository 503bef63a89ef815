//! Reads arbitrary bytes as an IOC list, a MISP warninglist and an inventory CSV: every bad
//! line is a reported error with its line number, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_enrich::{IntelStore, Inventory};

fuzz_target!(|data: &[u8]| {
    let (_, errors) = Inventory::from_csv("fuzz.csv", data);
    assert!(errors.iter().all(|e| e.source == "fuzz.csv"));
    let text = String::from_utf8_lossy(data);
    let mut store = IntelStore::new();
    let report = store.add_ioc_list("fuzz", &text);
    assert!(report.loaded + report.errors.len() <= text.lines().count());
    let _ = store.add_warninglist("fuzz", &text);
    let _ = store.add_stix_document("fuzz", &text);
});
