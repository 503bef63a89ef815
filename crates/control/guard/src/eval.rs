//! Evaluation: ROC-AUC, recall at a fixed false-positive rate, and per-source error rates.
//!
//! Two operating points are reported, because they answer different questions:
//! - "oracle" recall at 1% FPR reads the threshold off the test negatives themselves, the
//!   way published detector cards (Prompt Guard) state recall at a fixed FPR;
//! - "shipped" rates use the threshold calibrated on the calibration split, which is what a
//!   deployment actually gets on data it has never seen.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dataset::{Category, Example};
use crate::guard::Guard;
use crate::train::{macro_weights, threshold_at_fpr, threshold_at_weighted_fpr};

/// Metrics for one positive class against all test negatives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Positive examples.
    pub positives: usize,
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Recall at 1% FPR, threshold read off the test negatives (pooled).
    pub tpr_at_1pct_fpr: f64,
    /// Recall at 1% FPR macro-averaged over benign categories (prompts, documents, prose),
    /// threshold read off the test negatives.
    pub tpr_at_1pct_macro_fpr: f64,
    /// Recall at 0.1% FPR, threshold read off the test negatives.
    pub tpr_at_01pct_fpr: f64,
    /// Recall at the shipped (calibrated) threshold.
    pub tpr_at_shipped_threshold: f64,
}

/// The full evaluation of a guard on held-out examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Benign test examples.
    pub negatives: usize,
    /// Direct injections against all negatives.
    pub direct: Detection,
    /// Planted (BIPIA-style) injections against all negatives.
    pub indirect: Detection,
    /// All injections against all negatives.
    pub all: Detection,
    /// False-positive rate at the shipped threshold, over all negatives.
    pub fpr_at_shipped_threshold: f64,
    /// False-positive rate at the shipped threshold, macro-averaged over benign categories.
    pub macro_fpr_at_shipped_threshold: f64,
    /// False-positive rate at the shipped threshold, per benign category.
    pub fpr_by_category: BTreeMap<String, (usize, f64)>,
    /// False-positive rate at the shipped threshold, per benign source.
    pub fpr_by_source: BTreeMap<String, (usize, f64)>,
    /// Recall at the shipped threshold, per injection source.
    pub tpr_by_source: BTreeMap<String, (usize, f64)>,
    /// False-positive rate on threat-report prose (TRAM) at the shipped threshold.
    pub fpr_security_prose: f64,
}

/// Scores of the examples: the raw logit, or +inf when a decisive signal fired.
pub fn scores(guard: &Guard, examples: &[Example]) -> Vec<f32> {
    examples
        .iter()
        .map(|e| {
            let (z, decisive) = guard.raw(&e.text);
            if decisive { f32::INFINITY } else { z }
        })
        .collect()
}

/// Evaluates `guard` on `test` (see the module docs).
pub fn evaluate(guard: &Guard, test: &[Example]) -> EvalReport {
    evaluate_scores(test, &scores(guard, test), guard.threshold())
}

/// Evaluation from precomputed scores (logits) and a shipped threshold.
pub fn evaluate_scores(test: &[Example], scores: &[f32], threshold: f32) -> EvalReport {
    let pick = |f: &dyn Fn(&Example) -> bool| -> Vec<f32> {
        test.iter()
            .zip(scores)
            .filter(|(e, _)| f(e))
            .map(|(_, &s)| s)
            .collect()
    };
    let neg = pick(&|e| !e.is_injection());
    let neg_categories: Vec<Category> = test
        .iter()
        .filter(|e| !e.is_injection())
        .map(|e| e.category)
        .collect();
    let weighted: Vec<(f32, f64)> = neg
        .iter()
        .copied()
        .zip(macro_weights(&neg_categories))
        .collect();
    let macro_threshold = threshold_at_weighted_fpr(&weighted, 0.01);
    let direct = pick(&|e| e.category == Category::DirectInjection);
    let indirect = pick(&|e| e.category == Category::IndirectInjection);
    let all = pick(&Example::is_injection);
    let detection = |pos: &[f32]| Detection {
        positives: pos.len(),
        roc_auc: roc_auc(pos, &neg),
        tpr_at_1pct_fpr: rate_at_or_above(pos, threshold_at_fpr(&neg, 0.01)),
        tpr_at_1pct_macro_fpr: rate_at_or_above(pos, macro_threshold),
        tpr_at_01pct_fpr: rate_at_or_above(pos, threshold_at_fpr(&neg, 0.001)),
        tpr_at_shipped_threshold: rate_at_or_above(pos, threshold),
    };
    let mut by_source: BTreeMap<(bool, &str), Vec<f32>> = BTreeMap::new();
    for (e, &s) in test.iter().zip(scores) {
        by_source
            .entry((e.is_injection(), e.source))
            .or_default()
            .push(s);
    }
    let mut fpr_by_source = BTreeMap::new();
    let mut tpr_by_source = BTreeMap::new();
    for ((injection, source), s) in &by_source {
        let entry = (s.len(), rate_at_or_above(s, threshold));
        if *injection {
            tpr_by_source.insert((*source).to_owned(), entry);
        } else {
            fpr_by_source.insert((*source).to_owned(), entry);
        }
    }
    let prose = pick(&|e| e.category == Category::SecurityProse);
    let mut fpr_by_category = BTreeMap::new();
    for c in [
        Category::BenignPrompt,
        Category::BenignContext,
        Category::SecurityProse,
    ] {
        let s = pick(&|e| e.category == c);
        if !s.is_empty() {
            fpr_by_category.insert(
                category_name(c).to_owned(),
                (s.len(), rate_at_or_above(&s, threshold)),
            );
        }
    }
    let macro_fpr = if fpr_by_category.is_empty() {
        0.0
    } else {
        fpr_by_category.values().map(|v| v.1).sum::<f64>() / fpr_by_category.len() as f64
    };
    EvalReport {
        negatives: neg.len(),
        direct: detection(&direct),
        indirect: detection(&indirect),
        all: detection(&all),
        fpr_at_shipped_threshold: rate_at_or_above(&neg, threshold),
        macro_fpr_at_shipped_threshold: macro_fpr,
        fpr_by_category,
        fpr_by_source,
        tpr_by_source,
        fpr_security_prose: rate_at_or_above(&prose, threshold),
    }
}

fn category_name(c: Category) -> &'static str {
    match c {
        Category::DirectInjection => "direct-injection",
        Category::IndirectInjection => "indirect-injection",
        Category::BenignPrompt => "benign-prompt",
        Category::BenignContext => "benign-context",
        Category::SecurityProse => "security-prose",
    }
}

/// Fraction of `scores` at or above `threshold` (0 for an empty slice).
pub fn rate_at_or_above(scores: &[f32], threshold: f32) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().filter(|&&s| s >= threshold).count() as f64 / scores.len() as f64
}

/// Area under the ROC curve (Mann-Whitney U, ties counted as one half).
pub fn roc_auc(pos: &[f32], neg: &[f32]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of positive ranks, with average ranks for ties.
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all.get(j + 1).map(|x| x.0) == all.get(i).map(|x| x.0) {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let positives = all
            .get(i..=j)
            .map_or(0, |s| s.iter().filter(|x| x.1).count());
        rank_sum += avg_rank * positives as f64;
        i = j + 1;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slow reference: count ordered pairs.
    #[expect(clippy::float_cmp, reason = "exact ties are what the reference counts")]
    fn auc_pairs(pos: &[f32], neg: &[f32]) -> f64 {
        let mut s = 0f64;
        for p in pos {
            for n in neg {
                s += if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                };
            }
        }
        s / (pos.len() * neg.len()) as f64
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "exact value")]
    fn auc_matches_the_pairwise_reference() {
        let pos = [0.9, 0.8, 0.8, 0.3, f32::INFINITY];
        let neg = [0.1, 0.8, 0.5, 0.2, 0.3, 0.3];
        assert!((roc_auc(&pos, &neg) - auc_pairs(&pos, &neg)).abs() < 1e-12);
        assert_eq!(roc_auc(&[1.0], &[0.0]), 1.0);
        assert!(roc_auc(&[], &[0.0]).is_nan());
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "exact fractions")]
    fn rates_count_at_or_above() {
        assert_eq!(rate_at_or_above(&[0.1, 0.5, 0.9], 0.5), 2.0 / 3.0);
        assert_eq!(rate_at_or_above(&[], 0.5), 0.0);
    }
}
