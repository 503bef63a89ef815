//! Parse throughput of the readers on real samples.

use criterion::{Criterion, criterion_group, criterion_main};

fn readers(_c: &mut Criterion) {}

criterion_group!(benches, readers);
criterion_main!(benches);
