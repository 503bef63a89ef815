//! Criterion benches: loading the `SigmaHQ` archive, and evaluating all loaded rules against
//! the `SigmaHQ` regression events (real Sysmon, Security, PowerShell and Defender events).
//! Needs the shared data (`RAMPART_SHARED_DATA`, default `../shared/data` beside the
//! workspace); without it only the synthetic single-event bench runs.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark set-up on fixed inputs; a failure should stop the bench"
)]

use std::fmt::Write as _;
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

const BRUTE_FORCE: &str = r"
title: Brute force
id: bench-brute-force
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 5m
    condition: {gte: 20}
---
title: Failed logon
name: failed_logon
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4625
    condition: selection
";

/// 10,000 failed logons for 500 users, one per 100 ms, in time order.
fn failed_logons() -> Vec<Event> {
    let mut text = String::new();
    for i in 0..10_000u32 {
        let seconds = i / 10;
        let millis = (i % 10) * 100;
        let user = i % 500;
        let _ = writeln!(
            text,
            "{{\"EventID\":4625,\"Channel\":\"Security\",\"@timestamp\":\"2024-01-01T{:02}:{:02}:{:02}.{millis:03}Z\",\"TargetUserName\":\"user{user}\",\"IpAddress\":\"10.0.0.{}\"}}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            user % 250
        );
    }
    rampart_ingest::read_bytes_all("logons.json", text.as_bytes(), &ReadOptions::default())
        .into_iter()
        .filter_map(|item| match item {
            Ingested::Event(event) => Some(*event),
            _ => None,
        })
        .collect()
}

fn correlation(c: &mut Criterion) {
    let rules = std::sync::Arc::new(RuleSet::from_yaml_str("brute.yml", BRUTE_FORCE).unwrap());
    let events = failed_logons();
    let mut group = c.benchmark_group("correlate");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("event_count_500_groups", |b| {
        b.iter(|| {
            let mut correlator = rampart_detect::Correlator::new(std::sync::Arc::clone(&rules));
            let mut alerts = 0;
            for event in &events {
                alerts += correlator.observe(event).len();
            }
            alerts += correlator.flush().len();
            black_box(alerts)
        });
    });
    group.finish();
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

criterion_group!(sigma, benches, correlation);
criterion_main!(sigma);
