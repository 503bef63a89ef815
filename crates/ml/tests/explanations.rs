//! Additivity of every explanation on the raw output, on random data:
//! `base + sum(contributions) == output` for the boosted trees (log-odds
//! margin), the isolation forest (mean path length) and logistic regression.

#![cfg(test)]

use proptest::prelude::*;
use rampart_ml::forest::{IsolationForest, IsolationForestParams};
use rampart_ml::gbdt::{Gbdt, GbdtParams};
use rampart_ml::logistic::LogisticRegression;
use rampart_ml::matrix::Matrix;
use rampart_ml::rng::Rng;
use rampart_ml::treeshap::tree_shap;

fn dataset(seed: u64, rows: usize, cols: usize) -> (Matrix, Vec<bool>) {
    let mut rng = Rng::new(seed);
    let mut cells = Vec::new();
    let mut labels = Vec::new();
    for r in 0..rows {
        let row: Vec<f64> = (0..cols)
            .map(|_| {
                if rng.next_f64() < 0.05 {
                    f64::NAN
                } else {
                    (rng.next_f64() * 10.0).round() / 10.0
                }
            })
            .collect();
        let signal = row.iter().take(2).filter(|v| !v.is_nan()).sum::<f64>();
        labels.push(r % 2 == 0 || signal > 1.2);
        cells.extend(row);
    }
    (Matrix::new(cells, rows, cols).unwrap(), labels)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn gbdt_explanations_add_up_and_fast_equals_standard(seed in 0u64..1000, cols in 1usize..6) {
        let (x, y) = dataset(seed, 300, cols);
        let params = GbdtParams { n_trees: 15, max_depth: 4, min_samples_leaf: 5, ..Default::default() };
        let model = Gbdt::fit(&x, &y, &params).unwrap();
        let explainer = model.explainer().unwrap();
        for row in x.iter_rows().take(20) {
            let phi = explainer.explain(row);
            let total = model.expected_margin() + phi.iter().sum::<f64>();
            prop_assert!((total - model.margin(row)).abs() < 1e-9);
            let mut standard = vec![0.0; cols];
            for t in model.trees() {
                tree_shap(t, row, 1.0, &mut standard);
            }
            for (a, b) in phi.iter().zip(&standard) {
                prop_assert!((a - b).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn forest_explanations_add_up(seed in 0u64..1000, cols in 1usize..6) {
        let (x, _) = dataset(seed, 300, cols);
        let x = Matrix::new(x.as_slice().iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect(), x.rows(), cols).unwrap();
        let params = IsolationForestParams { n_trees: 10, max_samples: 64, max_depth: None, seed };
        let Ok(forest) = IsolationForest::fit(&x, &params) else {
            return Ok(()); // all-constant draws are a documented error
        };
        let explainer = forest.explainer().unwrap();
        for row in x.iter_rows().take(20) {
            let phi = explainer.explain(row);
            let total = forest.expected_path_length() + phi.iter().sum::<f64>();
            prop_assert!((total - forest.path_length(row)).abs() < 1e-9);
        }
    }

    #[test]
    fn logistic_contributions_add_up(seed in 0u64..1000, cols in 1usize..6) {
        let (x, y) = dataset(seed, 200, cols);
        let x = Matrix::new(x.as_slice().iter().map(|v| if v.is_nan() { 0.5 } else { *v }).collect(), x.rows(), cols).unwrap();
        let model = LogisticRegression::fit(&x, &y, 0.01, 200).unwrap();
        for row in x.iter_rows().take(20) {
            let total = model.expected_margin() + model.contributions(row).iter().sum::<f64>();
            prop_assert!((total - model.margin(row)).abs() < 1e-9);
        }
    }
}
