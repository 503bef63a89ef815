//! Write and read throughput of the `SQLite` store on realistic Suricata alerts.
//!
//! `cargo bench -p rampart-store --bench store`. Each write iteration stores a fresh batch of
//! 1,024 new events into a store already holding `PREFILL` events, so index maintenance is
//! measured at a realistic size rather than on an empty file.

#![expect(clippy::unwrap_used, reason = "a benchmark that cannot set up has nothing to measure")]

#[path = "../tests/common/mod.rs"]
mod common;

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::RunRecord;
use rampart_store::{EventQuery, Page, SqliteStore, Store};

const BATCH: u64 = 1024;
const PREFILL: u64 = 200 * BATCH;
const SOURCE: &str = "/var/log/suricata/eve.json";

fn write_batch(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let run = RunRecord::start(vec![SOURCE.into()]);
    store.begin_run(&run).unwrap();
    for start in (0..PREFILL).step_by(1024) {
        store
            .write_batch(run.id, &common::batch(SOURCE, start..start + BATCH))
            .unwrap();
    }
    let raw_bytes: usize = common::batch(SOURCE, 0..BATCH)
        .iter()
        .map(|item| match item {
            rampart_core::Ingested::Event(event) => event.raw.len(),
            _ => 0,
        })
        .sum();
    eprintln!(
        "mean raw event size: {} bytes",
        raw_bytes / usize::try_from(BATCH).unwrap()
    );

    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));

    let next = Cell::new(PREFILL);
    group.bench_function("write_batch_new_1024", |b| {
        b.iter_batched(
            || {
                let start = next.get();
                next.set(start + BATCH);
                common::batch(SOURCE, start..start + BATCH)
            },
            |items| black_box(store.write_batch(run.id, &items).unwrap()),
            BatchSize::LargeInput,
        );
    });

    let again = common::batch(SOURCE, 0..BATCH);
    group.bench_function("write_batch_duplicates_1024", |b| {
        b.iter(|| black_box(store.write_batch(run.id, &again).unwrap()));
    });

    group.bench_function("read_page_1024", |b| {
        let query = EventQuery {
            page: Page::first(1024),
            ..EventQuery::default()
        };
        b.iter(|| black_box(store.events(&query).unwrap()));
    });
    group.finish();
    eprintln!(
        "store holds {} events in {} MiB",
        store.count_events().unwrap(),
        std::fs::metadata(store.path()).unwrap().len() >> 20
    );
}

criterion_group!(benches, write_batch);
criterion_main!(benches);
