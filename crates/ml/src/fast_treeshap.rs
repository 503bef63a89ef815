//! Fast `TreeSHAP` v2 (Yang, 2021): the same values as [`crate::treeshap`], with
//! the per-leaf Shapley weights precomputed once per model.
//!
//! For a leaf `l` whose path tests the distinct features `D` (|D| = d), with
//! `z_k` the cover fraction of the path for feature `k` and `U` the features
//! whose every split on the path agrees with the row, the path-dependent SHAP
//! value of feature `k` is
//!
//! ```text
//! k in U:     v_l * (1/z_k - 1) * F(U \ {k})
//! k not in U: -v_l * F(U)
//! F(A) = sum over S subset of A of  |S|! (d-|S|-1)! / d!  * prod_{j in D \ S} z_j
//! ```
//!
//! `F` has `2^d` entries per leaf and is built once; explaining a row is then a
//! single pass over the nodes plus `d` table reads per leaf, instead of the
//! `d^2` path updates per leaf of the standard algorithm. Trees whose tables
//! would exceed a memory cap are explained with the standard algorithm instead.

use crate::error::{MlError, Result};
use crate::tree::Tree;
use crate::treeshap::tree_shap;

/// Most table entries (f64) precomputed for one ensemble: 2^23 = 64 MiB.
pub const DEFAULT_MAX_TABLE_ENTRIES: usize = 1 << 23;

/// Paths longer than this many distinct features use the standard algorithm.
const MAX_FAST_FEATURES: usize = 16;

#[derive(Debug, Clone)]
struct FastLeaf {
    node: usize,
    /// Offset of this leaf's `2^d` scaled `v * F` entries in `table`.
    table: usize,
    /// Offset of this leaf's `d` (feature, 1/z - 1) pairs in `path`.
    path: usize,
    d: usize,
}

#[derive(Debug, Clone)]
enum Explainer {
    Fast {
        /// Bit (first-occurrence position on its root path) of each internal node's feature.
        bit: Vec<u8>,
        leaves: Vec<FastLeaf>,
        table: Vec<f64>,
        path: Vec<(usize, f64)>,
    },
    Standard,
}

/// Precomputed explainer for an ensemble whose output is `scale * sum of trees`.
#[derive(Debug, Clone)]
pub struct FastTreeShap {
    trees: Vec<(Tree, Explainer)>,
    scale: f64,
    n_features: usize,
    max_nodes: usize,
}

impl FastTreeShap {
    /// Precomputes the tables for validated `trees`.
    pub fn new(
        trees: &[Tree],
        scale: f64,
        n_features: usize,
        max_table_entries: usize,
    ) -> Result<Self> {
        let mut budget = max_table_entries;
        let mut out = Vec::with_capacity(trees.len());
        for tree in trees {
            let explainer = build(tree, scale, &mut budget).unwrap_or(Explainer::Standard);
            out.push((tree.clone(), explainer));
        }
        if !scale.is_finite() {
            return Err(MlError::InvalidHyperparameter {
                name: "scale",
                value: scale.to_string(),
                reason: "must be finite",
            });
        }
        let max_nodes = trees.iter().map(Tree::len).max().unwrap_or(0);
        Ok(Self {
            trees: out,
            scale,
            n_features,
            max_nodes,
        })
    }

    /// How many trees fell back to the standard algorithm (memory cap or very long paths).
    pub fn standard_fallbacks(&self) -> usize {
        self.trees
            .iter()
            .filter(|(_, e)| matches!(e, Explainer::Standard))
            .count()
    }

    /// Adds the SHAP values of row `x` to `phi` (one slot per feature).
    pub fn explain_into(&self, x: &[f64], phi: &mut [f64], scratch: &mut Vec<u32>) {
        scratch.clear();
        scratch.resize(self.max_nodes, 0);
        for (tree, explainer) in &self.trees {
            match explainer {
                Explainer::Standard => tree_shap(tree, x, self.scale, phi),
                Explainer::Fast {
                    bit,
                    leaves,
                    table,
                    path,
                } => explain_tree(tree, bit, leaves, table, path, x, phi, scratch),
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
}

#[expect(
    clippy::too_many_arguments,
    reason = "the per-tree tables travel together; a struct would only rename them"
)]
fn explain_tree(
    tree: &Tree,
    bit: &[u8],
    leaves: &[FastLeaf],
    table: &[f64],
    path: &[(usize, f64)],
    x: &[f64],
    phi: &mut [f64],
    violated: &mut [u32],
) {
    // Pass 1, in index order (parents before children): which path bits the row violates.
    if let Some(v) = violated.first_mut() {
        *v = 0;
    }
    for node in 0..tree.len() {
        if let Some((hot, cold)) = tree.route(node, x) {
            let mask = violated.get(node).copied().unwrap_or(0);
            let b = bit.get(node).map_or(0, |&b| 1u32 << b);
            if let Some(v) = violated.get_mut(hot) {
                *v = mask;
            }
            if let Some(v) = violated.get_mut(cold) {
                *v = mask | b;
            }
        }
    }
    // Pass 2: each leaf's contribution from its table.
    for leaf in leaves {
        let full = (1u32 << leaf.d) - 1;
        let u = full & !violated.get(leaf.node).copied().unwrap_or(full);
        let Some(entries) = table.get(leaf.table..leaf.table + (1usize << leaf.d)) else {
            continue;
        };
        let Some(steps) = path.get(leaf.path..leaf.path + leaf.d) else {
            continue;
        };
        let f_u = entries.get(u as usize).copied().unwrap_or(0.0);
        for (k, &(feature, inv_z_minus_one)) in steps.iter().enumerate() {
            let b = 1u32 << k;
            let contribution = if u & b == 0 {
                -f_u
            } else {
                inv_z_minus_one * entries.get((u & !b) as usize).copied().unwrap_or(0.0)
            };
            if let Some(p) = phi.get_mut(feature) {
                *p += contribution;
            }
        }
    }
}

/// Builds one tree's tables, or `None` when it must use the standard algorithm.
fn build(tree: &Tree, scale: f64, budget: &mut usize) -> Option<Explainer> {
    let count = tree.len();
    let mut bit = vec![0u8; count];
    // Per node: the distinct features on the root path, in first-occurrence
    // order, with the product of cover fractions for each.
    let mut paths: Vec<Vec<(usize, f64)>> = vec![Vec::new(); count];
    let mut leaves = Vec::new();
    let mut table = Vec::new();
    let mut path_out = Vec::new();
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
            *bit.get_mut(node)? = u8::try_from(pos).ok()?;
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
            let d = here.len();
            let size = 1usize << d;
            *budget = budget.checked_sub(size)?;
            leaves.push(FastLeaf {
                node,
                table: table.len(),
                path: path_out.len(),
                d,
            });
            let start = table.len();
            table.extend(weights(&here, tree.value_at(node) * scale));
            subset_sums(table.get_mut(start..)?);
            path_out.extend(here.iter().map(|&(f, z)| (f, 1.0 / z - 1.0)));
        }
    }
    Some(Explainer::Fast {
        bit,
        leaves,
        table,
        path: path_out,
    })
}

/// `v * |S|! (d-|S|-1)! / d! * prod_{k not in S} z_k` for every mask `S` (0 for the full set).
fn weights(path: &[(usize, f64)], v: f64) -> Vec<f64> {
    let d = path.len();
    let size = 1usize << d;
    // w(s, d) = s! (d-s-1)! / d!, built by a ratio recurrence to stay exact-ish.
    let mut w = vec![0.0; d.max(1)];
    if d > 0
        && let Some(first) = w.first_mut()
    {
        *first = 1.0 / d as f64;
    }
    for s in 1..d {
        let prev = w.get(s - 1).copied().unwrap_or(0.0);
        if let Some(slot) = w.get_mut(s) {
            *slot = prev * s as f64 / (d - s) as f64;
        }
    }
    (0..size)
        .map(|mask| {
            let s = mask.count_ones() as usize;
            if s >= d {
                return 0.0;
            }
            let mut term = v * w.get(s).copied().unwrap_or(0.0);
            for (k, &(_, z)) in path.iter().enumerate() {
                if mask & (1 << k) == 0 {
                    term *= z;
                }
            }
            term
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
            }
        }
    }

    #[test]
    fn falls_back_to_standard_under_a_tiny_budget() {
        let forest = vec![random_tree(5, 4, 6), random_tree(6, 4, 6)];
        let fast = FastTreeShap::new(&forest, 1.0, 4, 4).unwrap();
        assert_eq!(fast.standard_fallbacks(), 2);
        let x = [0.2, 0.4, 0.6, 0.8];
        let mut want = vec![0.0; 4];
        for t in &forest {
            tree_shap(t, &x, 1.0, &mut want);
        }
        assert_eq!(fast.explain(&x), want);
    }
}
