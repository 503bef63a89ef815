//! Gradient-boosted decision trees for binary classification (logloss),
//! histogram-based: features are binned once, each node's split search scans
//! per-bin gradient sums, and a child's histogram is its parent's minus its
//! sibling's. Trees grow best-first under a depth limit and an optional leaf cap.
//!
//! The raw output is the log-odds margin `base + sum of tree leaves`, which is
//! what `TreeSHAP` explains additively; probabilities are `sigmoid(margin)`
//! before calibration.

use serde::{Deserialize, Serialize};

use crate::binning::{BinnedMatrix, MISSING_BIN};
use crate::error::{MlError, Result};
use crate::fast_treeshap::{DEFAULT_MAX_TABLE_ENTRIES, FastTreeShap};
use crate::matrix::Matrix;
use crate::tree::{LEAF, PackedForest, Tree};

/// Hyperparameters of the boosted trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GbdtParams {
    /// Boosting rounds (one tree each).
    pub n_trees: usize,
    /// Greatest depth of a tree (edges from root to leaf).
    pub max_depth: usize,
    /// Optional cap on leaves per tree; best-first growth stops there.
    pub max_leaves: Option<usize>,
    /// Shrinkage applied to every leaf.
    pub learning_rate: f64,
    /// Least hessian sum in a child.
    pub min_child_weight: f64,
    /// Least training rows in a child.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values.
    pub l2: f64,
    /// Bins per feature (at most 255; one more holds missing values).
    pub max_bins: usize,
}

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            n_trees: 200,
            max_depth: 6,
            max_leaves: None,
            learning_rate: 0.1,
            min_child_weight: 1e-3,
            min_samples_leaf: 20,
            l2: 1.0,
            max_bins: 255,
        }
    }
}

impl GbdtParams {
    fn check(&self) -> Result<()> {
        let bad = |name, value: String, reason| {
            Err(MlError::InvalidHyperparameter {
                name,
                value,
                reason,
            })
        };
        if self.n_trees == 0 || self.n_trees > 100_000 {
            return bad("n_trees", self.n_trees.to_string(), "must be in 1..=100000");
        }
        if self.max_depth == 0 || self.max_depth > 16 {
            return bad("max_depth", self.max_depth.to_string(), "must be in 1..=16");
        }
        if self.max_leaves.is_some_and(|l| l < 2) {
            return bad(
                "max_leaves",
                format!("{:?}", self.max_leaves),
                "must be at least 2",
            );
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "must be in (0, 1]",
            );
        }
        if !(self.min_child_weight >= 0.0 && self.min_child_weight.is_finite()) {
            return bad(
                "min_child_weight",
                self.min_child_weight.to_string(),
                "must be >= 0",
            );
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return bad("l2", self.l2.to_string(), "must be >= 0");
        }
        if !(2..=255).contains(&self.max_bins) {
            return bad("max_bins", self.max_bins.to_string(), "must be in 2..=255");
        }
        Ok(())
    }
}

/// A trained boosted ensemble.
#[derive(Debug, Clone)]
pub struct Gbdt {
    trees: Vec<Tree>,
    base_score: f64,
    n_features: usize,
    packed: PackedForest,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

impl Bin {
    fn add(&mut self, o: &Bin) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }
    fn sub(&self, o: &Bin) -> Bin {
        Bin {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n.saturating_sub(o.n),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    missing_left: bool,
}

struct Open {
    node: usize,
    rows: Vec<u32>,
    hist: Vec<Bin>,
    sum: Bin,
    depth: usize,
    split: Option<Split>,
}

const HIST_WIDTH: usize = 256;

impl Gbdt {
    /// Trains on `x` with labels `y` (`true` = positive).
    pub fn fit(x: &Matrix, y: &[bool], params: &GbdtParams) -> Result<Self> {
        params.check()?;
        if y.len() != x.rows() {
            return Err(MlError::LengthMismatch {
                what: "labels",
                expected: x.rows(),
                got: y.len(),
            });
        }
        if x.rows() == 0 {
            return Err(MlError::EmptyTrainingSet { what: "gbdt" });
        }
        if u32::try_from(x.rows()).is_err() {
            return Err(MlError::LimitExceeded {
                what: "training rows",
                got: x.rows(),
                limit: u32::MAX as usize,
            });
        }
        let positives = y.iter().filter(|&&v| v).count();
        if positives == 0 {
            return Err(MlError::SingleClass { class: 0 });
        }
        if positives == y.len() {
            return Err(MlError::SingleClass { class: 1 });
        }
        if let Some(index) = x.as_slice().iter().position(|v| v.is_infinite()) {
            return Err(MlError::NonFinite {
                what: "training matrix (infinite)",
                index,
            });
        }
        let binned = BinnedMatrix::fit(x, params.max_bins);
        if binned.features.iter().all(|f| f.n_bins() < 2) {
            return Err(MlError::ConstantFeatures { features: x.cols() });
        }
        let rate = positives as f64 / y.len() as f64;
        let base_score = (rate / (1.0 - rate)).ln();
        let mut margin = vec![base_score; y.len()];
        let mut gh = vec![(0.0, 0.0); y.len()];
        let mut trees = Vec::with_capacity(params.n_trees);
        for _ in 0..params.n_trees {
            for ((slot, &m), &label) in gh.iter_mut().zip(&margin).zip(y) {
                let p = sigmoid(m);
                *slot = (
                    p - if label { 1.0 } else { 0.0 },
                    (p * (1.0 - p)).max(1e-16),
                );
            }
            let tree = grow(&binned, &gh, params, &mut margin);
            trees.push(tree);
        }
        Self::from_trees(trees, base_score, x.cols())
    }

    /// Rebuilds an ensemble from validated trees (e.g. read from a model file).
    pub fn from_trees(trees: Vec<Tree>, base_score: f64, n_features: usize) -> Result<Self> {
        let packed = PackedForest::new(&trees)?;
        Ok(Self {
            trees,
            base_score,
            n_features,
            packed,
        })
    }

    /// The trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// The initial log-odds every prediction starts from.
    pub fn base_score(&self) -> f64 {
        self.base_score
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The log-odds margin for row `x` (NaN follows each split's missing direction).
    #[inline]
    pub fn margin(&self, x: &[f64]) -> f64 {
        self.base_score + self.packed.sum(x)
    }

    /// The uncalibrated probability `sigmoid(margin)`.
    #[inline]
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(self.margin(x))
    }

    /// Margins of every row.
    pub fn margin_batch(&self, x: &Matrix) -> Vec<f64> {
        let mut out = self.packed.sum_batch(x);
        for v in &mut out {
            *v += self.base_score;
        }
        out
    }

    /// Uncalibrated probabilities of every row.
    pub fn probability_batch(&self, x: &Matrix) -> Vec<f64> {
        let mut out = self.margin_batch(x);
        for v in &mut out {
            *v = sigmoid(*v);
        }
        out
    }

    /// A `TreeSHAP` explainer of the margin.
    pub fn explainer(&self) -> Result<FastTreeShap> {
        FastTreeShap::new(&self.trees, 1.0, self.n_features, DEFAULT_MAX_TABLE_ENTRIES)
    }

    /// The margin with no feature known: the base value of the explanation.
    pub fn expected_margin(&self) -> f64 {
        self.base_score + self.trees.iter().map(Tree::expected_value).sum::<f64>()
    }
}

/// The logistic function, stable for large `|m|`.
pub fn sigmoid(m: f64) -> f64 {
    if m >= 0.0 {
        1.0 / (1.0 + (-m).exp())
    } else {
        let e = m.exp();
        e / (1.0 + e)
    }
}

fn grow(binned: &BinnedMatrix, gh: &[(f64, f64)], params: &GbdtParams, margin: &mut [f64]) -> Tree {
    let n_features = binned.features.len();
    let all: Vec<u32> = (0..binned.rows)
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    let hist = histogram(binned, gh, &all);
    let sum = total(&hist, n_features);
    let mut tree = Tree {
        children_left: Vec::new(),
        children_right: Vec::new(),
        missing_left: Vec::new(),
        features: Vec::new(),
        thresholds: Vec::new(),
        values: Vec::new(),
        cover: Vec::new(),
    };
    push_node(&mut tree, f64::from(sum.n));
    let split = best_split(binned, &hist, sum, params, 0);
    let mut open = vec![Open {
        node: 0,
        rows: all,
        hist,
        sum,
        depth: 0,
        split,
    }];
    let mut leaves = 1;
    let max_leaves = params.max_leaves.unwrap_or(usize::MAX);
    while leaves < max_leaves {
        let best = open
            .iter()
            .enumerate()
            .filter_map(|(k, o)| o.split.map(|s| (k, s.gain)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((k, _)) = best else { break };
        let parent = open.swap_remove(k);
        let Some(split) = parent.split else { break };
        let column = binned.column(split.feature);
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = parent.rows.iter().partition(|&&i| {
            let b = column.get(i as usize).copied().unwrap_or(MISSING_BIN);
            if b == MISSING_BIN {
                split.missing_left
            } else {
                b <= split.bin
            }
        });
        let left_small = left_rows.len() <= right_rows.len();
        let small_hist = histogram(
            binned,
            gh,
            if left_small { &left_rows } else { &right_rows },
        );
        let mut large_hist = parent.hist;
        for (p, s) in large_hist.iter_mut().zip(&small_hist) {
            *p = p.sub(s);
        }
        let (left_hist, right_hist) = if left_small {
            (small_hist, large_hist)
        } else {
            (large_hist, small_hist)
        };
        let l = tree.len();
        let threshold = binned
            .features
            .get(split.feature)
            .and_then(|f| f.threshold(usize::from(split.bin)))
            .unwrap_or(f64::MAX);
        let (left_sum, right_sum) = (
            total(&left_hist, n_features),
            total(&right_hist, n_features),
        );
        push_node(&mut tree, f64::from(left_sum.n));
        push_node(&mut tree, f64::from(right_sum.n));
        set_split(&mut tree, parent.node, split, threshold, l);
        leaves += 1;
        for (node, rows, hist, sum) in [
            (l, left_rows, left_hist, left_sum),
            (l + 1, right_rows, right_hist, right_sum),
        ] {
            let depth = parent.depth + 1;
            let split = best_split(binned, &hist, sum, params, depth);
            open.push(Open {
                node,
                rows,
                hist: if split.is_some() { hist } else { Vec::new() },
                sum,
                depth,
                split,
            });
        }
    }
    finish_leaves(&mut tree, open, params, margin);
    tree.fill_internal_values();
    tree
}

/// Sets every remaining open node's leaf value and adds it to its rows' margins.
fn finish_leaves(tree: &mut Tree, open: Vec<Open>, params: &GbdtParams, margin: &mut [f64]) {
    for o in open {
        let value = -o.sum.g / (o.sum.h + params.l2) * params.learning_rate;
        if let Some(v) = tree.values.get_mut(o.node) {
            *v = value;
        }
        for &i in &o.rows {
            if let Some(m) = margin.get_mut(i as usize) {
                *m += value;
            }
        }
    }
}

/// Per-feature, per-bin gradient sums over `rows`.
fn histogram(binned: &BinnedMatrix, gh: &[(f64, f64)], rows: &[u32]) -> Vec<Bin> {
    let n_features = binned.features.len();
    let mut hist = vec![Bin::default(); n_features * HIST_WIDTH];
    for (f, chunk) in hist.chunks_exact_mut(HIST_WIDTH).enumerate() {
        let Ok(chunk) = <&mut [Bin; HIST_WIDTH]>::try_from(chunk) else {
            continue;
        };
        let column = binned.column(f);
        for &i in rows {
            let i = i as usize;
            let (Some(&b), Some(&(g, h))) = (column.get(i), gh.get(i)) else {
                continue;
            };
            if let Some(e) = chunk.get_mut(usize::from(b)) {
                e.g += g;
                e.h += h;
                e.n += 1;
            }
        }
    }
    hist
}

/// Totals of the node, read from feature 0's histogram (every row is in one bin of it).
fn total(hist: &[Bin], n_features: usize) -> Bin {
    let mut sum = Bin::default();
    if n_features > 0 {
        for b in hist.iter().take(HIST_WIDTH) {
            sum.add(b);
        }
    }
    sum
}

fn best_split(
    binned: &BinnedMatrix,
    hist: &[Bin],
    sum: Bin,
    params: &GbdtParams,
    depth: usize,
) -> Option<Split> {
    let msl = u32::try_from(params.min_samples_leaf.max(1)).unwrap_or(u32::MAX);
    if depth >= params.max_depth || sum.n < msl.saturating_mul(2) {
        return None;
    }
    let score = |b: &Bin| b.g * b.g / (b.h + params.l2);
    let parent_score = score(&sum);
    let ok = |b: &Bin| b.n >= msl && b.h >= params.min_child_weight;
    let mut best: Option<Split> = None;
    for (f, chunk) in hist.chunks_exact(HIST_WIDTH).enumerate() {
        let n_bins = binned
            .features
            .get(f)
            .map_or(0, crate::binning::FeatureBins::n_bins);
        let missing = chunk
            .get(usize::from(MISSING_BIN))
            .copied()
            .unwrap_or_default();
        let non_missing = sum.sub(&missing);
        let mut left = Bin::default();
        for (b, bin) in chunk.iter().enumerate().take(n_bins.saturating_sub(1)) {
            left.add(bin);
            let right = non_missing.sub(&left);
            let options: &[bool] = if missing.n > 0 {
                &[false, true]
            } else {
                &[false]
            };
            for &missing_left in options {
                let (l, r) = if missing_left {
                    let mut l = left;
                    l.add(&missing);
                    (l, right)
                } else {
                    let mut r = right;
                    r.add(&missing);
                    (left, r)
                };
                if !ok(&l) || !ok(&r) {
                    continue;
                }
                let gain = score(&l) + score(&r) - parent_score;
                if gain > 1e-12 && best.is_none_or(|s| gain > s.gain) {
                    best = Some(Split {
                        gain,
                        feature: f,
                        bin: u8::try_from(b).unwrap_or(0),
                        // With no missing values in training, NaN follows the bigger child.
                        missing_left: if missing.n > 0 {
                            missing_left
                        } else {
                            l.n >= r.n
                        },
                    });
                }
            }
        }
    }
    best
}

fn push_node(tree: &mut Tree, cover: f64) {
    tree.children_left.push(LEAF);
    tree.children_right.push(LEAF);
    tree.missing_left.push(true);
    tree.features.push(0);
    tree.thresholds.push(0.0);
    tree.values.push(0.0);
    tree.cover.push(cover);
}

fn set_split(tree: &mut Tree, node: usize, split: Split, threshold: f64, left: usize) {
    if let Some(c) = tree.children_left.get_mut(node) {
        *c = i32::try_from(left).unwrap_or(LEAF);
    }
    if let Some(c) = tree.children_right.get_mut(node) {
        *c = i32::try_from(left + 1).unwrap_or(LEAF);
    }
    if let Some(f) = tree.features.get_mut(node) {
        *f = u32::try_from(split.feature).unwrap_or(0);
    }
    if let Some(t) = tree.thresholds.get_mut(node) {
        *t = threshold;
    }
    if let Some(m) = tree.missing_left.get_mut(node) {
        *m = split.missing_left;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::roc_auc;
    use crate::rng::Rng;
    use crate::tree::TreeLimits;

    fn xor_data(n: usize, seed: u64) -> (Matrix, Vec<bool>) {
        let mut rng = Rng::new(seed);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let (a, b, noise) = (rng.next_f64(), rng.next_f64(), rng.next_f64());
            let missing = rng.next_f64() < 0.05;
            rows.push(vec![a, if missing { f64::NAN } else { b }, noise]);
            y.push((a > 0.5) != (b > 0.5));
        }
        (Matrix::from_rows(&rows).unwrap(), y)
    }

    #[test]
    fn learns_xor_and_is_additive() {
        let (x, y) = xor_data(2000, 1);
        let params = GbdtParams {
            n_trees: 50,
            ..Default::default()
        };
        let model = Gbdt::fit(&x, &y, &params).unwrap();
        let (xt, yt) = xor_data(1000, 2);
        let auc = roc_auc(&yt, &model.margin_batch(&xt)).unwrap();
        assert!(auc > 0.95, "{auc}");
        for t in model.trees() {
            t.validate(3, TreeLimits::default()).unwrap();
            assert!(t.depth() <= 6);
        }
        let e = model.explainer().unwrap();
        for i in 0..20 {
            let row = xt.row(i);
            let phi = e.explain(row);
            let total = model.expected_margin() + phi.iter().sum::<f64>();
            assert!((total - model.margin(row)).abs() < 1e-9);
        }
    }

    #[test]
    fn leaf_cap_is_respected() {
        let (x, y) = xor_data(500, 3);
        let params = GbdtParams {
            n_trees: 5,
            max_leaves: Some(4),
            ..Default::default()
        };
        let model = Gbdt::fit(&x, &y, &params).unwrap();
        for t in model.trees() {
            assert!((0..t.len()).filter(|&i| t.is_leaf(i)).count() <= 4);
        }
    }

    #[test]
    fn degenerate_sets_are_clear_errors() {
        let (x, y) = xor_data(100, 4);
        let p = GbdtParams::default();
        assert!(matches!(
            Gbdt::fit(&x, &[true; 100], &p),
            Err(MlError::SingleClass { class: 1 })
        ));
        let empty = Matrix::new(vec![], 0, 3).unwrap();
        assert!(matches!(
            Gbdt::fit(&empty, &[], &p),
            Err(MlError::EmptyTrainingSet { .. })
        ));
        let constant = Matrix::new(vec![1.0; 300], 100, 3).unwrap();
        assert!(matches!(
            Gbdt::fit(&constant, &y, &p),
            Err(MlError::ConstantFeatures { .. })
        ));
        assert!(Gbdt::fit(&x, &y[..10], &p).is_err());
        let bad = GbdtParams {
            learning_rate: 0.0,
            ..Default::default()
        };
        assert!(Gbdt::fit(&x, &y, &bad).is_err());
    }
}
