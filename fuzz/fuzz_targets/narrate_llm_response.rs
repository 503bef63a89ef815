//! An LLM endpoint's response body is untrusted: reading the answer out of it and validating
//! that answer against a fact sheet's evidence must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_guard::output::{Evidence, OutputValidator};
use rampart_guard::prompt::Canary;
use rampart_narrate::llm::answer_text;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(answer) = answer_text(body) else {
        return;
    };
    let mut evidence = Evidence::new();
    evidence.add(
        "alr_24a0945674dd7e31e884cb3b3e43617e",
        "Suspicious PowerShell Spawned by Microsoft Word; host ws-0231.corp.example",
    );
    evidence.add("198.51.100.7", "198.51.100.7 named in 2 alerts");
    if let Ok(grounded) = OutputValidator::new()
        .with_canary(Canary::from_bytes([7; 12]))
        .validate(&answer, &evidence)
    {
        assert!(!grounded.claims().is_empty(), "an accepted answer has claims");
    }
});
