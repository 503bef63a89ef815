//! Sigma rule files are untrusted input (shared rule packs, pull requests): arbitrary text
//! goes through the rule loader, which must return rules or rejections without panicking,
//! hanging or allocating without bound; whatever loads is evaluated against events and run
//! through the correlator.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rampart_core::{Event, Ingested};
use rampart_detect::{Correlator, RuleSet};
use rampart_ingest::{ReadOptions, read_bytes_all};

const EVENTS: &str = concat!(
    r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","@timestamp":"2024-01-01T00:00:00Z","Hostname":"ws1","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami -all","ParentImage":"C:\\Windows\\explorer.exe","User":"EXAMPLE\\alice"}"#,
    "\n",
    r#"{"EventID":4625,"Channel":"Security","@timestamp":"2024-01-01T00:00:30Z","Hostname":"dc1","TargetUserName":"bob","IpAddress":"10.0.0.9"}"#,
    "\n",
);

fn events() -> &'static [Event] {
    static EVENTS_READ: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS_READ.get_or_init(|| {
        read_bytes_all("events.json", EVENTS.as_bytes(), &ReadOptions::default())
            .into_iter()
            .filter_map(|item| match item {
                Ingested::Event(event) => Some(*event),
                _ => None,
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (rules, _report) = RuleSet::from_texts([("fuzz.yml", text.as_ref())]);
    if rules.is_empty() {
        return;
    }
    let mut correlator = Correlator::new(Arc::new(rules.clone()));
    for event in events() {
        let _ = rules.evaluate(event);
        let _ = correlator.observe(event);
    }
    let _ = correlator.flush();
});
