//! Scan latency per KB (criterion).

use criterion::{Criterion, criterion_group, criterion_main};

fn scan(c: &mut Criterion) {
    let _ = c;
}

criterion_group!(benches, scan);
criterion_main!(benches);
