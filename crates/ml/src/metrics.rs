//! Evaluation metrics for binary scorers, defined exactly as scikit-learn
//! defines them so the figures in a model file can be checked against it.
//!
//! Labels are `bool` (`true` = positive, e.g. attack); higher scores mean
//! "more positive". Tied scores are grouped: a threshold never splits a tie.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

fn check(labels: &[bool], scores: &[f64]) -> Result<()> {
    if labels.len() != scores.len() {
        return Err(MlError::LengthMismatch {
            what: "scores",
            expected: labels.len(),
            got: scores.len(),
        });
    }
    if labels.is_empty() {
        return Err(MlError::EmptyTrainingSet { what: "metrics" });
    }
    if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
        return Err(MlError::NonFinite {
            what: "scores",
            index,
        });
    }
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return Err(MlError::SingleClass { class: 0 });
    }
    if positives == labels.len() {
        return Err(MlError::SingleClass { class: 1 });
    }
    Ok(())
}

/// Cumulative (true positives, false positives) after each group of tied
/// scores, walking from the highest score down.
fn tie_groups(labels: &[bool], scores: &[f64]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (scores.get(a), scores.get(b));
        sb.partial_cmp(&sa).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out = Vec::new();
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut prev: Option<f64> = None;
    for &i in &order {
        let s = scores.get(i).copied().unwrap_or(f64::NAN);
        if prev.is_some_and(|p| p.total_cmp(&s).is_ne()) {
            out.push((tp, fp));
        }
        if labels.get(i).copied().unwrap_or(false) {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        prev = Some(s);
    }
    out.push((tp, fp));
    out
}

/// Area under the ROC curve (trapezoidal over tie groups, as `sklearn.metrics.roc_auc_score`).
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> Result<f64> {
    check(labels, scores)?;
    let groups = tie_groups(labels, scores);
    let (p, n) = groups.last().copied().unwrap_or((1.0, 1.0));
    let (mut auc, mut prev_tpr, mut prev_fpr) = (0.0, 0.0, 0.0);
    for (tp, fp) in groups {
        let (tpr, fpr) = (tp / p, fp / n);
        auc += (fpr - prev_fpr) * (tpr + prev_tpr) / 2.0;
        prev_tpr = tpr;
        prev_fpr = fpr;
    }
    Ok(auc)
}

/// Average precision: the step-wise area under the precision-recall curve,
/// `sum_k (R_k - R_{k-1}) P_k`, as `sklearn.metrics.average_precision_score`.
pub fn average_precision(labels: &[bool], scores: &[f64]) -> Result<f64> {
    check(labels, scores)?;
    let groups = tie_groups(labels, scores);
    let p = groups.last().map_or(1.0, |g| g.0);
    let (mut ap, mut prev_recall) = (0.0, 0.0);
    for (tp, fp) in groups {
        let recall = tp / p;
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Ok(ap)
}

/// Counts of a thresholded classifier; a score `>= threshold` predicts positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Positives predicted positive.
    pub true_positives: u64,
    /// Negatives predicted positive.
    pub false_positives: u64,
    /// Negatives predicted negative.
    pub true_negatives: u64,
    /// Positives predicted negative.
    pub false_negatives: u64,
}

impl ConfusionMatrix {
    /// Counts for `score >= threshold` as the positive prediction.
    pub fn at_threshold(labels: &[bool], scores: &[f64], threshold: f64) -> Result<Self> {
        if labels.len() != scores.len() {
            return Err(MlError::LengthMismatch {
                what: "scores",
                expected: labels.len(),
                got: scores.len(),
            });
        }
        let mut m = Self {
            true_positives: 0,
            false_positives: 0,
            true_negatives: 0,
            false_negatives: 0,
        };
        for (&l, &s) in labels.iter().zip(scores) {
            match (l, s >= threshold) {
                (true, true) => m.true_positives += 1,
                (false, true) => m.false_positives += 1,
                (false, false) => m.true_negatives += 1,
                (true, false) => m.false_negatives += 1,
            }
        }
        Ok(m)
    }

    /// `tp / (tp + fp)`, 0 when nothing is predicted positive (sklearn's `zero_division=0`).
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// `tp / (tp + fn)`, 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Harmonic mean of precision and recall, 0 when both are 0.
    pub fn f1(&self) -> f64 {
        ratio(
            2 * self.true_positives,
            2 * self.true_positives + self.false_positives + self.false_negatives,
        )
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Expected calibration error with `bins` equal-width bins on `[0, 1]`:
/// `sum_b n_b / n * |mean(p in b) - mean(y in b)|`. A probability `p` falls in
/// bin `min(floor(p * bins), bins - 1)`.
pub fn expected_calibration_error(
    labels: &[bool],
    probabilities: &[f64],
    bins: usize,
) -> Result<f64> {
    if labels.len() != probabilities.len() {
        return Err(MlError::LengthMismatch {
            what: "probabilities",
            expected: labels.len(),
            got: probabilities.len(),
        });
    }
    if labels.is_empty() {
        return Err(MlError::EmptyTrainingSet { what: "metrics" });
    }
    if bins == 0 || bins > 10_000 {
        return Err(MlError::InvalidHyperparameter {
            name: "bins",
            value: bins.to_string(),
            reason: "must be in 1..=10000",
        });
    }
    if let Some(index) = probabilities
        .iter()
        .position(|p| !p.is_finite() || !(0.0..=1.0).contains(p))
    {
        return Err(MlError::NonFinite {
            what: "probabilities in [0, 1]",
            index,
        });
    }
    let mut sums = vec![(0.0_f64, 0.0_f64, 0_u64); bins];
    for (&l, &p) in labels.iter().zip(probabilities) {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "p is in [0, 1], so the product is a small non-negative integer"
        )]
        let b = ((p * bins as f64).floor() as usize).min(bins - 1);
        if let Some(slot) = sums.get_mut(b) {
            slot.0 += p;
            slot.1 += if l { 1.0 } else { 0.0 };
            slot.2 += 1;
        }
    }
    let n = labels.len() as f64;
    Ok(sums
        .iter()
        .filter(|s| s.2 > 0)
        .map(|&(p, y, c)| (p / c as f64 - y / c as f64).abs() * c as f64 / n)
        .sum())
}

/// The evaluation figures a model file carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// Rows evaluated.
    pub rows: u64,
    /// Positive rows among them.
    pub positives: u64,
    /// ROC-AUC.
    pub roc_auc: f64,
    /// Average precision (PR-AUC).
    pub average_precision: f64,
    /// Threshold used for the thresholded figures.
    pub threshold: f64,
    /// Counts at that threshold.
    pub confusion: ConfusionMatrix,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// F1 at the threshold.
    pub f1: f64,
    /// Expected calibration error (10 bins); absent for scores that are not probabilities.
    pub expected_calibration_error: Option<f64>,
}

impl Evaluation {
    /// All figures for `scores` against `labels`. `scores_are_probabilities`
    /// adds the calibration error.
    pub fn compute(
        labels: &[bool],
        scores: &[f64],
        threshold: f64,
        scores_are_probabilities: bool,
    ) -> Result<Self> {
        let confusion = ConfusionMatrix::at_threshold(labels, scores, threshold)?;
        Ok(Self {
            rows: labels.len() as u64,
            positives: labels.iter().filter(|&&l| l).count() as u64,
            roc_auc: roc_auc(labels, scores)?,
            average_precision: average_precision(labels, scores)?,
            threshold,
            precision: confusion.precision(),
            recall: confusion.recall(),
            f1: confusion.f1(),
            confusion,
            expected_calibration_error: if scores_are_probabilities {
                Some(expected_calibration_error(labels, scores, 10)?)
            } else {
                None
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_inverted_rankings() {
        let y = [false, false, true, true];
        assert!((roc_auc(&y, &[0.1, 0.2, 0.8, 0.9]).unwrap() - 1.0).abs() < 1e-12);
        assert!(roc_auc(&y, &[0.9, 0.8, 0.2, 0.1]).unwrap().abs() < 1e-12);
        assert!((average_precision(&y, &[0.1, 0.2, 0.8, 0.9]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn all_tied_scores_give_half_auc_and_base_rate_ap() {
        let y = [false, true, false, true, true];
        let s = [0.5; 5];
        assert!((roc_auc(&y, &s).unwrap() - 0.5).abs() < 1e-12);
        assert!((average_precision(&y, &s).unwrap() - 0.6).abs() < 1e-12);
    }

    #[test]
    fn known_sklearn_values() {
        // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) == 0.75
        // average_precision_score(...) == 0.8333333333333333
        let y = [false, false, true, true];
        let s = [0.1, 0.4, 0.35, 0.8];
        assert!((roc_auc(&y, &s).unwrap() - 0.75).abs() < 1e-12);
        assert!((average_precision(&y, &s).unwrap() - 0.833_333_333_333_333_3).abs() < 1e-12);
    }

    #[test]
    fn single_class_and_bad_input_are_errors() {
        assert!(matches!(
            roc_auc(&[true, true], &[0.1, 0.2]),
            Err(MlError::SingleClass { class: 1 })
        ));
        assert!(roc_auc(&[], &[]).is_err());
        assert!(roc_auc(&[true, false], &[f64::NAN, 0.2]).is_err());
        assert!(roc_auc(&[true, false], &[0.2]).is_err());
    }

    #[test]
    fn confusion_and_f1() {
        let y = [true, true, false, false, true];
        let s = [0.9, 0.4, 0.6, 0.1, 0.5];
        let m = ConfusionMatrix::at_threshold(&y, &s, 0.5).unwrap();
        assert_eq!(
            (
                m.true_positives,
                m.false_positives,
                m.true_negatives,
                m.false_negatives
            ),
            (2, 1, 1, 1)
        );
        assert!((m.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.f1() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn calibration_error_of_perfectly_calibrated_bins_is_zero() {
        let y = [true, false, true, false];
        let p = [0.5, 0.5, 0.5, 0.5];
        assert!(expected_calibration_error(&y, &p, 10).unwrap().abs() < 1e-12);
        let e = expected_calibration_error(&[true, false], &[1.0, 1.0], 10).unwrap();
        assert!((e - 0.5).abs() < 1e-12);
    }
}
