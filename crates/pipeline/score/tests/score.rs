//! The scoring stage on real NSL-KDD rows: training per kind, verified loading, alerts with
//! additive explanations, out-of-contract rows, and degenerate training sets.

mod support;

use rampart_core::{AlertSource, FeatureValue};
use rampart_ml::model_file::ModelKind;
use rampart_score::{FitOn, LabelledRows, ScoreError, TrainOptions, train};

#[test]
fn rows_keep_labels_out_of_the_features() {
    let events = support::nsl_kdd_events();
    let rows = LabelledRows::from_events(&events, None).unwrap();
    assert_eq!(rows.layout, "nsl-kdd");
    assert_eq!(rows.len(), 200);
    assert!(
        rows.table
            .names()
            .iter()
            .all(|n| n != "label" && n != "difficulty")
    );
    let malicious = rows.labels.iter().filter(|l| **l == Some(true)).count();
    let benign = rows.labels.iter().filter(|l| **l == Some(false)).count();
    assert!(malicious > 20 && benign > 20, "{malicious} / {benign}");
}

#[test]
fn a_layout_filter_skips_other_events_with_a_reason() {
    let events = support::nsl_kdd_events();
    let err = LabelledRows::from_events(&events, Some("cic-ids2017")).unwrap_err();
    assert!(err.to_string().contains("cic-ids2017"), "{err}");
}

#[test]
fn a_scorer_learns_and_records_its_held_back_evaluation() {
    let events = support::nsl_kdd_events();
    let rows = LabelledRows::from_events(&events, None).unwrap();
    let mut options = TrainOptions::new(ModelKind::Scorer, "nsl");
    options.scorer.gbdt.n_trees = 30;
    options.scorer.gbdt.min_samples_leaf = 5;
    let trained = train(&rows, &options).unwrap();
    assert_eq!(trained.rows_fitted + trained.rows_held_out, 200);
    let evaluation = trained.evaluation.unwrap();
    assert!(evaluation.roc_auc > 0.9, "{evaluation:?}");
    assert_eq!(
        trained.model.file().metrics.as_ref().unwrap().rows,
        evaluation.rows
    );
}

#[test]
fn an_anomaly_model_fits_benign_rows_only_unless_told() {
    let events = support::nsl_kdd_events();
    let rows = LabelledRows::from_events(&events, None).unwrap();
    let benign = rows.labels.iter().filter(|l| **l == Some(false)).count();
    let options = TrainOptions::new(ModelKind::Anomaly, "nsl");
    let trained = train(&rows, &options).unwrap();
    assert!(
        trained.rows_fitted < benign,
        "{} of {benign}",
        trained.rows_fitted
    );
    let all = TrainOptions {
        fit_on: FitOn::All,
        ..options
    };
    let trained_all = train(&rows, &all).unwrap();
    assert_eq!(trained_all.rows_fitted + trained_all.rows_held_out, 200);
    assert!(trained_all.evaluation.unwrap().roc_auc > 0.5);
}

#[test]
fn degenerate_training_sets_get_clear_errors() {
    let events = support::nsl_kdd_events();
    let benign_only: Vec<_> = events
        .iter()
        .filter(|e| e.ground_truth.as_ref().and_then(|g| g.malicious) == Some(false))
        .cloned()
        .collect();
    let rows = LabelledRows::from_events(&benign_only, None).unwrap();
    let err = train(&rows, &TrainOptions::new(ModelKind::Scorer, "x")).unwrap_err();
    assert!(matches!(err, ScoreError::NoRows { .. }), "{err}");
    assert!(err.to_string().contains("benign and malicious"), "{err}");

    let malicious_only: Vec<_> = events
        .iter()
        .filter(|e| e.ground_truth.as_ref().and_then(|g| g.malicious) == Some(true))
        .cloned()
        .collect();
    let rows = LabelledRows::from_events(&malicious_only, None).unwrap();
    let err = train(&rows, &TrainOptions::new(ModelKind::Anomaly, "x")).unwrap_err();
    assert!(err.to_string().contains("--fit-on all"), "{err}");

    let err = LabelledRows::from_events(&[], None).unwrap_err();
    assert!(
        err.to_string().contains("no event carries flow features"),
        "{err}"
    );
}

#[test]
fn verified_models_raise_alerts_whose_explanations_add_up() {
    let events = support::nsl_kdd_events();
    for kind in [ModelKind::Scorer, ModelKind::Anomaly] {
        let fixture = support::signed_model(&events, kind);
        let model = &fixture.model;
        assert!(model.version().starts_with("sha256:"));
        let mut alerts = 0;
        for event in &events {
            let Some(alert) = model.alert_for(event).unwrap() else {
                continue;
            };
            alerts += 1;
            let expected = match kind {
                ModelKind::Scorer => AlertSource::Scorer,
                ModelKind::Anomaly => AlertSource::Anomaly,
            };
            assert_eq!(alert.source, expected);
            assert_eq!(alert.event_ids, vec![event.id]);
            let why = alert.explanation.as_ref().unwrap();
            assert_eq!(why.model_version, model.version());
            assert!(why.contributions.len() <= rampart_score::model::ALERT_CONTRIBUTIONS);
            // The full explanation adds up exactly; the alert keeps its largest terms.
            let full = model
                .score_record(event.features.as_ref().unwrap(), true)
                .unwrap()
                .scored
                .explanation
                .unwrap();
            assert!(
                full.additivity_error() < 1e-9,
                "{}",
                full.additivity_error()
            );
            assert!((full.output - why.raw_output).abs() < 1e-12);
            // Re-scoring the same event gives the same alert id.
            assert_eq!(model.alert_for(event).unwrap().unwrap().id, alert.id);
        }
        assert!(alerts > 0, "{kind:?} raised no alert on 200 rows");
        // Every load was recorded.
        assert!(fixture.audit.verify().unwrap().entries >= 1);
    }
}

#[test]
fn out_of_contract_rows_are_flagged_with_a_reason_and_never_panic() {
    let events = support::nsl_kdd_events();
    let fixture = support::signed_model(&events, ModelKind::Scorer);
    let mut record = events[0].features.clone().unwrap();
    for (name, value) in &mut record.values {
        match (name.as_str(), value) {
            ("duration", v) => *v = FeatureValue::Number(f64::NAN),
            ("src_bytes", v) => *v = FeatureValue::Number(f64::INFINITY),
            ("protocol_type", v) => *v = FeatureValue::Category("sctp-never-seen".into()),
            ("service", v) => *v = FeatureValue::Number(3.0),
            _ => {}
        }
    }
    record.values.retain(|(n, _)| n != "flag");
    let result = fixture.model.score_record(&record, true).unwrap();
    let reasons: Vec<String> = result
        .scored
        .issues
        .iter()
        .map(|i| format!("{}:{:?}", i.column, i.kind))
        .collect();
    for column in ["duration", "src_bytes", "protocol_type", "service", "flag"] {
        assert!(
            reasons.iter().any(|r| r.starts_with(column)),
            "{column} not flagged in {reasons:?}"
        );
    }
    // A record without the model's columns is not this model's business.
    assert!(!fixture.model.applies_to(&record));
}
