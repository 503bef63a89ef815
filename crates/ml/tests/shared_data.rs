//! End to end on real data (NSL-KDD from the shared data folder): build a schema
//! from the labelled table, train both model kinds, round-trip the model file,
//! score rows through the contract and evaluate. Skips loudly without the data.

#![cfg(test)]

use std::path::PathBuf;

use rampart_ml::calibration::CalibrationMethod;
use rampart_ml::forest::IsolationForestParams;
use rampart_ml::gbdt::GbdtParams;
use rampart_ml::model::{AnomalyParams, Model, ScorerParams, stratified_split};
use rampart_ml::model_file::{ModelKind, ModelLimits};
use rampart_ml::schema::{FeatureSchema, SchemaOptions};
use rampart_ml::table::{Table, Value};

fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    dir.join("nsl-kdd").is_dir().then_some(dir)
}

fn nsl(dir: &std::path::Path) -> (Table, Vec<bool>) {
    let nsl = dir.join("nsl-kdd");
    let fields = std::fs::read_to_string(nsl.join("field_names.csv")).unwrap();
    let mut header: Vec<String> = fields
        .lines()
        .filter_map(|l| l.split(',').next())
        .map(str::to_owned)
        .collect();
    header.extend(["label".to_owned(), "difficulty".to_owned()]);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(nsl.join("KDDTrain+_20Percent.txt"))
        .unwrap();
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::from_text(
        &names,
        &rows,
        &["protocol_type", "service", "flag", "label"],
    )
    .unwrap();
    table.remove("difficulty").unwrap();
    let labels = table.binary_labels("label", &["normal"], &[]).unwrap();
    table.remove("label").unwrap();
    (table, labels.into_iter().map(|l| l.unwrap()).collect())
}

#[test]
fn nsl_kdd_end_to_end() {
    let Some(dir) = shared_data() else {
        eprintln!("SKIPPED nsl_kdd_end_to_end: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let (table, labels) = nsl(&dir);
    let (train, test) = stratified_split(&labels, 0.3, 1);
    let options = SchemaOptions {
        log1p_all_nonnegative: true,
        ..Default::default()
    };
    let schema = FeatureSchema::fit(&table.select_rows(&train), &options).unwrap();
    let ytr: Vec<bool> = train.iter().map(|&i| labels[i]).collect();
    let yte: Vec<bool> = test.iter().map(|&i| labels[i]).collect();
    let test_table = table.select_rows(&test);

    let normal: Vec<usize> = train.iter().copied().filter(|&i| !labels[i]).collect();
    let params = AnomalyParams {
        forest: IsolationForestParams {
            n_trees: 50,
            ..Default::default()
        },
        ..Default::default()
    };
    let anomaly = Model::train_anomaly(
        "nsl",
        &table.select_rows(&normal),
        schema.clone(),
        &params,
        "test",
    )
    .unwrap();
    let eval = anomaly.evaluate(&test_table, &yte).unwrap();
    assert!(eval.roc_auc > 0.9, "forest auc {}", eval.roc_auc);

    let params = ScorerParams {
        gbdt: GbdtParams {
            n_trees: 30,
            max_depth: 4,
            ..Default::default()
        },
        calibration: CalibrationMethod::Platt,
        ..Default::default()
    };
    let scorer = Model::train_scorer(
        "nsl",
        &table.select_rows(&train),
        &ytr,
        schema,
        &params,
        "test",
    )
    .unwrap();
    let eval = scorer.evaluate(&test_table, &yte).unwrap();
    assert!(eval.roc_auc > 0.99, "gbdt auc {}", eval.roc_auc);
    assert!(eval.expected_calibration_error.unwrap() < 0.05);

    let loaded = Model::from_bytes(&scorer.to_bytes().unwrap(), &ModelLimits::default()).unwrap();
    assert_eq!(loaded.kind(), ModelKind::Scorer);
    let row = test_table.row(0);
    let a = scorer.score_row(&row, true).unwrap();
    let b = loaded.score_row(&row, true).unwrap();
    assert_eq!(a, b);
    let why = a.explanation.unwrap();
    assert!(why.additivity_error() < 1e-9);
    assert!(!why.top(5).is_empty());

    // A row that breaks the contract is flagged, not silently scored.
    let mut broken: Vec<Value<'_>> = row.clone();
    broken[1] = Value::Number(3.0); // protocol_type must be a category
    let flagged = loaded.score_row(&broken, false).unwrap();
    assert!(flagged.score.is_none());
    assert!(flagged.issues.iter().any(|i| i.blocks_scoring));
}
