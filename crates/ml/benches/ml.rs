//! Criterion benches for the hot paths: isolation-forest scoring, boosted-tree
//! prediction and `TreeSHAP` explanations, on synthetic data of realistic shape
//! (40 features, 100 forest trees of 256 samples, 200 boosted trees of depth 6).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark set-up on synthetic data built in place; a failure should stop the bench"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_ml::forest::{IsolationForest, IsolationForestParams};
use rampart_ml::gbdt::{Gbdt, GbdtParams};
use rampart_ml::matrix::Matrix;
use rampart_ml::rng::Rng;

const FEATURES: usize = 40;

fn data(rows: usize, seed: u64) -> (Matrix, Vec<bool>) {
    let mut rng = Rng::new(seed);
    let mut cells = Vec::with_capacity(rows * FEATURES);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..rows {
        let start = cells.len();
        for _ in 0..FEATURES {
            cells.push(rng.next_f64());
        }
        let signal = cells[start] + cells[start + 1] * cells[start + 2] - cells[start + 3];
        labels.push(signal + 0.3 * rng.next_f64() > 0.6);
    }
    (Matrix::new(cells, rows, FEATURES).unwrap(), labels)
}

fn benches(c: &mut Criterion) {
    let (train, labels) = data(5000, 1);
    let (test, _) = data(1000, 2);
    let forest = IsolationForest::fit(&train, &IsolationForestParams::default()).unwrap();
    let gbdt = Gbdt::fit(&train, &labels, &GbdtParams::default()).unwrap();
    let row = test.row(0).to_vec();

    c.bench_function("forest_score_one_event", |b| {
        b.iter(|| forest.score(black_box(&row)));
    });
    c.bench_function("forest_score_1000_rows", |b| {
        b.iter(|| forest.score_batch(black_box(&test)));
    });
    c.bench_function("gbdt_predict_one_event", |b| {
        b.iter(|| gbdt.probability(black_box(&row)));
    });
    c.bench_function("gbdt_predict_1000_rows", |b| {
        b.iter(|| gbdt.margin_batch(black_box(&test)));
    });

    let gbdt_shap = gbdt.explainer().unwrap();
    let forest_shap = forest.explainer().unwrap();
    let mut phi = vec![0.0; FEATURES];
    let mut scratch = Vec::new();
    c.bench_function("treeshap_gbdt_one_row", |b| {
        b.iter(|| {
            phi.fill(0.0);
            gbdt_shap.explain_into(black_box(&row), &mut phi, &mut scratch);
        });
    });
    c.bench_function("treeshap_forest_one_row", |b| {
        b.iter(|| {
            phi.fill(0.0);
            forest_shap.explain_into(black_box(&row), &mut phi, &mut scratch);
        });
    });
}

criterion_group!(ml, benches);
criterion_main!(ml);
