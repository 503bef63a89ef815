//! Isolation forest (Liu, Ting and Zhou, 2008): random axis-parallel splits
//! isolate outliers in fewer steps. Seeded and reproducible.
//!
//! Score: `s(x) = 2^(-E[h(x)] / c(psi))`, where `h` is the path length with
//! the `c(n)` adjustment for the `n` training samples left in the leaf, and
//! `psi` the subsample size. Scores near 1 are anomalous, well below 0.5 normal.
//! Each tree's leaf value is `depth + c(n)`, so the forest's raw output, the
//! mean leaf value, is exactly `E[h(x)]`, which `TreeSHAP` explains additively.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::fast_treeshap::{DEFAULT_MAX_TABLE_ENTRIES, FastTreeShap};
use crate::matrix::Matrix;
use crate::rng::Rng;
use crate::tree::{LEAF, PackedForest, Tree};

/// Euler-Mascheroni constant, for the harmonic-number approximation.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Average path length of an unsuccessful search in a binary search tree of
/// `n` points: `c(n) = 2 H(n-1) - 2(n-1)/n`, with `c(1) = 0` and `c(2) = 1`.
pub fn average_path_length(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else if n <= 2.0 {
        1.0
    } else {
        2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
    }
}

/// Isolation forest hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsolationForestParams {
    /// Number of trees.
    pub n_trees: usize,
    /// Subsample size `psi` drawn without replacement for each tree.
    pub max_samples: usize,
    /// Depth limit; `None` means `ceil(log2(psi))` as in the paper.
    pub max_depth: Option<usize>,
    /// Seed of the random stream; the same seed gives the same forest.
    pub seed: u64,
}

impl Default for IsolationForestParams {
    fn default() -> Self {
        Self {
            n_trees: 100,
            max_samples: 256,
            max_depth: None,
            seed: 0,
        }
    }
}

/// A trained isolation forest.
#[derive(Debug, Clone)]
pub struct IsolationForest {
    trees: Vec<Tree>,
    packed: PackedForest,
    n_features: usize,
    sample_size: usize,
    /// `c(psi)`, the normaliser of the score.
    c_psi: f64,
}

impl IsolationForest {
    /// Fits a forest on `x` (normal traffic, ideally).
    pub fn fit(x: &Matrix, params: &IsolationForestParams) -> Result<Self> {
        if params.n_trees == 0 || params.n_trees > 10_000 {
            return Err(MlError::InvalidHyperparameter {
                name: "n_trees",
                value: params.n_trees.to_string(),
                reason: "must be in 1..=10000",
            });
        }
        if params.max_samples < 2 {
            return Err(MlError::InvalidHyperparameter {
                name: "max_samples",
                value: params.max_samples.to_string(),
                reason: "must be at least 2",
            });
        }
        if x.rows() == 0 {
            return Err(MlError::EmptyTrainingSet {
                what: "isolation forest",
            });
        }
        if let Some(index) = x.first_non_finite() {
            return Err(MlError::NonFinite {
                what: "training matrix",
                index,
            });
        }
        let constant = (0..x.cols()).all(|j| {
            let first = x.get(0, j);
            (1..x.rows()).all(|i| x.get(i, j).total_cmp(&first).is_eq())
        });
        if constant {
            return Err(MlError::ConstantFeatures { features: x.cols() });
        }
        let psi = params.max_samples.min(x.rows());
        let max_depth = params.max_depth.unwrap_or_else(|| ceil_log2(psi)).min(64);
        let mut rng = Rng::new(params.seed);
        let trees: Vec<Tree> = (0..params.n_trees)
            .map(|_| {
                let sample = rng.sample_indices(x.rows(), psi);
                grow(x, sample, max_depth, &mut rng)
            })
            .collect();
        Self::from_trees(trees, x.cols(), psi)
    }

    /// Rebuilds a forest from validated trees (e.g. read from a model file).
    pub fn from_trees(trees: Vec<Tree>, n_features: usize, sample_size: usize) -> Result<Self> {
        let packed = PackedForest::new(&trees)?;
        Ok(Self {
            trees,
            packed,
            n_features,
            sample_size,
            c_psi: average_path_length(sample_size as f64),
        })
    }

    /// The trees; each leaf value is `depth + c(n_leaf)`.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The subsample size `psi` the trees were grown on.
    pub fn sample_size(&self) -> usize {
        self.sample_size
    }

    /// `E[h(x)]`, the mean adjusted path length over the trees (the raw output).
    #[inline]
    pub fn path_length(&self, x: &[f64]) -> f64 {
        self.packed.sum(x) / self.trees.len().max(1) as f64
    }

    /// The anomaly score `2^(-E[h(x)] / c(psi))` in `(0, 1]`.
    #[inline]
    pub fn score(&self, x: &[f64]) -> f64 {
        self.score_from_path_length(self.path_length(x))
    }

    /// Converts a mean path length to the anomaly score.
    pub fn score_from_path_length(&self, path_length: f64) -> f64 {
        if self.c_psi > 0.0 {
            (-path_length / self.c_psi).exp2()
        } else {
            1.0
        }
    }

    /// Scores every row of `x`.
    pub fn score_batch(&self, x: &Matrix) -> Vec<f64> {
        let n = self.trees.len().max(1) as f64;
        let mut out = self.packed.sum_batch(x);
        for v in &mut out {
            *v = self.score_from_path_length(*v / n);
        }
        out
    }

    /// A `TreeSHAP` explainer of `E[h(x)]` (the base value is the mean path length
    /// over the training covers; negative contributions make a row more anomalous).
    pub fn explainer(&self) -> Result<FastTreeShap> {
        FastTreeShap::new(
            &self.trees,
            1.0 / self.trees.len().max(1) as f64,
            self.n_features,
            DEFAULT_MAX_TABLE_ENTRIES,
        )
    }

    /// `E[h(x)]` with no feature known: the base value of the explanation.
    pub fn expected_path_length(&self) -> f64 {
        self.trees.iter().map(Tree::expected_value).sum::<f64>() / self.trees.len().max(1) as f64
    }
}

/// Grows one isolation tree on the rows in `sample`.
fn grow(x: &Matrix, sample: Vec<usize>, max_depth: usize, rng: &mut Rng) -> Tree {
    let mut tree = Tree {
        children_left: Vec::new(),
        children_right: Vec::new(),
        missing_left: Vec::new(),
        features: Vec::new(),
        thresholds: Vec::new(),
        values: Vec::new(),
        cover: Vec::new(),
    };
    push_node(&mut tree, sample.len());
    // Depth-first with an explicit stack; children always get larger indices.
    let mut stack = vec![(0usize, sample, 0usize)];
    let mut candidates = Vec::with_capacity(x.cols());
    while let Some((node, rows, depth)) = stack.pop() {
        let n = rows.len();
        let leaf_value = depth as f64 + average_path_length(n as f64);
        if depth >= max_depth || n <= 1 {
            set_value(&mut tree, node, leaf_value);
            continue;
        }
        // Only features that vary in this node can split it.
        candidates.clear();
        for j in 0..x.cols() {
            let (lo, hi) = min_max(x, &rows, j);
            if lo < hi {
                candidates.push((j, lo, hi));
            }
        }
        let Some(&(feature, lo, hi)) = candidates.get(rng.below(candidates.len())) else {
            set_value(&mut tree, node, leaf_value);
            continue;
        };
        let mut threshold = lo + rng.next_f64() * (hi - lo);
        if threshold >= hi {
            // Rounding can land on `hi`, which would leave the right side empty.
            threshold = lo;
        }
        let (left, right): (Vec<usize>, Vec<usize>) = rows
            .into_iter()
            .partition(|&i| x.get(i, feature) <= threshold);
        let l = tree.children_left.len();
        push_node(&mut tree, left.len());
        push_node(&mut tree, right.len());
        set_split(&mut tree, node, feature, threshold, l);
        stack.push((l + 1, right, depth + 1));
        stack.push((l, left, depth + 1));
    }
    tree.fill_internal_values();
    tree
}

/// `ceil(log2(n))` for `n >= 1`, in integers.
fn ceil_log2(n: usize) -> usize {
    (usize::BITS - n.saturating_sub(1).leading_zeros()) as usize
}

fn min_max(x: &Matrix, rows: &[usize], j: usize) -> (f64, f64) {
    rows.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
            let v = x.get(i, j);
            (lo.min(v), hi.max(v))
        })
}

fn push_node(tree: &mut Tree, cover: usize) {
    tree.children_left.push(LEAF);
    tree.children_right.push(LEAF);
    tree.missing_left.push(true);
    tree.features.push(0);
    tree.thresholds.push(0.0);
    tree.values.push(0.0);
    tree.cover.push(cover as f64);
}

fn set_value(tree: &mut Tree, node: usize, value: f64) {
    if let Some(v) = tree.values.get_mut(node) {
        *v = value;
    }
}

fn set_split(tree: &mut Tree, node: usize, feature: usize, threshold: f64, left: usize) {
    let (l, r) = (
        i32::try_from(left).unwrap_or(LEAF),
        i32::try_from(left + 1).unwrap_or(LEAF),
    );
    if let Some(c) = tree.children_left.get_mut(node) {
        *c = l;
    }
    if let Some(c) = tree.children_right.get_mut(node) {
        *c = r;
    }
    if let Some(f) = tree.features.get_mut(node) {
        *f = u32::try_from(feature).unwrap_or(0);
    }
    if let Some(t) = tree.thresholds.get_mut(node) {
        *t = threshold;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::TreeLimits;
    use crate::treeshap::tree_shap;

    fn blob(seed: u64, n: usize) -> Matrix {
        let mut rng = Rng::new(seed);
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| vec![rng.next_f64(), rng.next_f64(), rng.next_f64()])
            .collect();
        Matrix::from_rows(&rows).unwrap()
    }

    #[test]
    fn outliers_score_higher_and_seed_reproduces() {
        let x = blob(1, 1000);
        let p = IsolationForestParams {
            seed: 9,
            ..Default::default()
        };
        let f = IsolationForest::fit(&x, &p).unwrap();
        let inlier = f.score(&[0.5, 0.5, 0.5]);
        let outlier = f.score(&[5.0, -3.0, 0.5]);
        assert!(outlier > 0.6, "{outlier}");
        assert!(inlier < 0.5, "{inlier}");
        let g = IsolationForest::fit(&x, &p).unwrap();
        assert_eq!(f.trees(), g.trees());
        for t in f.trees() {
            t.validate(3, TreeLimits::default()).unwrap();
            assert!(t.depth() <= 8);
        }
    }

    #[test]
    fn c_matches_the_paper() {
        assert!(average_path_length(1.0).abs() < 1e-15);
        assert!((average_path_length(2.0) - 1.0).abs() < 1e-15);
        // 2 (ln 255 + gamma) - 2 * 255 / 256
        assert!((average_path_length(256.0) - 10.244_770_920_116_851).abs() < 1e-9);
    }

    #[test]
    fn shap_is_additive_on_path_length() {
        let x = blob(2, 300);
        let f = IsolationForest::fit(
            &x,
            &IsolationForestParams {
                n_trees: 20,
                ..Default::default()
            },
        )
        .unwrap();
        let e = f.explainer().unwrap();
        for row in [[0.1, 0.9, 0.3], [4.0, 0.5, -1.0]] {
            let phi = e.explain(&row);
            let total = f.expected_path_length() + phi.iter().sum::<f64>();
            assert!((total - f.path_length(&row)).abs() < 1e-9);
            let mut std = vec![0.0; 3];
            for t in f.trees() {
                tree_shap(t, &row, 1.0 / 20.0, &mut std);
            }
            for (a, b) in phi.iter().zip(&std) {
                assert!((a - b).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn degenerate_training_sets_are_errors() {
        let empty = Matrix::new(vec![], 0, 3).unwrap();
        assert!(matches!(
            IsolationForest::fit(&empty, &IsolationForestParams::default()),
            Err(MlError::EmptyTrainingSet { .. })
        ));
        let constant = Matrix::from_rows(&[[1.0, 2.0], [1.0, 2.0]]).unwrap();
        assert!(matches!(
            IsolationForest::fit(&constant, &IsolationForestParams::default()),
            Err(MlError::ConstantFeatures { .. })
        ));
        let nan = Matrix::from_rows(&[[1.0, f64::NAN], [1.0, 2.0]]).unwrap();
        assert!(IsolationForest::fit(&nan, &IsolationForestParams::default()).is_err());
    }
}
