//! Training and evaluation over labelled rows: the seeded held-back split, the choice of
//! training rows per model kind, and the evaluation recorded in the model file.

use rampart_ml::metrics::Evaluation;
use rampart_ml::model::{AnomalyParams, Model, ScorerParams, stratified_split};
use rampart_ml::model_file::ModelKind;
use rampart_ml::schema::{FeatureSchema, SchemaOptions};
use serde::Serialize;

use crate::error::{Result, ScoreError};
use crate::rows::LabelledRows;

/// Which rows an anomaly model is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FitOn {
    /// Rows labelled benign when labels exist (the detector learns normal traffic only);
    /// every row when the data carries no labels.
    #[default]
    Normal,
    /// Every training row, labelled or not.
    All,
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Anomaly detector or threat scorer.
    pub kind: ModelKind,
    /// The model's name (written into the file).
    pub name: String,
    /// Digest of the training inputs, recorded in the model file.
    pub training_data_digest: String,
    /// Rows fitted by an anomaly model.
    pub fit_on: FitOn,
    /// Share of labelled rows held back (stratified, seeded) for the recorded evaluation.
    pub held_out: f64,
    /// Seed of the split and of the learners.
    pub seed: u64,
    /// How the feature schema is fitted.
    pub schema: SchemaOptions,
    /// Anomaly model hyperparameters.
    pub anomaly: AnomalyParams,
    /// Scorer hyperparameters.
    pub scorer: ScorerParams,
}

impl TrainOptions {
    /// The defaults for `kind`: 100 trees of 256 samples for the forest, 200 trees of depth
    /// 6 for the boosted trees, `log1p` on non-negative counts, 20% held back, seed 0.
    pub fn new(kind: ModelKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
            training_data_digest: String::new(),
            fit_on: FitOn::Normal,
            held_out: 0.2,
            seed: 0,
            schema: SchemaOptions {
                log1p_all_nonnegative: true,
                ..SchemaOptions::default()
            },
            anomaly: AnomalyParams::default(),
            scorer: ScorerParams::default(),
        }
    }
}

/// A trained model with the figures of its training.
#[derive(Debug)]
pub struct Trained {
    /// The model, with the held-back evaluation recorded in its file when there was one.
    pub model: Model,
    /// Rows the model was fitted on.
    pub rows_fitted: usize,
    /// Rows held back for evaluation.
    pub rows_held_out: usize,
    /// Rows left out because their label is unknown (scorer) or not benign (anomaly).
    pub rows_unused: usize,
    /// The held-back evaluation; `None` when the data has no labels of both classes.
    pub evaluation: Option<Evaluation>,
}

/// Trains a model of `options.kind` on `rows`.
///
/// Labelled rows are split (stratified, seeded) into fitted and held-back rows. A scorer
/// fits the labelled fitted rows; an anomaly model fits the benign ones (or all of them with
/// [`FitOn::All`], or every row when nothing is labelled). The held-back rows are scored and
/// the evaluation is written into the model file.
pub fn train(rows: &LabelledRows, options: &TrainOptions) -> Result<Trained> {
    let known = rows.known();
    let known_labels = rows.labels_of(&known);
    let has_both = known_labels.iter().any(|&l| l) && known_labels.iter().any(|&l| !l);
    let (fit_pos, test_pos) = if has_both {
        stratified_split(&known_labels, options.held_out, options.seed)
    } else {
        ((0..known.len()).collect(), Vec::new())
    };
    let test: Vec<usize> = test_pos
        .iter()
        .filter_map(|&p| known.get(p).copied())
        .collect();
    let fit_known: Vec<usize> = fit_pos
        .iter()
        .filter_map(|&p| known.get(p).copied())
        .collect();

    let fit: Vec<usize> = match options.kind {
        ModelKind::Scorer => {
            if !has_both {
                return Err(ScoreError::NoRows {
                    reason: format!(
                        "a scorer needs rows labelled benign and malicious; found {} labelled \
                         rows of one class only (or none) among {}",
                        known.len(),
                        rows.len()
                    ),
                });
            }
            fit_known
        }
        ModelKind::Anomaly => match options.fit_on {
            FitOn::Normal if !known.is_empty() => fit_known
                .into_iter()
                .filter(|&i| rows.labels.get(i).copied().flatten() == Some(false))
                .collect(),
            // Unlabelled data: everything is presumed normal, as the caller was told.
            FitOn::Normal => (0..rows.len()).collect(),
            FitOn::All => {
                let held: std::collections::HashSet<usize> = test.iter().copied().collect();
                (0..rows.len()).filter(|i| !held.contains(i)).collect()
            }
        },
    };
    if fit.is_empty() {
        return Err(ScoreError::NoRows {
            reason: "no training rows: the anomaly model fits benign rows and none is labelled \
                     benign; pass `--fit-on all` to fit every row"
                .to_owned(),
        });
    }
    let fit_table = rows.table.select_rows(&fit);
    let schema = FeatureSchema::fit(&fit_table, &options.schema)?;
    let mut model = match options.kind {
        ModelKind::Scorer => {
            let mut params = options.scorer.clone();
            params.seed = options.seed;
            Model::train_scorer(
                &options.name,
                &fit_table,
                &rows.labels_of(&fit),
                schema,
                &params,
                &options.training_data_digest,
            )?
        }
        ModelKind::Anomaly => {
            let mut params = options.anomaly.clone();
            params.forest.seed = options.seed;
            Model::train_anomaly(
                &options.name,
                &fit_table,
                schema,
                &params,
                &options.training_data_digest,
            )?
        }
    };
    let evaluation = if test.is_empty() {
        None
    } else {
        let evaluation = model.evaluate(&rows.table.select_rows(&test), &rows.labels_of(&test))?;
        model.set_metrics(evaluation.clone());
        Some(evaluation)
    };
    Ok(Trained {
        model,
        rows_fitted: fit.len(),
        rows_held_out: test.len(),
        rows_unused: rows.len() - fit.len() - test.len(),
        evaluation,
    })
}

/// Evaluates `model` on the labelled rows of `rows` (unknown labels left out).
pub fn evaluate(model: &Model, rows: &LabelledRows) -> Result<Evaluation> {
    let known = rows.known();
    if known.is_empty() {
        return Err(ScoreError::NoRows {
            reason: "no labelled rows to evaluate on".to_owned(),
        });
    }
    Ok(model.evaluate(&rows.table.select_rows(&known), &rows.labels_of(&known))?)
}
