//! Correlation throughput: a realistic synthetic stream through the correlator, and risk
//! ledger reads.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark harness: failures should stop the run"
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_correlate::{CorrelateConfig, Correlator};

#[path = "common/synthetic.rs"]
mod synthetic;

fn correlate(c: &mut Criterion) {
    let techniques = synthetic::techniques();
    let alerts: Vec<_> = synthetic::AlertStream::new(7, 2600, techniques)
        .take(50_000)
        .collect();
    let mut group = c.benchmark_group("correlate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(alerts.len() as u64));
    group.bench_function("observe_50k_alerts", |b| {
        b.iter(|| {
            let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
            let mut incidents = 0;
            for alert in &alerts {
                incidents += correlator.observe(alert.clone()).len();
            }
            incidents + correlator.finish().len()
        });
    });
    let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
    let mut reported = Vec::new();
    for alert in &alerts {
        reported.extend(correlator.observe(alert.clone()));
    }
    reported.extend(correlator.finish());
    let biggest = reported
        .iter()
        .max_by_key(|i| i.incident.alert_ids.len())
        .unwrap()
        .incident
        .clone();
    group.throughput(Throughput::Elements(1));
    group.bench_function("explain_largest_incident", |b| {
        b.iter(|| correlator.explain(&biggest).contributions.len());
    });
    group.finish();
}

criterion_group!(benches, correlate);
criterion_main!(benches);
