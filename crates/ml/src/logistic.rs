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
        let dims = x.cols();
        let rows = x.rows() as f64;
        // theta = [w_0 .. w_{d-1}, b]
        let objective = |theta: &[f64], grad: &mut [f64]| -> f64 {
            grad.fill(0.0);
            let (weights, bias) = theta.split_at(dims);
            let bias = bias.first().copied().unwrap_or(0.0);
            let mut loss = 0.0;
            for (row, &label) in x.iter_rows().zip(y) {
                let margin = bias + row.iter().zip(weights).map(|(a, c)| a * c).sum::<f64>();
                let target = if label { 1.0 } else { 0.0 };
                loss += if margin > 0.0 {
                    margin + (-margin).exp().ln_1p()
                } else {
                    margin.exp().ln_1p()
                } - target * margin;
                let residual = (sigmoid(margin) - target) / rows;
                for (g, &v) in grad.iter_mut().zip(row) {
                    *g += residual * v;
                }
                if let Some(gb) = grad.get_mut(dims) {
                    *gb += residual;
                }
            }
            let mut reg = 0.0;
            for (g, &wj) in grad.iter_mut().zip(weights) {
                *g += l2 * wj;
                reg += wj * wj;
            }
            loss / rows + 0.5 * l2 * reg
        };
        let theta = lbfgs(objective, vec![0.0; dims + 1], max_iter);
        let (weights, bias) = theta.split_at(dims);
        let means = (0..dims)
            .map(|j| {
                x.iter_rows()
                    .map(|r| r.get(j).copied().unwrap_or(0.0))
                    .sum::<f64>()
                    / rows
            })
            .collect();
        Ok(Self {
            weights: weights.to_vec(),
            intercept: bias.first().copied().unwrap_or(0.0),
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
fn lbfgs<F: Fn(&[f64], &mut [f64]) -> f64>(
    objective: F,
    mut point: Vec<f64>,
    max_iter: usize,
) -> Vec<f64> {
    let dim = point.len();
    let mut grad = vec![0.0; dim];
    let mut value = objective(&point, &mut grad);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::new();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    for _ in 0..max_iter {
        if grad.iter().fold(0.0_f64, |m, v| m.max(v.abs())) < 1e-10 {
            break;
        }
        // Two-loop recursion: direction = -H grad.
        let mut dir = grad.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (step_s, step_y, rho) in history.iter().rev() {
            let alpha = rho * dot(step_s, &dir);
            for (d, yi) in dir.iter_mut().zip(step_y) {
                *d -= alpha * yi;
            }
            alphas.push(alpha);
        }
        let gamma = history.back().map_or(1.0, |(step_s, step_y, _)| {
            dot(step_s, step_y) / dot(step_y, step_y).max(f64::MIN_POSITIVE)
        });
        for d in &mut dir {
            *d *= gamma;
        }
        for ((step_s, step_y, rho), alpha) in history.iter().zip(alphas.iter().rev()) {
            let beta = rho * dot(step_y, &dir);
            for (d, si) in dir.iter_mut().zip(step_s) {
                *d += (alpha - beta) * si;
            }
        }
        for d in &mut dir {
            *d = -*d;
        }
        let mut slope = dot(&grad, &dir);
        if slope >= 0.0 {
            dir = grad.iter().map(|v| -v).collect();
            slope = dot(&grad, &dir);
            history.clear();
        }
        let mut step = 1.0;
        let mut grad_new = vec![0.0; dim];
        let mut accepted = None;
        while step > 1e-20 {
            let candidate: Vec<f64> = point.iter().zip(&dir).map(|(p, d)| p + step * d).collect();
            let candidate_value = objective(&candidate, &mut grad_new);
            if candidate_value <= value + 1e-4 * step * slope {
                accepted = Some((candidate, candidate_value));
                break;
            }
            step /= 2.0;
        }
        let Some((next, next_value)) = accepted else {
            break;
        };
        let step_s: Vec<f64> = next.iter().zip(&point).map(|(p, q)| p - q).collect();
        let step_y: Vec<f64> = grad_new.iter().zip(&grad).map(|(p, q)| p - q).collect();
        let sy = dot(&step_s, &step_y);
        if sy > 1e-16 {
            history.push_back((step_s, step_y, 1.0 / sy));
            if history.len() > 10 {
                history.pop_front();
            }
        }
        let improvement = value - next_value;
        point = next;
        grad = grad_new;
        value = next_value;
        if improvement.abs() < 1e-15 * value.abs().max(1.0) {
            break;
        }
    }
    point
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
