//! Throughput of hashing, envelope encryption and pseudonymisation.

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_crypto::Secret;
use rampart_crypto::digest::{self, HashAlgorithm};
use rampart_crypto::envelope::Keyring;
use rampart_crypto::pseudonym::Pseudonymizer;

fn hashing(c: &mut Criterion) {
    let data = vec![0x5au8; 8 << 20];
    let mut group = c.benchmark_group("hash_8MiB");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    for alg in [HashAlgorithm::Sha256, HashAlgorithm::Blake3] {
        group.bench_function(alg.name(), |b| {
            b.iter(|| digest::digest_bytes(alg, black_box(&data)));
        });
    }
    group.finish();
}

fn envelope(c: &mut Criterion) {
    let mut ring = Keyring::new();
    let Ok(kek) = Keyring::generate_kek() else {
        return;
    };
    if ring.insert("bench", kek).is_err() {
        return;
    }
    let Ok((dek, _)) = ring.new_batch() else {
        return;
    };

    let big = vec![0x42u8; 1 << 20];
    let mut group = c.benchmark_group("envelope_1MiB_value");
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.sample_size(20);
    group.bench_function("seal", |b| {
        b.iter(|| dek.seal("rec-1", "raw", black_box(&big)));
    });
    let Ok(sealed) = dek.seal("rec-1", "raw", &big) else {
        return;
    };
    group.bench_function("open", |b| {
        b.iter(|| dek.open("rec-1", "raw", black_box(&sealed)));
    });
    group.finish();

    let small = b"alice@example.com";
    let mut group = c.benchmark_group("envelope_field");
    group.throughput(Throughput::Elements(1));
    group.bench_function("seal_17B", |b| {
        b.iter(|| dek.seal("evt-000123", "user.email", black_box(small)));
    });
    let Ok(sealed) = dek.seal("evt-000123", "user.email", small) else {
        return;
    };
    group.bench_function("open_17B", |b| {
        b.iter(|| dek.open("evt-000123", "user.email", black_box(&sealed)));
    });
    group.bench_function("new_batch", |b| b.iter(|| ring.new_batch()));
    group.finish();
}

fn pseudonyms(c: &mut Criterion) {
    let Ok(p) = Pseudonymizer::for_tenant(&Secret::new([7u8; 32]), "bench") else {
        return;
    };
    let mut group = c.benchmark_group("pseudonym");
    group.throughput(Throughput::Elements(1));
    group.bench_function("token", |b| {
        b.iter(|| p.token("user.name", black_box(b"alice.smith")));
    });
    group.bench_function("ipv4", |b| {
        b.iter(|| p.ipv4(black_box(Ipv4Addr::new(192, 0, 2, 77))));
    });
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x77);
    group.bench_function("ipv6", |b| b.iter(|| p.ipv6(black_box(v6))));
    group.finish();
}

criterion_group!(benches, hashing, envelope, pseudonyms);
criterion_main!(benches);
