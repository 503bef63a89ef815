//! Scoring one event end to end (feature lookup, contract check, score) and explaining a
//! flagged one, with models trained on the bundled NSL-KDD rows.

#![expect(
    clippy::expect_used,
    reason = "a benchmark over fixed bundled data; a failure should stop it"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_ml::model_file::ModelKind;

#[path = "../tests/support/mod.rs"]
mod support;

fn bench(c: &mut Criterion) {
    let events = support::nsl_kdd_events();
    for kind in [ModelKind::Anomaly, ModelKind::Scorer] {
        let fixture = support::signed_model(&events, kind);
        let model = &fixture.model;
        let record = events
            .iter()
            .find_map(|e| e.features.as_ref())
            .expect("flow features");
        let label = format!("{kind:?}").to_lowercase();
        c.bench_function(&format!("{label}/score_event"), |b| {
            b.iter(|| {
                model
                    .score_record(black_box(record), false)
                    .expect("scores")
            });
        });
        c.bench_function(&format!("{label}/score_and_explain_event"), |b| {
            b.iter(|| model.score_record(black_box(record), true).expect("scores"));
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
