//! Throughput of hashing, envelope encryption and pseudonymisation.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_crypto::digest::{self, HashAlgorithm};

fn hashing(c: &mut Criterion) {
    let data = vec![0x5au8; 8 << 20];
    let mut group = c.benchmark_group("hash");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    for alg in [HashAlgorithm::Sha256, HashAlgorithm::Blake3] {
        group.bench_function(alg.name(), |b| {
            b.iter(|| digest::digest_bytes(alg, std::hint::black_box(&data)));
        });
    }
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
