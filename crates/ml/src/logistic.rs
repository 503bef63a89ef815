//! L2-regularised logistic regression, fitted by L-BFGS, with exact additive
//! explanations: the margin is `b + sum_j w_j x_j`, so feature `j` contributes
//! `w_j (x_j - mean_j)` against a base of the margin at the training mean.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::gbdt::sigmoid;
use crate::matrix::Matrix;

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogisticRegression {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The intercept (not penalised).
    pub intercept: f64,
    /// Training mean of each feature: the reference point of explanations.
    pub means: Vec<f64>,
}

impl LogisticRegression {
    /// Minimises `mean logloss + l2 / 2 * |w|^2`. scikit-learn's `C` is `1 / (l2 * n_rows)`.
    pub fn fit(x: &Matrix, y: &[bool], l2: f64, max_iter: usize) -> Result<Self> {
        if y.len() != x.rows() {
            return Err(MlError::LengthMismatch {
                what: "labels",
                expected: x.rows(),
                got: y.len(),
            });
        }
        if x.rows() == 0 {
            return Err(MlError::EmptyTrainingSet {
                what: "logistic regression",
            });
        }
        let pos = y.iter().filter(|&&v| v).count();
        if pos == 0 || pos == y.len() {
            return Err(MlError::SingleClass {
                class: u8::from(pos > 0),
            });
        }
        if let Some(index) = x.first_non_finite() {
            return Err(MlError::NonFinite {
                what: "training matrix",
                index,
            });
        }
        if !(l2 >= 0.0 && l2.is_finite()) {
            return Err(MlError::InvalidHyperparameter {
                name: "l2",
                value: l2.to_string(),
                reason: "must be >= 0",
            });
        }
        let d = x.cols();
        let n = x.rows() as f64;
        // theta = [w_0 .. w_{d-1}, b]
        let objective = |theta: &[f64], grad: &mut [f64]| -> f64 {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let (w, b) = theta.split_at(d);
            let b = b.first().copied().unwrap_or(0.0);
            let mut loss = 0.0;
            for (row, &label) in x.iter_rows().zip(y) {
                let m = b + row.iter().zip(w).map(|(a, c)| a * c).sum::<f64>();
                let t = if label { 1.0 } else { 0.0 };
                loss += if m > 0.0 {
                    m + (-m).exp().ln_1p()
                } else {
                    m.exp().ln_1p()
                } - t * m;
                let r = (sigmoid(m) - t) / n;
                for (g, &v) in grad.iter_mut().zip(row) {
                    *g += r * v;
                }
                if let Some(gb) = grad.get_mut(d) {
                    *gb += r;
                }
            }
            let mut reg = 0.0;
            for (g, &wj) in grad.iter_mut().zip(w) {
                *g += l2 * wj;
                reg += wj * wj;
            }
            loss / n + 0.5 * l2 * reg
        };
        let theta = lbfgs(objective, vec![0.0; d + 1], max_iter);
        let (w, b) = theta.split_at(d);
        let means = (0..d)
            .map(|j| {
                x.iter_rows()
                    .map(|r| r.get(j).copied().unwrap_or(0.0))
                    .sum::<f64>()
                    / n
            })
            .collect();
        Ok(Self {
            weights: w.to_vec(),
            intercept: b.first().copied().unwrap_or(0.0),
            means,
        })
    }

    /// The log-odds margin of row `x`.
    pub fn margin(&self, x: &[f64]) -> f64 {
        self.intercept + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }

    /// `sigmoid(margin)`.
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(self.margin(x))
    }

    /// The margin at the training mean: the base of [`Self::contributions`].
    pub fn expected_margin(&self) -> f64 {
        self.margin(&self.means)
    }

    /// Exact additive contributions `w_j (x_j - mean_j)`.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        self.weights
            .iter()
            .zip(&self.means)
            .zip(x)
            .map(|((w, m), v)| w * (v - m))
            .collect()
    }
}

/// Limited-memory BFGS (two-loop recursion, memory 10) with backtracking Armijo steps.
fn lbfgs<F: Fn(&[f64], &mut [f64]) -> f64>(f: F, mut x: Vec<f64>, max_iter: usize) -> Vec<f64> {
    let dim = x.len();
    let mut g = vec![0.0; dim];
    let mut fx = f(&x, &mut g);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::new();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    for _ in 0..max_iter {
        if g.iter().fold(0.0_f64, |m, v| m.max(v.abs())) < 1e-10 {
            break;
        }
        // Two-loop recursion: direction = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, yv, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(yv).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = history.back().map_or(1.0, |(s, yv, _)| {
            dot(s, yv) / dot(yv, yv).max(f64::MIN_POSITIVE)
        });
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, yv, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(yv, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &dir);
        if slope >= 0.0 {
            dir = g.iter().map(|v| -v).collect();
            slope = dot(&g, &dir);
            history.clear();
        }
        let mut step = 1.0;
        let mut g_new = vec![0.0; dim];
        let mut accepted = None;
        while step > 1e-20 {
            let x_new: Vec<f64> = x.iter().zip(&dir).map(|(a, d)| a + step * d).collect();
            let f_new = f(&x_new, &mut g_new);
            if f_new <= fx + 1e-4 * step * slope {
                accepted = Some((x_new, f_new));
                break;
            }
            step /= 2.0;
        }
        let Some((x_new, f_new)) = accepted else {
            break;
        };
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        if sy > 1e-16 {
            history.push_back((s, yv, 1.0 / sy));
            if history.len() > 10 {
                history.pop_front();
            }
        }
        let improvement = fx - f_new;
        x = x_new;
        g = g_new;
        fx = f_new;
        if improvement.abs() < 1e-15 * fx.abs().max(1.0) {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn recovers_weights_and_contributions_are_additive() {
        let mut rng = Rng::new(5);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..5000 {
            let r = vec![rng.next_f64() * 2.0 - 1.0, rng.next_f64() * 2.0 - 1.0];
            y.push(rng.next_f64() < sigmoid(3.0 * r[0] - 2.0 * r[1] + 0.5));
            rows.push(r);
        }
        let x = Matrix::from_rows(&rows).unwrap();
        let m = LogisticRegression::fit(&x, &y, 0.0, 500).unwrap();
        assert!((m.weights[0] - 3.0).abs() < 0.3, "{:?}", m.weights);
        assert!((m.weights[1] + 2.0).abs() < 0.3, "{:?}", m.weights);
        let row = [0.3, -0.7];
        let total = m.expected_margin() + m.contributions(&row).iter().sum::<f64>();
        assert!((total - m.margin(&row)).abs() < 1e-12);
    }

    #[test]
    fn single_class_is_an_error() {
        let x = Matrix::from_rows(&[[1.0], [2.0]]).unwrap();
        assert!(LogisticRegression::fit(&x, &[false, false], 1.0, 10).is_err());
    }
}
