//! Path-dependent `TreeSHAP` (Lundberg, Erion and Lee, 2018, Algorithm 2): exact
//! Shapley values of `f(S) = E[f(x) | x_S]`, where the expectation follows the
//! training cover of each branch. This is the standard algorithm; the faster
//! precomputed variant in [`crate::fast_treeshap`] is tested against it.

use crate::tree::Tree;

/// One element of the feature path: which feature, the fraction of "zero"
/// (feature unknown) and "one" (feature known) paths that flow through, and
/// the permutation weight.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: Option<usize>,
    zero: f64,
    one: f64,
    weight: f64,
}

/// Adds the SHAP values of one tree for row `x`, multiplied by `scale`, to `phi`.
///
/// `phi` must have one slot per feature; contributions for features beyond its
/// length are dropped. The tree must be valid (see [`Tree::validate`]).
pub fn tree_shap(tree: &Tree, x: &[f64], scale: f64, phi: &mut [f64]) {
    let mut path = Vec::with_capacity(tree.depth() + 2);
    recurse(tree, x, scale, phi, 0, &mut path, 1.0, 1.0, None);
}

#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the published recursion one to one"
)]
fn recurse(
    tree: &Tree,
    x: &[f64],
    scale: f64,
    phi: &mut [f64],
    node: usize,
    path: &mut Vec<PathElement>,
    zero: f64,
    one: f64,
    feature: Option<usize>,
) {
    let saved = path.clone();
    extend(path, zero, one, feature);
    if let Some((hot, cold)) = tree.route(node, x) {
        let split = tree.feature_at(node);
        let (mut iz, mut io) = (1.0, 1.0);
        if let Some(k) = path.iter().position(|e| e.feature == Some(split)) {
            if let Some(e) = path.get(k) {
                iz = e.zero;
                io = e.one;
            }
            unwind(path, k);
        }
        let r = tree.cover_at(node);
        let before = path.clone();
        recurse(
            tree,
            x,
            scale,
            phi,
            hot,
            path,
            iz * tree.cover_at(hot) / r,
            io,
            Some(split),
        );
        *path = before;
        recurse(
            tree,
            x,
            scale,
            phi,
            cold,
            path,
            iz * tree.cover_at(cold) / r,
            0.0,
            Some(split),
        );
    } else {
        let v = tree.value_at(node) * scale;
        for i in 1..path.len() {
            let w = unwound_sum(path, i);
            if let Some(e) = path.get(i)
                && let Some(slot) = e.feature.and_then(|f| phi.get_mut(f))
            {
                *slot += w * (e.one - e.zero) * v;
            }
        }
    }
    *path = saved;
}

/// Grows the path by one feature, updating the permutation weights.
fn extend(path: &mut Vec<PathElement>, zero: f64, one: f64, feature: Option<usize>) {
    let l = path.len();
    path.push(PathElement {
        feature,
        zero,
        one,
        weight: if l == 0 { 1.0 } else { 0.0 },
    });
    let lf = l as f64;
    for i in (0..l).rev() {
        let wi = path.get(i).map_or(0.0, |e| e.weight);
        if let Some(next) = path.get_mut(i + 1) {
            next.weight += one * wi * (i as f64 + 1.0) / (lf + 1.0);
        }
        if let Some(e) = path.get_mut(i) {
            e.weight = zero * wi * (lf - i as f64) / (lf + 1.0);
        }
    }
}

/// Removes element `k` from the path, undoing its effect on the weights.
fn unwind(path: &mut Vec<PathElement>, removed_at: usize) {
    let Some(&removed) = path.get(removed_at) else {
        return;
    };
    let last = path.len() - 1;
    let lf = last as f64;
    let mut n = path.last().map_or(0.0, |e| e.weight);
    for j in (0..last).rev() {
        let Some(e) = path.get_mut(j) else { continue };
        if removed.one == 0.0 {
            e.weight = e.weight * (lf + 1.0) / (removed.zero * (lf - j as f64));
        } else {
            let t = e.weight;
            e.weight = n * (lf + 1.0) / ((j as f64 + 1.0) * removed.one);
            n = t - e.weight * removed.zero * (lf - j as f64) / (lf + 1.0);
        }
    }
    for j in removed_at..last {
        if let Some(&next) = path.get(j + 1)
            && let Some(e) = path.get_mut(j)
        {
            e.feature = next.feature;
            e.zero = next.zero;
            e.one = next.one;
        }
    }
    path.pop();
}

/// The total weight of the path with element `k` unwound, without building it.
fn unwound_sum(path: &[PathElement], k: usize) -> f64 {
    let Some(&e) = path.get(k) else { return 0.0 };
    let l = path.len() - 1;
    let lf = l as f64;
    let mut total = 0.0;
    if e.one == 0.0 {
        for j in (0..l).rev() {
            let w = path.get(j).map_or(0.0, |p| p.weight);
            total += w * (lf + 1.0) / (e.zero * (lf - j as f64));
        }
    } else {
        let mut next = path.last().map_or(0.0, |p| p.weight);
        for j in (0..l).rev() {
            let tmp = next * (lf + 1.0) / ((j as f64 + 1.0) * e.one);
            total += tmp;
            let w = path.get(j).map_or(0.0, |p| p.weight);
            next = w - tmp * e.zero * (lf - j as f64) / (lf + 1.0);
        }
    }
    total
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tree::tests::random_tree;
    use proptest::prelude::*;

    /// `E[f(x) | x_S]` by the cover-weighted recursion (Algorithm 1 of the paper).
    fn cond_expectation(tree: &Tree, x: &[f64], known: u32, node: usize) -> f64 {
        match tree.route(node, x) {
            None => tree.values[node],
            Some((hot, _)) => {
                let f = tree.features[node];
                if known & (1 << f) != 0 {
                    cond_expectation(tree, x, known, hot)
                } else {
                    let (l, r) = tree.children(node).unwrap();
                    (cond_expectation(tree, x, known, l) * tree.cover[l]
                        + cond_expectation(tree, x, known, r) * tree.cover[r])
                        / tree.cover[node]
                }
            }
        }
    }

    /// Shapley values by enumerating every subset: the obviously-correct reference.
    pub(crate) fn brute_force(tree: &Tree, x: &[f64], m: usize) -> Vec<f64> {
        let fact = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
        let mut phi = vec![0.0; m];
        for (i, p) in phi.iter_mut().enumerate() {
            for s in 0u32..(1 << m) {
                if s & (1 << i) != 0 {
                    continue;
                }
                let size = s.count_ones() as usize;
                let w = fact(size) * fact(m - size - 1) / fact(m);
                *p += w
                    * (cond_expectation(tree, x, s | (1 << i), 0)
                        - cond_expectation(tree, x, s, 0));
            }
        }
        phi
    }

    pub(crate) fn random_row(rng: &mut Rng, m: usize) -> Vec<f64> {
        (0..m)
            .map(|_| {
                if rng.next_f64() < 0.1 {
                    f64::NAN
                } else {
                    rng.next_f64()
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn matches_brute_force_and_is_additive(seed in 0u64..10_000, m in 1usize..6, depth in 1usize..7) {
            let tree = random_tree(seed, m, depth);
            let mut rng = Rng::new(seed ^ 0xABCD);
            for _ in 0..3 {
                let x = random_row(&mut rng, m);
                let mut phi = vec![0.0; m];
                tree_shap(&tree, &x, 1.0, &mut phi);
                let reference = brute_force(&tree, &x, m);
                for (a, b) in phi.iter().zip(&reference) {
                    prop_assert!((a - b).abs() < 1e-9, "{phi:?} vs {reference:?}");
                }
                let total: f64 = phi.iter().sum::<f64>() + tree.expected_value();
                prop_assert!((total - tree.predict(&x)).abs() < 1e-9);
            }
        }
    }
}
