//! Micro-benchmarks: hashing a model directory (the cost of signing and verifying) and
//! parsing a signature bundle. The end-to-end comparison with `model_signing` lives in
//! `bench/trust/model_signing.sh`.
#![expect(clippy::unwrap_used, reason = "benchmark setup fails loudly")]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_registry::{Bundle, IgnoreSet, hash_model_dir, parse_oms_statement};

fn hashing(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    // One large file and several small ones, like a real model directory.
    std::fs::write(tmp.path().join("weights.bin"), vec![7u8; 32 << 20]).unwrap();
    for i in 0..16 {
        std::fs::write(
            tmp.path().join(format!("part-{i}.json")),
            vec![b'x'; 64 << 10],
        )
        .unwrap();
    }
    let mut group = c.benchmark_group("hash_model_dir");
    group.throughput(Throughput::Bytes((32 << 20) + 16 * (64 << 10)));
    group.sample_size(10);
    group.bench_function("33MiB", |b| {
        b.iter(|| hash_model_dir(black_box(tmp.path()), &IgnoreSet::default()).unwrap());
    });
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oms-python/model/model.sig");
    let bytes = std::fs::read(path).unwrap();
    c.bench_function("parse_bundle_and_statement", |b| {
        b.iter(|| {
            let bundle = Bundle::parse(black_box(&bytes)).unwrap();
            let payload = bundle.envelope().unwrap().payload_bytes().unwrap();
            parse_oms_statement(&payload).unwrap()
        });
    });
}

criterion_group!(benches, hashing, parsing);
criterion_main!(benches);
