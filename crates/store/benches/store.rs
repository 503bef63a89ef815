//! Write and read throughput of the `SQLite` store on realistic Suricata alerts.
//!
//! `cargo bench -p rampart-store --bench store`. Each write iteration stores a fresh batch of
//! 1,024 new events into a store already holding at least `PREFILL` events, so index
//! maintenance is measured at a realistic size rather than on an empty file.
//!
//! Two measurements: `store/*` is wall-clock time, which on a shared machine includes time
//! spent waiting for a CPU; `store_cpu/*` (Linux) is the time the writing thread actually ran,
//! from `/proc/thread-self/schedstat`, which is what the store costs and stays comparable
//! between a busy and an idle machine.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark that cannot set up has nothing to measure"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::{Ingested, RunRecord};
use rampart_store::{EventQuery, Page, SqliteStore, Store};

const BATCH: u64 = 1024;
const PREFILL: u64 = 200 * BATCH;
const SOURCE: &str = "/var/log/suricata/eve.json";

fn store_benches<M: Measurement + 'static>(c: &mut Criterion<M>, group_name: &str) {
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
            Ingested::Event(event) => event.raw.len(),
            _ => 0,
        })
        .sum();
    eprintln!(
        "mean raw event size: {} bytes",
        raw_bytes / usize::try_from(BATCH).unwrap()
    );

    let mut group = c.benchmark_group(group_name);
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

fn wall_clock(c: &mut Criterion) {
    store_benches(c, "store");
}

/// Nanoseconds the calling thread has run on a CPU.
fn thread_cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Measures the benchmarking thread's CPU time instead of wall-clock time.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_nanos().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Prints CPU nanoseconds as milliseconds and throughput per CPU second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for value in values {
            *value /= 1e6;
        }
        "ms (cpu)"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match *throughput {
            Throughput::Elements(n)
            | Throughput::ElementsAndBytes { elements: n, .. }
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n) => n,
        } as f64;
        for value in values {
            *value = per_iteration * 1e9 / *value / 1e3;
        }
        "K/cpu-s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
    if thread_cpu_nanos() == 0 {
        eprintln!("no /proc/thread-self/schedstat: skipping the CPU-time benchmarks");
        return;
    }
    store_benches(c, "store_cpu");
}

criterion_group!(wall, wall_clock);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu_time
}
criterion_main!(wall, cpu);
