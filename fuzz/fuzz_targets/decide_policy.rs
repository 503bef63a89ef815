//! Untrusted Cedar policy text through `rampart-decide`'s loader: split into statements,
//! parsed and validated one by one. It may refuse anything but must never panic, and every
//! statement either loads or is reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_decide::PolicySet;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok((set, errors)) = PolicySet::from_sources(&[("fuzz.cedar", &text)]) else {
        panic!("the built-in schema must always load");
    };
    assert!(set.len() + errors.len() <= text.matches(';').count() + 1);
    for error in &errors {
        assert_eq!(error.file, "fuzz.cedar");
        assert!(error.line >= 1);
    }
});
