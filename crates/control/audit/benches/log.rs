//! Append throughput and proof cost of the transparency log (in memory).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rampart_audit::proof::verify_inclusion;
use rampart_audit::{AuditEvent, AuditKind, LogConfig, MemoryStorage, TransparencyLog};
use rampart_crypto::Secret;
use rampart_crypto::ed25519::Ed25519SigningKey;
use serde_json::json;

const ORIGIN: &str = "rampart.bench/audit";
const LARGE: u64 = 1_000_000;

fn key() -> Ed25519SigningKey {
    Ed25519SigningKey::from_seed(&Secret::new([1u8; 32]))
}

fn event(i: u64) -> AuditEvent {
    AuditEvent::new(
        AuditKind::Decision,
        "policy-engine",
        format!("incident-{i}"),
        json!({"action": "isolate-host", "host": "ws-0042", "score": i % 100, "policy": "p-7"}),
    )
}

fn new_log(every: u64) -> Option<TransparencyLog<MemoryStorage>> {
    TransparencyLog::in_memory(
        key(),
        LogConfig {
            origin: ORIGIN.to_owned(),
            checkpoint_every: every,
        },
    )
    .ok()
}

fn appends(c: &mut Criterion) {
    let batch: Vec<AuditEvent> = (0..1000).map(event).collect();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.sample_size(20);
    // Batches of 1000 into a log that already holds 100,000 entries, checkpoint every 1000.
    group.bench_function("batch1000_ckpt1000", |b| {
        b.iter_batched(
            || {
                let log = new_log(1000)?;
                for chunk in 0..100 {
                    log.append_batch(
                        &(chunk * 1000..(chunk + 1) * 1000)
                            .map(event)
                            .collect::<Vec<_>>(),
                    )
                    .ok()?;
                }
                Some(log)
            },
            // Return the log so that dropping 100,000 entries is not timed.
            |log| {
                log.map(|l| {
                    let receipts = l.append_batch(black_box(&batch));
                    (l, receipts)
                })
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("single_record_ckpt1000", |b| {
        let Some(log) = new_log(1000) else { return };
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            log.append_batch(std::slice::from_ref(&event(i)))
        });
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let Some(log) = new_log(100_000) else { return };
    let mut next = 0u64;
    while next < LARGE {
        let end = (next + 10_000).min(LARGE);
        if log
            .append_batch(&(next..end).map(event).collect::<Vec<_>>())
            .is_err()
        {
            return;
        }
        next = end;
    }
    let Ok(cp) = log.checkpoint() else { return };
    let root = cp.checkpoint.root;
    let mut group = c.benchmark_group("proof_1M_entries");
    let mut i = 0u64;
    group.bench_function("inclusion_generate", |b| {
        b.iter(|| {
            i = (i + 7919) % LARGE;
            log.prove_at(black_box(i), LARGE)
        });
    });
    let Ok(p) = log.prove_at(123_457, LARGE) else {
        return;
    };
    group.bench_function("inclusion_verify", |b| {
        b.iter(|| {
            verify_inclusion(
                &p.leaf_hash,
                p.leaf_index,
                p.tree_size,
                black_box(&p.hashes),
                &root,
            )
        });
    });
    group.bench_function("consistency_generate", |b| {
        b.iter(|| log.consistency(black_box(654_321), LARGE));
    });
    let Ok(cons) = log.consistency(654_321, LARGE) else {
        return;
    };
    group.bench_function("consistency_verify", |b| {
        b.iter(|| black_box(&cons).verify());
    });
    group.finish();
}

fn whole_log_verification(c: &mut Criterion) {
    const SIZE: u64 = 100_000;
    let Some(log) = new_log(1000) else { return };
    if log
        .append_batch(&(0..SIZE).map(event).collect::<Vec<_>>())
        .is_err()
    {
        return;
    }
    let mut group = c.benchmark_group("verify_100k_entries");
    group.throughput(Throughput::Elements(SIZE));
    group.sample_size(10);
    group.bench_function("verify", |b| b.iter(|| log.verify()));
    group.finish();
}

criterion_group!(benches, appends, proofs, whole_log_verification);
criterion_main!(benches);
