//! Native EVTX reader throughput: read, render to JSON and map every record of a real
//! `.evtx` file (`cargo bench -p rampart-ingest --bench evtx`).
//!
//! Input: `PanacheSysmon_vs_AtomicRedTeam01.evtx` (1.1 MB, 565 records) from the EVTX samples
//! in the shared data folder, read in place (GPL data, never copied); skipped loudly when
//! absent.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::{Format, Ingested};
use rampart_ingest::{ReadOptions, read_bytes_all};

fn shared_data() -> PathBuf {
    std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    )
}

fn bench(c: &mut Criterion) {
    let path = shared_data()
        .join("evtx-samples-dev/evtx/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx");
    let Ok(input) = std::fs::read(&path) else {
        eprintln!("SKIPPED evtx bench: {} is absent", path.display());
        return;
    };
    let options = ReadOptions {
        format: Some(Format::Evtx),
        ..ReadOptions::default()
    };
    let records = read_bytes_all("sample.evtx", &input, &options)
        .iter()
        .filter(|item| matches!(item, Ingested::Event(_)))
        .count();
    eprintln!(
        "evtx: {} bytes, {records} events per iteration",
        input.len()
    );
    let mut group = c.benchmark_group("evtx");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("panache-sysmon/bytes", |b| {
        b.iter(|| read_bytes_all("sample.evtx", std::hint::black_box(&input), &options));
    });
    group.throughput(Throughput::Elements(records as u64));
    group.bench_function("panache-sysmon/events", |b| {
        b.iter(|| read_bytes_all("sample.evtx", std::hint::black_box(&input), &options));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
