//! Criterion benches: loading the `SigmaHQ` archive, and evaluating all loaded rules against
//! the `SigmaHQ` regression events (real Sysmon, Security, PowerShell and Defender events).
//! Needs the shared data (`RAMPART_SHARED_DATA`, default `../shared/data` beside the
//! workspace); without it only the synthetic single-event bench runs.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark set-up on fixed inputs; a failure should stop the bench"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::{Event, Ingested};
use rampart_detect::RuleSet;
use rampart_ingest::{ReadOptions, read_all};

fn shared_data() -> Option<PathBuf> {
    let path = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    path.join("sigma-rules").is_dir().then_some(path)
}

const WHOAMI: &str = r"title: Whoami
id: bench-whoami
logsource: {product: windows, category: process_creation}
detection:
    selection:
        Image|endswith: '\whoami.exe'
    condition: selection
";

fn synthetic_event() -> Event {
    let line = r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"ws1","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami /all","ParentImage":"C:\\Windows\\explorer.exe","ParentCommandLine":"C:\\Windows\\Explorer.EXE","User":"EXAMPLE\\alice","OriginalFileName":"Cmd.Exe","IntegrityLevel":"Medium"}"#;
    let read =
        rampart_ingest::read_bytes_all("bench.json", line.as_bytes(), &ReadOptions::default());
    match read.into_iter().next() {
        Some(Ingested::Event(event)) => *event,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn benches(c: &mut Criterion) {
    let event = synthetic_event();
    let one = RuleSet::from_yaml_str("whoami.yml", WHOAMI).unwrap();
    c.bench_function("evaluate/one_rule/sysmon_process_creation", |b| {
        b.iter(|| black_box(one.evaluate(black_box(&event))));
    });

    let Some(data) = shared_data() else {
        eprintln!("SKIPPED: shared data not found; only the synthetic bench ran");
        return;
    };
    let archive = data.join("sigma-rules/sigmahq_rules_all.tar.gz");
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("sigmahq_archive", |b| {
        b.iter(|| black_box(RuleSet::load(&archive).unwrap()));
    });
    group.finish();

    let (rules, _) = RuleSet::load(&archive).unwrap();
    c.bench_function("evaluate/all_rules/sysmon_process_creation", |b| {
        b.iter(|| black_box(rules.evaluate(black_box(&event))));
    });
    let events: Vec<Event> = read_all(
        &[data.join("sigma-rules/regression_cases")],
        &ReadOptions::default(),
    )
    .unwrap()
    .into_iter()
    .filter_map(|item| match item {
        Ingested::Event(event) => Some(*event),
        _ => None,
    })
    .collect();
    let mut group = c.benchmark_group("evaluate/all_rules");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("regression_events", |b| {
        b.iter(|| {
            for event in &events {
                black_box(rules.evaluate(event));
            }
        });
    });
    group.finish();
}

criterion_group!(sigma, benches);
criterion_main!(sigma);
