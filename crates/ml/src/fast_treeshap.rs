//! Fast `TreeSHAP` (after Yang, 2021, "Fast `TreeSHAP`" v2): the same values as
//! [`crate::treeshap`], with everything that does not depend on the row
//! precomputed once per model.
//!
//! For a leaf `l` with value `v` whose path tests the distinct features `D`
//! (`|D| = d`), with `z_k` the product of the path's cover fractions for
//! feature `k` and `U` the features whose every split on the path agrees with
//! the row (`|U| = u`), the path-dependent SHAP value of feature `k` is
//!
//! ```text
//! k in U:     v * (1/z_k - 1) * F(U \ {k})
//! k not in U: -v * F(U)
//! F(A) = sum over S subset of A of  w(|S|) * prod_{j in D \ S} z_j,   w(s) = s! (d-s-1)! / d!
//! ```
//!
//! Precomputed per model: each node's split and the bit of its feature on the
//! root path, each leaf's distinct features, `z_k` and `v`, and, for leaves with
//! at most [`TABLE_MAX_FEATURES`] features while the memory budget lasts, the
//! whole `2^d`-entry table of `v F` (v2's table). Other leaves evaluate `F` in
//! closed form, with no memory: `prod_{j not in U} z_j` times
//! `sum_s w(s) e_{u-s}(z_U)`, with `e_i` the elementary symmetric polynomials of
//! the `z` in `U` (and `U \ {k}` by deflating one factor), `O(u^2)` per leaf.
//!
//! Explaining a row is one pass over the nodes (which path bits it violates)
//! and one over the leaves, instead of the standard algorithm's recursion with
//! `O(d^2)` path updates per leaf. Paths with more than 16 distinct features
//! fall back to the standard algorithm.

use crate::error::{MlError, Result};
use crate::matrix::Matrix;
use crate::tree::Tree;
use crate::treeshap::tree_shap;

/// Most table entries (f64) precomputed for one ensemble: 2^23 = 64 MiB.
pub const DEFAULT_MAX_TABLE_ENTRIES: usize = 1 << 23;

/// Leaves with at most this many distinct path features get a precomputed table.
pub const TABLE_MAX_FEATURES: usize = 8;

/// Paths longer than this many distinct features use the standard algorithm.
const MAX_FAST_FEATURES: usize = 16;

const NO_SPLIT: u32 = u32::MAX;

/// One node for the row pass: where the row goes and which path bit it may violate.
#[derive(Debug, Clone, Copy)]
struct FastNode {
    threshold: f64,
    /// Feature tested, or [`NO_SPLIT`] at a leaf.
    feature: u32,
    left: u32,
    right: u32,
    bit: u8,
    missing_left: bool,
}

#[derive(Debug, Clone, Copy)]
struct FastLeaf {
    node: u32,
    d: u8,
    /// `v * scale`.
    value: f64,
    /// Offset of this leaf's `d` entries in the path arrays.
    path: usize,
    /// Offset of this leaf's `2^d` entries of `v F` in `table`, if it has one.
    table: Option<usize>,
}

#[derive(Debug, Clone)]
struct FastTree {
    nodes: Vec<FastNode>,
    leaves: Vec<FastLeaf>,
    /// Feature of each path entry.
    features: Vec<u32>,
    /// `z` of each path entry.
    z: Vec<f64>,
    /// `1/z - 1` of each path entry (used with tables).
    inv_z_minus_one: Vec<f64>,
    table: Vec<f64>,
}

/// A tree with a single split (common late in boosting): the split's feature
/// gets the hot leaf's value minus the tree's expectation, nothing else changes.
#[derive(Debug, Clone, Copy)]
struct Stump {
    feature: u32,
    threshold: f64,
    missing_left: bool,
    /// `scale * (v_left - mean)` and `scale * (v_right - mean)`.
    left_share: f64,
    right_share: f64,
}

impl Stump {
    #[inline]
    fn add(&self, row: &[f64], phi: &mut [f64]) {
        let value = row.get(self.feature as usize).copied().unwrap_or(f64::NAN);
        let go_left = if value.is_nan() {
            self.missing_left
        } else {
            value <= self.threshold
        };
        if let Some(p) = phi.get_mut(self.feature as usize) {
            *p += if go_left {
                self.left_share
            } else {
                self.right_share
            };
        }
    }
}

#[derive(Debug, Clone)]
enum Explainer {
    /// A single leaf: every SHAP value is 0.
    Leaf,
    Stump(Stump),
    Fast(FastTree),
    Standard(Tree),
}

/// Precomputed explainer for an ensemble whose output is `scale * sum of trees`.
#[derive(Debug, Clone)]
pub struct FastTreeShap {
    trees: Vec<Explainer>,
    scale: f64,
    n_features: usize,
    max_nodes: usize,
    /// `w(s)` for each path length `d`: `weights[d][s]`.
    weights: Vec<Vec<f64>>,
}

impl FastTreeShap {
    /// Precomputes everything for validated `trees`; tables stop at `max_table_entries`.
    pub fn new(
        trees: &[Tree],
        scale: f64,
        n_features: usize,
        max_table_entries: usize,
    ) -> Result<Self> {
        if !scale.is_finite() {
            return Err(MlError::InvalidHyperparameter {
                name: "scale",
                value: scale.to_string(),
                reason: "must be finite",
            });
        }
        let weights: Vec<Vec<f64>> = (0..=MAX_FAST_FEATURES).map(shapley_weights).collect();
        let mut budget = max_table_entries;
        let out = trees
            .iter()
            .map(|tree| {
                if tree.len() == 1 {
                    return Explainer::Leaf;
                }
                if let Some(stump) = stump(tree, scale) {
                    return Explainer::Stump(stump);
                }
                build(tree, scale, &weights, &mut budget)
                    .map_or_else(|| Explainer::Standard(tree.clone()), Explainer::Fast)
            })
            .collect();
        let max_nodes = trees.iter().map(Tree::len).max().unwrap_or(0);
        Ok(Self {
            trees: out,
            scale,
            n_features,
            max_nodes,
            weights,
        })
    }

    /// How many trees fall back to the standard algorithm (paths with more than 16 features).
    pub fn standard_fallbacks(&self) -> usize {
        self.trees
            .iter()
            .filter(|e| matches!(e, Explainer::Standard(_)))
            .count()
    }

    /// Adds the SHAP values of row `x` to `phi` (one slot per feature);
    /// `scratch` is reused between calls to avoid allocating.
    pub fn explain_into(&self, x: &[f64], phi: &mut [f64], scratch: &mut Vec<u32>) {
        scratch.clear();
        scratch.resize(self.max_nodes, 0);
        for explainer in &self.trees {
            match explainer {
                Explainer::Leaf => {}
                Explainer::Stump(stump) => stump.add(x, phi),
                Explainer::Standard(tree) => tree_shap(tree, x, self.scale, phi),
                Explainer::Fast(tree) => self.explain_tree(tree, x, phi, scratch),
            }
        }
    }

    /// The SHAP values of row `x`, one per feature.
    pub fn explain(&self, x: &[f64]) -> Vec<f64> {
        let mut phi = vec![0.0; self.n_features];
        let mut scratch = Vec::new();
        self.explain_into(x, &mut phi, &mut scratch);
        phi
    }

    fn explain_tree(&self, tree: &FastTree, row: &[f64], phi: &mut [f64], violated: &mut [u32]) {
        violations(tree, row, violated, 1, 0);
        for leaf in &tree.leaves {
            let u = agreeing(leaf, violated.get(leaf.node as usize).copied());
            self.leaf_shares(tree, leaf, u, phi);
        }
    }

    /// SHAP values of every row of `x`, row-major (`rows x n_features`).
    ///
    /// Trees are visited one at a time over blocks of rows, so each tree's nodes
    /// and tables stay in cache while a whole block reads them.
    pub fn explain_batch(&self, x: &Matrix) -> Vec<f64> {
        const BLOCK: usize = 32;
        let width = self.n_features;
        let mut phi = vec![0.0; x.rows() * width];
        let mut violated = vec![0u32; self.max_nodes * BLOCK];
        for explainer in &self.trees {
            match explainer {
                Explainer::Leaf => {}
                Explainer::Stump(stump) => {
                    for (row, out) in x.iter_rows().zip(phi.chunks_mut(width.max(1))) {
                        stump.add(row, out);
                    }
                }
                Explainer::Standard(tree) => {
                    for (row, out) in x.iter_rows().zip(phi.chunks_mut(width.max(1))) {
                        tree_shap(tree, row, self.scale, out);
                    }
                }
                Explainer::Fast(tree) => {
                    let rows_per_block = BLOCK * x.cols().max(1);
                    for (block, out) in x
                        .as_slice()
                        .chunks(rows_per_block)
                        .zip(phi.chunks_mut(BLOCK * width.max(1)))
                    {
                        let in_block = out.len() / width.max(1);
                        for (r, row) in block.chunks(x.cols().max(1)).take(in_block).enumerate() {
                            violations(tree, row, &mut violated, BLOCK, r);
                        }
                        for leaf in &tree.leaves {
                            let base = leaf.node as usize * BLOCK;
                            for (r, out_row) in out.chunks_mut(width.max(1)).enumerate() {
                                let u = agreeing(leaf, violated.get(base + r).copied());
                                self.leaf_shares(tree, leaf, u, out_row);
                            }
                        }
                    }
                }
            }
        }
        phi
    }

    /// Adds one leaf's shares for a row whose agreeing path bits are `u`.
    fn leaf_shares(&self, tree: &FastTree, leaf: &FastLeaf, u: u32, phi: &mut [f64]) {
        let width = usize::from(leaf.d);
        let (Some(features), Some(z)) = (
            tree.features.get(leaf.path..leaf.path + width),
            tree.z.get(leaf.path..leaf.path + width),
        ) else {
            return;
        };
        if let Some(offset) = leaf.table {
            let (Some(entries), Some(inv)) = (
                tree.table.get(offset..offset + (1usize << width)),
                tree.inv_z_minus_one.get(leaf.path..leaf.path + width),
            ) else {
                return;
            };
            let f_u = entries.get(u as usize).copied().unwrap_or(0.0);
            for (k, (&feature, &inv_k)) in features.iter().zip(inv).enumerate() {
                let b = 1u32 << k;
                let share = if u & b == 0 {
                    -f_u
                } else {
                    inv_k * entries.get((u & !b) as usize).copied().unwrap_or(0.0)
                };
                if let Some(p) = phi.get_mut(feature as usize) {
                    *p += share;
                }
            }
        } else {
            let weights = self.weights.get(width).map_or(&[][..], Vec::as_slice);
            closed_form(leaf.value, features, z, u, weights, phi);
        }
    }
}

/// The path bits of `leaf` that the row agrees with, from its violated bits.
fn agreeing(leaf: &FastLeaf, violated: Option<u32>) -> u32 {
    let full = (1u32 << leaf.d) - 1;
    full & !violated.unwrap_or(full)
}

/// Pass 1, in index order (parents before children): for every node, the bits
/// of its root path that `row` disagrees with, stored at `node * stride + lane`.
fn violations(tree: &FastTree, row: &[f64], violated: &mut [u32], stride: usize, lane: usize) {
    if let Some(v) = violated.get_mut(lane) {
        *v = 0;
    }
    for (i, n) in tree.nodes.iter().enumerate() {
        if n.feature == NO_SPLIT {
            continue;
        }
        let value = row.get(n.feature as usize).copied().unwrap_or(f64::NAN);
        let go_left = if value.is_nan() {
            n.missing_left
        } else {
            value <= n.threshold
        };
        let mask = violated.get(i * stride + lane).copied().unwrap_or(0);
        let bit = 1u32 << n.bit;
        let (l, r) = if go_left {
            (mask, mask | bit)
        } else {
            (mask | bit, mask)
        };
        if let Some(v) = violated.get_mut(n.left as usize * stride + lane) {
            *v = l;
        }
        if let Some(v) = violated.get_mut(n.right as usize * stride + lane) {
            *v = r;
        }
    }
}

/// One leaf's shares from the closed form (see the module docs).
#[expect(
    clippy::indexing_slicing,
    reason = "every index is below u + 1 <= d + 1 <= N: `build` caps d at MAX_FAST_FEATURES"
)]
fn closed_form(
    value: f64,
    features: &[u32],
    covers: &[f64],
    u_mask: u32,
    weights: &[f64],
    phi: &mut [f64],
) {
    const N: usize = MAX_FAST_FEATURES + 1;
    // e[i]: elementary symmetric polynomials of the z in U; `outside`: product of the others.
    let mut e = [0.0_f64; N];
    e[0] = 1.0;
    let mut u = 0usize;
    let mut outside = 1.0;
    for (k, &zk) in covers.iter().enumerate() {
        if u_mask & (1 << k) == 0 {
            outside *= zk;
        } else {
            u += 1;
            for i in (1..=u.min(N - 1)).rev() {
                e[i] += zk * e[i - 1];
            }
        }
    }
    let scale = value * outside;
    let weighted = |coeffs: &[f64; N], top: usize| -> f64 {
        // sum over s = 0..=top of w(s) * coeffs[top - s]
        (0..=top)
            .map(|s| weights.get(s).copied().unwrap_or(0.0) * coeffs[top - s])
            .sum()
    };
    let absent_share = if u < covers.len() {
        -scale * weighted(&e, u)
    } else {
        0.0
    };
    let mut deflated = [0.0_f64; N];
    for (k, (&feature, &zk)) in features.iter().zip(covers).enumerate() {
        let share = if u_mask & (1 << k) == 0 {
            absent_share
        } else {
            // Coefficients without the factor (1 + z_k t): e'_i = e_i - z_k e'_(i-1).
            deflated[0] = 1.0;
            for i in 1..u {
                deflated[i] = e[i] - zk * deflated[i - 1];
            }
            scale * (1.0 - zk) * weighted(&deflated, u - 1)
        };
        if let Some(p) = phi.get_mut(feature as usize) {
            *p += share;
        }
    }
}

/// `w(s) = s! (d-s-1)! / d!` for `s` in `0..d`, by a ratio recurrence.
fn shapley_weights(d: usize) -> Vec<f64> {
    let mut w = Vec::with_capacity(d);
    if d == 0 {
        return w;
    }
    let mut current = 1.0 / d as f64;
    for s in 0..d {
        w.push(current);
        if s + 1 < d {
            current *= (s + 1) as f64 / (d - s - 1) as f64;
        }
    }
    w
}

/// The stump form of a tree with exactly one split.
fn stump(tree: &Tree, scale: f64) -> Option<Stump> {
    if tree.len() != 3 {
        return None;
    }
    let (left, right) = tree.children(0)?;
    if !(tree.is_leaf(left) && tree.is_leaf(right)) {
        return None;
    }
    let mean = tree.expected_value();
    Some(Stump {
        feature: u32::try_from(tree.feature_at(0)).ok()?,
        threshold: tree.thresholds.first().copied()?,
        missing_left: tree.missing_left.first().copied()?,
        left_share: scale * (tree.value_at(left) - mean),
        right_share: scale * (tree.value_at(right) - mean),
    })
}

/// Builds one tree's explainer, or `None` when it must use the standard algorithm.
fn build(tree: &Tree, scale: f64, weights: &[Vec<f64>], budget: &mut usize) -> Option<FastTree> {
    let count = tree.len();
    let mut out = FastTree {
        nodes: Vec::with_capacity(count),
        leaves: Vec::new(),
        features: Vec::new(),
        z: Vec::new(),
        inv_z_minus_one: Vec::new(),
        table: Vec::new(),
    };
    // Per node: the distinct features on the root path, in first-occurrence
    // order, with the product of cover fractions for each.
    let mut paths: Vec<Vec<(usize, f64)>> = vec![Vec::new(); count];
    for node in 0..count {
        let here = std::mem::take(paths.get_mut(node)?);
        if let Some((left, right)) = tree.children(node) {
            let feature = tree.feature_at(node);
            let pos = here
                .iter()
                .position(|&(g, _)| g == feature)
                .unwrap_or(here.len());
            if pos >= MAX_FAST_FEATURES {
                return None;
            }
            out.nodes.push(FastNode {
                threshold: tree.thresholds.get(node).copied().unwrap_or(0.0),
                feature: u32::try_from(feature).ok()?,
                left: u32::try_from(left).ok()?,
                right: u32::try_from(right).ok()?,
                bit: u8::try_from(pos).ok()?,
                missing_left: tree.missing_left.get(node).copied().unwrap_or(true),
            });
            let cover = tree.cover_at(node);
            for child in [left, right] {
                let ratio = tree.cover_at(child) / cover;
                let mut p = here.clone();
                match p.get_mut(pos) {
                    Some(e) => e.1 *= ratio,
                    None => p.push((feature, ratio)),
                }
                *paths.get_mut(child)? = p;
            }
        } else {
            out.nodes.push(FastNode {
                threshold: 0.0,
                feature: NO_SPLIT,
                left: 0,
                right: 0,
                bit: 0,
                missing_left: true,
            });
            let d = here.len();
            let value = tree.value_at(node) * scale;
            let table = if d <= TABLE_MAX_FEATURES && *budget >= (1 << d) {
                *budget -= 1 << d;
                let start = out.table.len();
                out.table
                    .extend(subset_terms(&here, value, weights.get(d)?));
                subset_sums(out.table.get_mut(start..)?);
                Some(start)
            } else {
                None
            };
            out.leaves.push(FastLeaf {
                node: u32::try_from(node).ok()?,
                d: u8::try_from(d).ok()?,
                value,
                path: out.features.len(),
                table,
            });
            for &(f, z) in &here {
                out.features.push(u32::try_from(f).ok()?);
                out.z.push(z);
                out.inv_z_minus_one.push(1.0 / z - 1.0);
            }
        }
    }
    Some(out)
}

/// `v * w(|S|) * prod_{k not in S} z_k` for every mask `S` (0 for the full set).
fn subset_terms(path: &[(usize, f64)], v: f64, w: &[f64]) -> Vec<f64> {
    let d = path.len();
    (0..1usize << d)
        .map(|mask| {
            let s = mask.count_ones() as usize;
            let Some(&ws) = w.get(s) else { return 0.0 };
            path.iter()
                .enumerate()
                .filter(|(k, _)| mask & (1 << k) == 0)
                .fold(v * ws, |term, (_, &(_, z))| term * z)
        })
        .collect()
}

/// In place: `t[A] <- sum over S subset of A of t[S]` (the zeta transform).
fn subset_sums(t: &mut [f64]) {
    let size = t.len();
    let mut b = 1;
    while b < size {
        for mask in 0..size {
            if mask & b != 0
                && let Some(&lower) = t.get(mask ^ b)
                && let Some(slot) = t.get_mut(mask)
            {
                *slot += lower;
            }
        }
        b <<= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tree::tests::random_tree;
    use crate::treeshap::tests::random_row;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_equals_standard(seed in 0u64..10_000, m in 1usize..8, depth in 1usize..9, trees in 1usize..4) {
            let forest: Vec<Tree> = (0..trees).map(|t| random_tree(seed * 7 + t as u64, m, depth)).collect();
            let fast = FastTreeShap::new(&forest, 0.5, m, DEFAULT_MAX_TABLE_ENTRIES).unwrap();
            prop_assert_eq!(fast.standard_fallbacks(), 0);
            let mut rng = Rng::new(seed);
            for _ in 0..4 {
                let x = random_row(&mut rng, m);
                let got = fast.explain(&x);
                let mut want = vec![0.0; m];
                for t in &forest {
                    tree_shap(t, &x, 0.5, &mut want);
                }
                for (a, b) in got.iter().zip(&want) {
                    prop_assert!((a - b).abs() < 1e-9, "{got:?} vs {want:?}");
                }
                let closed = FastTreeShap::new(&forest, 0.5, m, 0).unwrap().explain(&x);
                for (a, b) in closed.iter().zip(&want) {
                    prop_assert!((a - b).abs() < 1e-9, "closed form {closed:?} vs {want:?}");
                }
                let batch = fast.explain_batch(&Matrix::from_rows(&[x.clone(), x.clone()]).unwrap());
                for (a, b) in batch.iter().zip(got.iter().chain(&got)) {
                    prop_assert!((a - b).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn stumps_and_single_leaves_equal_standard() {
        let forest: Vec<Tree> = (0..40)
            .map(|seed| random_tree(seed, 3, 1))
            .chain([Tree::leaf(2.0, 5.0)])
            .collect();
        let fast = FastTreeShap::new(&forest, 0.7, 3, DEFAULT_MAX_TABLE_ENTRIES).unwrap();
        assert!(fast.trees.iter().any(|e| matches!(e, Explainer::Stump(_))));
        for x in [[0.1, 0.9, 0.5], [f64::NAN, 0.2, 0.8]] {
            let mut want = vec![0.0; 3];
            for t in &forest {
                tree_shap(t, &x, 0.7, &mut want);
            }
            for (a, b) in fast.explain(&x).iter().zip(&want) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn closed_form_alone_equals_standard() {
        // A zero table budget sends every leaf through the closed form.
        let forest = vec![random_tree(5, 4, 6), random_tree(6, 4, 6)];
        let fast = FastTreeShap::new(&forest, 1.0, 4, 0).unwrap();
        assert_eq!(fast.standard_fallbacks(), 0);
        let x = [0.2, 0.4, f64::NAN, 0.8];
        let mut want = vec![0.0; 4];
        for t in &forest {
            tree_shap(t, &x, 1.0, &mut want);
        }
        for (a, b) in fast.explain(&x).iter().zip(&want) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn paths_with_more_than_16_features_use_the_standard_algorithm() {
        // A chain: node 2i splits on feature i, its left child is a leaf.
        let depth = 18;
        let mut t = Tree::leaf(0.0, 1.0);
        for i in 0..depth {
            let node = t.len() - 1;
            let l = t.len();
            for k in 0..2 {
                t.children_left.push(-1);
                t.children_right.push(-1);
                t.missing_left.push(true);
                t.features.push(0);
                t.thresholds.push(0.0);
                t.values.push(f64::from(i32::try_from(i * 2 + k).unwrap()));
                t.cover.push(0.0);
            }
            t.children_left[node] = i32::try_from(l).unwrap();
            t.children_right[node] = i32::try_from(l + 1).unwrap();
            t.features[node] = u32::try_from(i).unwrap();
            t.thresholds[node] = 0.5;
        }
        for i in (0..t.len()).rev() {
            t.cover[i] = match t.children(i) {
                Some((l, r)) => t.cover[l] + t.cover[r],
                None => 1.0,
            };
        }
        t.fill_internal_values();
        t.validate(depth, crate::tree::TreeLimits::default())
            .unwrap();
        let fast = FastTreeShap::new(
            std::slice::from_ref(&t),
            1.0,
            depth,
            DEFAULT_MAX_TABLE_ENTRIES,
        )
        .unwrap();
        assert_eq!(fast.standard_fallbacks(), 1);
        let x = vec![0.7; depth];
        let mut want = vec![0.0; depth];
        tree_shap(&t, &x, 1.0, &mut want);
        assert_eq!(fast.explain(&x), want);
    }
}
