//! Untrusted text through `rampart-guard`'s input side: normaliser, decoder, injection
//! scan and PII minimiser. None may panic, and every span must lie inside the input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_guard::Guard;
use rampart_guard::decode::decode_segments;
use rampart_guard::normalize::normalize;
use rampart_guard::pii::{FieldAllowlist, Minimiser, PseudonymVault};

fn guard() -> Option<&'static Guard> {
    static GUARD: OnceLock<Option<Guard>> = OnceLock::new();
    GUARD.get_or_init(|| Guard::load_default().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let n = normalize(&text);
    let whole = n.original_span(0..n.as_str().len());
    assert!(whole.end <= text.len() && text.is_char_boundary(whole.start));
    for h in n.hidden() {
        assert!(text.get(h.span.clone()).is_some());
    }
    for d in decode_segments(&text) {
        assert!(text.get(d.span.clone()).is_some());
    }
    let guard = guard().expect("the shipped model loads");
    let r = guard.scan(&text);
    assert!((0.0..=1.0).contains(&r.score));
    for reason in &r.reasons {
        assert!(reason.span.start <= reason.span.end && reason.span.end <= text.len());
    }
    for span in &r.spans {
        assert!(span.end <= text.len());
    }
    let minimiser = Minimiser::redacting(FieldAllowlist::ecs_default());
    let out = minimiser.minimise(&text, &mut PseudonymVault::new());
    for a in &out.applied {
        assert!(text.get(a.finding.span.clone()).is_some());
    }
});
