//! Untrusted LLM answers through `rampart-guard`'s output validator, against evidence that
//! is itself fuzzed. It may reject anything but must never panic; an accepted answer must
//! cite only known evidence.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_guard::output::{Evidence, OutputValidator};
use rampart_guard::prompt::Canary;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is extra evidence; the rest is the answer.
    let (extra, answer) = text.split_once('\n').unwrap_or(("", &text));
    let mut evidence = Evidence::new();
    evidence.add(
        "alert-1",
        "host.name: WS-0231; destination.ip: 198.51.100.7; T1059.001; 3 events",
    );
    evidence.add("alert-2", extra);
    let validator = OutputValidator::new().with_canary(Canary::from_bytes([7; 12]));
    if let Ok(grounded) = validator.validate(answer, &evidence) {
        for claim in grounded.claims() {
            assert!(!claim.evidence.is_empty());
            assert!(
                claim
                    .evidence
                    .iter()
                    .all(|id| id == "alert-1" || id == "alert-2")
            );
        }
    }
});
