//! ECS, OCSF and STIX reader throughput on the committed fixtures, each repeated to about
//! four megabytes (`cargo bench -p rampart-ingest --bench intel_and_schemas`). STIX objects
//! are repeated inside one bundle, so the bench covers the bundle scanner as well.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::Format;
use rampart_ingest::{ReadOptions, read_bytes_all};
use serde_json::Value;

const TARGET_BYTES: usize = 4 << 20;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .unwrap_or_default()
}

fn repeat_lines(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TARGET_BYTES + body.len());
    while !body.is_empty() && out.len() < TARGET_BYTES {
        out.extend_from_slice(body);
    }
    out
}

/// One bundle holding the objects of `path`, repeated to about [`TARGET_BYTES`].
fn big_bundle(path: &str) -> Vec<u8> {
    let bundle: Value = serde_json::from_slice(&fixture(path)).unwrap_or(Value::Null);
    let objects = bundle
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let one = serde_json::to_vec(&objects)
        .unwrap_or_default()
        .len()
        .max(1);
    let copies = TARGET_BYTES / one + 1;
    let all: Vec<Value> = std::iter::repeat_n(objects, copies).flatten().collect();
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--bench", "objects": all});
    serde_json::to_vec(&bundle).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let inputs = [
        (
            "ecs",
            Format::Ecs,
            "events.ndjson",
            repeat_lines(&fixture("ecs/events.ndjson")),
        ),
        (
            "ocsf",
            Format::Ocsf,
            "events.ndjson",
            repeat_lines(&fixture("ocsf/events.ndjson")),
        ),
        (
            "stix",
            Format::Stix,
            "bundle.json",
            big_bundle("stix/malicious-email-indicator-with-attachment.json"),
        ),
    ];
    let mut group = c.benchmark_group("schemas");
    for (label, format, name, input) in &inputs {
        if input.is_empty() {
            eprintln!("SKIPPED {label}: fixture missing");
            continue;
        }
        let options = ReadOptions {
            format: Some(*format),
            ..ReadOptions::default()
        };
        let records = read_bytes_all(name, input, &options).len();
        eprintln!(
            "{label}: {} bytes, {records} records per iteration",
            input.len()
        );
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(format!("{label}/bytes"), |b| {
            b.iter(|| read_bytes_all(name, std::hint::black_box(input), &options));
        });
        group.throughput(Throughput::Elements(records as u64));
        group.bench_function(format!("{label}/records"), |b| {
            b.iter(|| read_bytes_all(name, std::hint::black_box(input), &options));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
