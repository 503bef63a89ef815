//! Windows JSON reader throughput, in bytes and records per second
//! (`cargo bench -p rampart-ingest --bench windows`).
//!
//! Inputs: the committed Splunk `attack_data` excerpt (flat nxlog JSON lines) and the
//! synthetic nested events (`evtx_dump` layout, pretty-printed), each repeated to about four
//! megabytes; when the shared data folder is present, also the OTRF `psh_python_webserver`
//! export (2,395 flat events) read from its zip.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::{Format, Ingested};
use rampart_ingest::{ReadOptions, read_bytes_all};

const TARGET_BYTES: usize = 4 << 20;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows")
        .join(name);
    std::fs::read(path).unwrap_or_default()
}

fn shared_data() -> PathBuf {
    std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    )
}

fn repeat(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TARGET_BYTES + body.len());
    while !body.is_empty() && out.len() < TARGET_BYTES {
        out.extend_from_slice(body);
        if !body.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

fn events(items: &[Ingested]) -> usize {
    items
        .iter()
        .filter(|item| matches!(item, Ingested::Event(_)))
        .count()
}

fn bench(c: &mut Criterion) {
    let options = ReadOptions {
        format: Some(Format::WindowsJson),
        ..ReadOptions::default()
    };
    let mut inputs = vec![
        (
            "flat-nxlog-splunk",
            "events.ndjson",
            repeat(&fixture("splunk-attack-data-T1027.ndjson")),
        ),
        (
            "nested-evtx-dump-pretty",
            "events.json",
            repeat(&fixture("nested-synthetic.json")),
        ),
    ];
    let otrf = shared_data()
        .join("otrf-security-datasets/atomic/windows/execution/host/psh_python_webserver.zip");
    match std::fs::read(&otrf) {
        Ok(bytes) => inputs.push(("flat-otrf-zip", "psh_python_webserver.zip", bytes)),
        Err(_) => eprintln!("SKIPPED otrf bench: {} is absent", otrf.display()),
    }
    let mut group = c.benchmark_group("windows-json");
    for (label, name, input) in &inputs {
        if input.is_empty() {
            eprintln!("SKIPPED {label}: fixture missing");
            continue;
        }
        let records = events(&read_bytes_all(name, input, &options));
        eprintln!(
            "{label}: {} bytes, {records} events per iteration",
            input.len()
        );
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(format!("{label}/bytes"), |b| {
            b.iter(|| read_bytes_all(name, std::hint::black_box(input), &options));
        });
        group.throughput(Throughput::Elements(records as u64));
        group.bench_function(format!("{label}/events"), |b| {
            b.iter(|| read_bytes_all(name, std::hint::black_box(input), &options));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
