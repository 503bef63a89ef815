//! Trained models as the rest of Rampart uses them: train from a labelled
//! table, score a row through its input contract, explain it, evaluate, and
//! round-trip through the model file.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::calibration::{Calibration, CalibrationMethod};
use crate::error::{MlError, Result};
use crate::explanation::{ExplainedOutput, Explanation};
use crate::fast_treeshap::FastTreeShap;
use crate::forest::{IsolationForest, IsolationForestParams};
use crate::gbdt::{Gbdt, GbdtParams};
use crate::matrix::Matrix;
use crate::metrics::Evaluation;
use crate::model_file::{FORMAT, FORMAT_VERSION, ModelBody, ModelFile, ModelKind, ModelLimits};
use crate::rng::Rng;
use crate::schema::{ContractIssue, FeatureSchema};
use crate::table::{Table, Value};

/// Training options of an anomaly model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyParams {
    /// Forest hyperparameters.
    pub forest: IsolationForestParams,
    /// The flag threshold is this quantile of the training rows' scores.
    pub threshold_quantile: f64,
}

impl Default for AnomalyParams {
    fn default() -> Self {
        Self {
            forest: IsolationForestParams::default(),
            threshold_quantile: 0.99,
        }
    }
}

/// Training options of a threat scorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorerParams {
    /// Boosting hyperparameters.
    pub gbdt: GbdtParams,
    /// Calibration fitted on held-out rows.
    pub calibration: CalibrationMethod,
    /// Share of rows held out (stratified) to fit the calibration; 0 with `Sigmoid`.
    pub calibration_fraction: f64,
    /// Seed of the hold-out split.
    pub seed: u64,
    /// Probability at or above which a row is flagged.
    pub threshold: f64,
}

impl Default for ScorerParams {
    fn default() -> Self {
        Self {
            gbdt: GbdtParams::default(),
            calibration: CalibrationMethod::Isotonic,
            calibration_fraction: 0.2,
            seed: 0,
            threshold: 0.5,
        }
    }
}

#[derive(Debug, Clone)]
enum Runtime {
    Forest(IsolationForest),
    Gbdt(Gbdt, Calibration),
}

/// The result of scoring one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// The score, or `None` when the row is out of contract in a way that blocks scoring.
    pub score: Option<f64>,
    /// Whether the score reaches the model's threshold.
    pub flagged: bool,
    /// Every contract issue found in the row.
    pub issues: Vec<ContractIssue>,
    /// The explanation, when asked for and the row was scored.
    pub explanation: Option<Explanation>,
}

/// A trained model: its file (data) plus the runtime structures built from it.
#[derive(Debug)]
pub struct Model {
    file: ModelFile,
    runtime: Runtime,
    feature_columns: Vec<String>,
    explainer: OnceLock<FastTreeShap>,
}

impl Model {
    /// Trains an isolation forest on every row of `table` (normal traffic).
    pub fn train_anomaly(
        name: &str,
        table: &Table,
        schema: FeatureSchema,
        params: &AnomalyParams,
        training_data_digest: &str,
    ) -> Result<Self> {
        let (x, _) = schema.encode_table(table)?;
        let forest = IsolationForest::fit(&x, &params.forest)?;
        let mut scores = forest.score_batch(&x);
        scores.sort_by(f64::total_cmp);
        let threshold = quantile(&scores, params.threshold_quantile);
        let file = ModelFile {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            name: name.into(),
            kind: ModelKind::Anomaly,
            training_data_digest: training_data_digest.into(),
            feature_names: schema.feature_names(),
            schema,
            threshold,
            metrics: None,
            body: ModelBody::IsolationForest {
                params: params.forest.clone(),
                sample_size: forest.sample_size(),
                trees: forest.trees().to_vec(),
            },
        };
        Ok(Self::assemble(file, Runtime::Forest(forest)))
    }

    /// Trains boosted trees on `table` with `labels`, holding out a stratified
    /// share of rows to fit the probability calibration.
    pub fn train_scorer(
        name: &str,
        table: &Table,
        labels: &[bool],
        schema: FeatureSchema,
        params: &ScorerParams,
        training_data_digest: &str,
    ) -> Result<Self> {
        if labels.len() != table.rows() {
            return Err(MlError::LengthMismatch {
                what: "labels",
                expected: table.rows(),
                got: labels.len(),
            });
        }
        let (x, _) = schema.encode_table(table)?;
        let held_out = if params.calibration == CalibrationMethod::Sigmoid {
            0.0
        } else {
            params.calibration_fraction.clamp(0.0, 0.9)
        };
        let (fit_rows, cal_rows) = stratified_split(labels, held_out, params.seed);
        let pick = |rows: &[usize]| -> Vec<bool> {
            rows.iter()
                .filter_map(|&i| labels.get(i).copied())
                .collect()
        };
        let gbdt = Gbdt::fit(&x.select_rows(&fit_rows), &pick(&fit_rows), &params.gbdt)?;
        let calibration = if cal_rows.is_empty() {
            Calibration::Sigmoid
        } else {
            let margins = gbdt.margin_batch(&x.select_rows(&cal_rows));
            Calibration::fit(params.calibration, &margins, &pick(&cal_rows))?
        };
        let file = ModelFile {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            name: name.into(),
            kind: ModelKind::Scorer,
            training_data_digest: training_data_digest.into(),
            feature_names: schema.feature_names(),
            schema,
            threshold: params.threshold,
            metrics: None,
            body: ModelBody::Gbdt {
                params: params.gbdt.clone(),
                base_score: gbdt.base_score(),
                trees: gbdt.trees().to_vec(),
                calibration: calibration.clone(),
            },
        };
        Ok(Self::assemble(file, Runtime::Gbdt(gbdt, calibration)))
    }

    /// Reads a model file from untrusted bytes (see [`ModelFile::from_bytes`]).
    pub fn from_bytes(bytes: &[u8], limits: &ModelLimits) -> Result<Self> {
        Self::from_file(ModelFile::from_bytes(bytes, limits)?)
    }

    /// Builds the runtime of an already validated file.
    pub fn from_file(file: ModelFile) -> Result<Self> {
        let n = file.schema.n_features();
        let runtime = match &file.body {
            ModelBody::IsolationForest {
                sample_size, trees, ..
            } => Runtime::Forest(IsolationForest::from_trees(trees.clone(), n, *sample_size)?),
            ModelBody::Gbdt {
                base_score,
                trees,
                calibration,
                ..
            } => Runtime::Gbdt(
                Gbdt::from_trees(trees.clone(), *base_score, n)?,
                calibration.clone(),
            ),
        };
        Ok(Self::assemble(file, runtime))
    }

    fn assemble(file: ModelFile, runtime: Runtime) -> Self {
        let names: Vec<String> = file.schema.columns.iter().map(|c| c.name.clone()).collect();
        let feature_columns = file
            .schema
            .feature_columns()
            .iter()
            .map(|&i| names.get(i).cloned().unwrap_or_default())
            .collect();
        Self {
            file,
            runtime,
            feature_columns,
            explainer: OnceLock::new(),
        }
    }

    /// Serialises the model file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.file.to_bytes()
    }

    /// The model file (metadata, schema, parameters).
    pub fn file(&self) -> &ModelFile {
        &self.file
    }

    /// Anomaly detector or scorer.
    pub fn kind(&self) -> ModelKind {
        self.file.kind
    }

    /// The input contract.
    pub fn schema(&self) -> &FeatureSchema {
        &self.file.schema
    }

    /// Records a held-out evaluation in the model file.
    pub fn set_metrics(&mut self, metrics: Evaluation) {
        self.file.metrics = Some(metrics);
    }

    /// The raw output for encoded features: mean path length or log-odds margin.
    pub fn raw_output(&self, features: &[f64]) -> f64 {
        match &self.runtime {
            Runtime::Forest(f) => f.path_length(features),
            Runtime::Gbdt(g, _) => g.margin(features),
        }
    }

    /// The score for encoded features: anomaly score in `(0, 1]` or calibrated probability.
    pub fn score_features(&self, features: &[f64]) -> f64 {
        match &self.runtime {
            Runtime::Forest(f) => f.score(features),
            Runtime::Gbdt(g, c) => c.apply(g.margin(features)),
        }
    }

    /// Scores every row of an encoded matrix.
    pub fn score_matrix(&self, x: &Matrix) -> Vec<f64> {
        match &self.runtime {
            Runtime::Forest(f) => f.score_batch(x),
            Runtime::Gbdt(g, c) => g.margin_batch(x).into_iter().map(|m| c.apply(m)).collect(),
        }
    }

    fn explainer(&self) -> Result<&FastTreeShap> {
        if let Some(e) = self.explainer.get() {
            return Ok(e);
        }
        let built = match &self.runtime {
            Runtime::Forest(f) => f.explainer()?,
            Runtime::Gbdt(g, _) => g.explainer()?,
        };
        Ok(self.explainer.get_or_init(|| built))
    }

    /// Exact `TreeSHAP` explanation of the raw output for encoded features.
    pub fn explain_features(&self, features: &[f64]) -> Result<Explanation> {
        let n = self.file.schema.n_features();
        if features.len() != n {
            return Err(MlError::LengthMismatch {
                what: "features",
                expected: n,
                got: features.len(),
            });
        }
        let phi = self.explainer()?.explain(features);
        let (explained, base) = match &self.runtime {
            Runtime::Forest(f) => (ExplainedOutput::MeanPathLength, f.expected_path_length()),
            Runtime::Gbdt(g, _) => (ExplainedOutput::LogOddsMargin, g.expected_margin()),
        };
        Ok(Explanation::new(
            explained,
            base,
            self.raw_output(features),
            &self.file.feature_names,
            &self.feature_columns,
            features,
            &phi,
        ))
    }

    /// Checks `row` (cells in schema column order) against the contract, then
    /// scores and optionally explains it. Never panics on any input.
    pub fn score_row(&self, row: &[Value<'_>], explain: bool) -> Result<Scored> {
        let checked = self.file.schema.check(row);
        let Some(features) = checked.features else {
            return Ok(Scored {
                score: None,
                flagged: false,
                issues: checked.issues,
                explanation: None,
            });
        };
        let score = self.score_features(&features);
        let explanation = if explain {
            Some(self.explain_features(&features)?)
        } else {
            None
        };
        Ok(Scored {
            score: Some(score),
            flagged: score >= self.file.threshold,
            issues: checked.issues,
            explanation,
        })
    }

    /// Evaluates on a labelled table; rows whose contract issues block scoring are left out.
    pub fn evaluate(&self, table: &Table, labels: &[bool]) -> Result<Evaluation> {
        if labels.len() != table.rows() {
            return Err(MlError::LengthMismatch {
                what: "labels",
                expected: table.rows(),
                got: labels.len(),
            });
        }
        let (x, issues) = self.file.schema.encode_table(table)?;
        let mut scores = Vec::with_capacity(x.rows());
        let mut kept = Vec::with_capacity(x.rows());
        for ((row, row_issues), &label) in x.iter_rows().zip(&issues).zip(labels) {
            if row_issues.iter().any(|i| i.blocks_scoring) {
                continue;
            }
            scores.push(self.score_features(row));
            kept.push(label);
        }
        Evaluation::compute(
            &kept,
            &scores,
            self.file.threshold,
            self.kind() == ModelKind::Scorer,
        )
    }
}

/// The `q` quantile of sorted values (nearest rank, clamped).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.5;
    }
    let q = if q.is_finite() {
        q.clamp(0.0, 1.0)
    } else {
        1.0
    };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "q is in [0, 1] so the rank is within the slice"
    )]
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(rank).copied().unwrap_or(0.5)
}

/// Splits row indices into (fit, held out), stratified by label, seeded.
pub fn stratified_split(labels: &[bool], held_out: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let (mut fit, mut out) = (Vec::new(), Vec::new());
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..labels.len())
            .filter(|&i| labels.get(i) == Some(&class))
            .collect();
        rng.shuffle(&mut idx);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "held_out is in [0, 0.9] so the count is within the class size"
        )]
        let k = (idx.len() as f64 * held_out.clamp(0.0, 1.0)).round() as usize;
        out.extend_from_slice(idx.get(..k).unwrap_or(&[]));
        fit.extend_from_slice(idx.get(k..).unwrap_or(&[]));
    }
    fit.sort_unstable();
    out.sort_unstable();
    (fit, out)
}

/// Assigns each row to one of `k` folds, stratified by label, seeded
/// (the same assignment as the benchmark scripts use).
pub fn stratified_folds(labels: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut fold = vec![0; labels.len()];
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..labels.len())
            .filter(|&i| labels.get(i) == Some(&class))
            .collect();
        rng.shuffle(&mut idx);
        for (r, &i) in idx.iter().enumerate() {
            if let Some(f) = fold.get_mut(i) {
                *f = r % k.max(1);
            }
        }
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaOptions;

    fn table(rows: usize) -> (Table, Vec<bool>) {
        let cells: Vec<Vec<String>> = (0..rows)
            .map(|i| vec![(i % 37).to_string(), ["a", "b", "c"][i % 3].to_string()])
            .collect();
        let labels = (0..rows).map(|i| i % 37 > 30).collect();
        (
            Table::from_text(&["n", "cat"], &cells, &[]).unwrap(),
            labels,
        )
    }

    #[test]
    fn degenerate_training_sets_give_clear_errors() {
        let (t, labels) = table(200);
        let schema = FeatureSchema::fit(&t, &SchemaOptions::default()).unwrap();
        let one_class = vec![false; 200];
        let err = Model::train_scorer(
            "m",
            &t,
            &one_class,
            schema.clone(),
            &ScorerParams::default(),
            "",
        )
        .unwrap_err();
        assert!(err.to_string().contains("only class `0`"), "{err}");
        let empty = t.select_rows(&[]);
        assert!(matches!(
            FeatureSchema::fit(&empty, &SchemaOptions::default()),
            Err(MlError::EmptyTrainingSet { .. })
        ));
        assert!(matches!(
            Model::train_anomaly("m", &empty, schema.clone(), &AnomalyParams::default(), ""),
            Err(MlError::EmptyTrainingSet { .. })
        ));
        let constant: Vec<Vec<&str>> = vec![vec!["1", "a"]; 50];
        let ct = Table::from_text(&["n", "cat"], &constant, &[]).unwrap();
        let cs = FeatureSchema::fit(&ct, &SchemaOptions::default()).unwrap();
        let err = Model::train_anomaly("m", &ct, cs, &AnomalyParams::default(), "").unwrap_err();
        assert!(err.to_string().contains("constant"), "{err}");
        assert!(
            Model::train_scorer("m", &t, &labels[..10], schema, &ScorerParams::default(), "")
                .is_err()
        );
    }

    #[test]
    fn scorer_trains_calibrates_and_evaluates() {
        let (t, labels) = table(600);
        let schema = FeatureSchema::fit(&t, &SchemaOptions::default()).unwrap();
        let params = ScorerParams {
            gbdt: GbdtParams {
                n_trees: 10,
                min_samples_leaf: 5,
                ..Default::default()
            },
            ..Default::default()
        };
        let m = Model::train_scorer("m", &t, &labels, schema, &params, "sha256:x").unwrap();
        let e = m.evaluate(&t, &labels).unwrap();
        assert!(e.roc_auc > 0.99);
        assert!(e.expected_calibration_error.is_some());
        let s = m
            .score_row(&[Value::Number(35.0), Value::Text("a")], true)
            .unwrap();
        assert!(s.flagged);
        assert!(s.explanation.unwrap().additivity_error() < 1e-9);
    }

    #[test]
    fn splits_are_stratified_and_seeded() {
        let labels: Vec<bool> = (0..100).map(|i| i % 4 == 0).collect();
        let (fit, out) = stratified_split(&labels, 0.2, 3);
        assert_eq!(fit.len() + out.len(), 100);
        assert_eq!(out.iter().filter(|&&i| labels[i]).count(), 5);
        assert_eq!(stratified_split(&labels, 0.2, 3), (fit, out));
        let folds = stratified_folds(&labels, 5, 1);
        for k in 0..5 {
            assert_eq!(
                folds
                    .iter()
                    .zip(&labels)
                    .filter(|(f, l)| **f == k && **l)
                    .count(),
                5
            );
        }
    }
}
