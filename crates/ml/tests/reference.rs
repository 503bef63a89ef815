//! Rampart against committed outputs of the reference tools: `shap.TreeExplainer`
//! on the same trees, and scikit-learn's metrics, calibrators and logistic
//! regression. The fixtures are written by `bench/ml/run.sh`; these tests need no Python.
#![cfg(test)]

use rampart_ml::calibration::{Calibration, CalibrationMethod};
use rampart_ml::explanation::Explanation;
use rampart_ml::logistic::LogisticRegression;
use rampart_ml::matrix::Matrix;
use rampart_ml::metrics::{
    ConfusionMatrix, average_precision, expected_calibration_error, roc_auc,
};
use rampart_ml::model::Model;
use rampart_ml::model_file::ModelLimits;
use rampart_ml::table::Value;
use serde_json::Value as Json;

fn fixture(name: &str) -> Json {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Json) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn bools(v: &Json) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect()
}

fn model(name: &str) -> Model {
    let path = format!(
        "{}/tests/fixtures/{name}.model.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Model::from_bytes(&std::fs::read(path).unwrap(), &ModelLimits::default()).unwrap()
}

fn phi_by_feature(model: &Model, e: &Explanation) -> Vec<f64> {
    let names = &model.file().feature_names;
    names
        .iter()
        .map(|n| {
            e.contributions
                .iter()
                .find(|c| &c.feature == n)
                .unwrap()
                .contribution
        })
        .collect()
}

fn check_against_shap(name: &str) {
    let model = model(name);
    let rows = fixture("nsl_rows.json");
    let shap = fixture(&format!("{name}.shap.json"));
    let expected_base = shap["expected_value"].as_f64().unwrap();
    let mut worst = 0.0_f64;
    for (i, (features, want)) in rows["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shap["values"].as_array().unwrap())
        .enumerate()
    {
        let x = floats(features);
        let e = model.explain_features(&x).unwrap();
        assert!(
            (e.base - expected_base).abs() < 1e-9,
            "base {} vs {expected_base}",
            e.base
        );
        assert!(e.additivity_error() < 1e-9, "row {i}");
        for (a, b) in phi_by_feature(&model, &e).iter().zip(floats(want)) {
            worst = worst.max((a - b).abs());
        }
        // The same row through the input contract gives the same explanation.
        let raw = rows["raw"][i].as_array().unwrap();
        let cells: Vec<Value<'_>> = raw
            .iter()
            .map(|c| match c {
                Json::Number(n) => Value::Number(n.as_f64().unwrap()),
                Json::String(s) => Value::Text(s),
                Json::Bool(b) => Value::Bool(*b),
                _ => Value::Missing,
            })
            .collect();
        let scored = model.score_row(&cells, true).unwrap();
        assert!(scored.issues.iter().all(|i| !i.blocks_scoring));
        let via_contract = scored.explanation.unwrap();
        assert!((via_contract.output - e.output).abs() < 1e-12);
    }
    assert!(worst < 1e-9, "{name}: max |rampart - shap| = {worst}");
}

#[test]
fn gbdt_treeshap_equals_shap() {
    check_against_shap("nsl_scorer");
}

#[test]
fn isolation_forest_treeshap_equals_shap() {
    check_against_shap("nsl_anomaly");
}

#[test]
fn metrics_equal_sklearn() {
    let f = fixture("sklearn_metrics.json");
    let y = bools(&f["labels"]);
    let scores = floats(&f["scores"]);
    let close = |got: f64, want: &Json| {
        assert!(
            (got - want.as_f64().unwrap()).abs() < 1e-12,
            "{got} vs {want}"
        );
    };
    close(roc_auc(&y, &scores).unwrap(), &f["roc_auc"]);
    close(
        average_precision(&y, &scores).unwrap(),
        &f["average_precision"],
    );
    let threshold = f["threshold"].as_f64().unwrap();
    let m = ConfusionMatrix::at_threshold(&y, &scores, threshold).unwrap();
    assert_eq!(m.true_positives, f["confusion"]["tp"].as_u64().unwrap());
    assert_eq!(m.false_positives, f["confusion"]["fp"].as_u64().unwrap());
    assert_eq!(m.true_negatives, f["confusion"]["tn"].as_u64().unwrap());
    assert_eq!(m.false_negatives, f["confusion"]["fn"].as_u64().unwrap());
    close(m.precision(), &f["precision"]);
    close(m.recall(), &f["recall"]);
    close(m.f1(), &f["f1"]);
    close(
        expected_calibration_error(&y, &scores, 10).unwrap(),
        &f["ece_10_bins"],
    );
}

#[test]
fn calibrators_equal_sklearn() {
    let f = fixture("sklearn_metrics.json");
    let y = bools(&f["labels"]);
    let s = floats(&f["scores"]);
    let iso = Calibration::fit(CalibrationMethod::Isotonic, &s, &y).unwrap();
    for (p, want) in floats(&f["isotonic"]["probe"])
        .iter()
        .zip(floats(&f["isotonic"]["predictions"]))
    {
        assert!(
            (iso.apply(*p) - want).abs() < 1e-12,
            "isotonic at {p}: {} vs {want}",
            iso.apply(*p)
        );
    }
    let margins = floats(&f["platt"]["margins"]);
    let Calibration::Platt { a, b } =
        Calibration::fit(CalibrationMethod::Platt, &margins, &y).unwrap()
    else {
        panic!("not platt")
    };
    // scikit-learn stops L-BFGS at gtol 1e-6; both reach the same convex optimum.
    assert!(
        (a - f["platt"]["a"].as_f64().unwrap()).abs() < 1e-4,
        "a {a}"
    );
    assert!(
        (b - f["platt"]["b"].as_f64().unwrap()).abs() < 1e-4,
        "b {b}"
    );
}

#[test]
fn logistic_regression_equals_sklearn() {
    let fixture = fixture("sklearn_metrics.json");
    let lr = &fixture["logistic"];
    let rows: Vec<Vec<f64>> = lr["x"].as_array().unwrap().iter().map(floats).collect();
    let x = Matrix::from_rows(&rows).unwrap();
    let y = bools(&lr["y"]);
    let model = LogisticRegression::fit(&x, &y, lr["l2"].as_f64().unwrap(), 1000).unwrap();
    for (got, want) in model.weights.iter().zip(floats(&lr["coef"])) {
        assert!(
            (got - want).abs() < 1e-5,
            "{:?} vs {}",
            model.weights,
            lr["coef"]
        );
    }
    assert!((model.intercept - lr["intercept"].as_f64().unwrap()).abs() < 1e-5);
}

#[test]
fn fixture_models_carry_their_metadata() {
    let m = model("nsl_scorer");
    let file = m.file();
    assert!(file.training_data_digest.starts_with("fixture:"));
    assert!(file.metrics.as_ref().unwrap().roc_auc > 0.95);
    assert_eq!(file.feature_names.len(), m.schema().n_features());
}
