//! Probability calibration of a raw score (e.g. a GBDT margin): Platt scaling
//! and isotonic regression, fitted on rows the scorer did not train on.
//! Both follow scikit-learn's definitions (`_sigmoid_calibration`,
//! `IsotonicRegression(out_of_bounds="clip")`) so fitted values can be checked
//! against it.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

/// A fitted map from raw score to probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Calibration {
    /// `sigmoid(score)`: the score is already a log-odds margin.
    Sigmoid,
    /// Platt scaling: `p = 1 / (1 + exp(a * score + b))`.
    Platt {
        /// Slope (negative for a score that grows with the positive class).
        a: f64,
        /// Intercept.
        b: f64,
    },
    /// Isotonic regression: piecewise-linear through increasing points, flat outside them.
    Isotonic {
        /// Strictly increasing scores.
        #[serde(deserialize_with = "crate::model_file::bounded_items")]
        x: Vec<f64>,
        /// Non-decreasing probabilities at those scores.
        #[serde(deserialize_with = "crate::model_file::bounded_items")]
        y: Vec<f64>,
    },
}

/// Which calibration to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMethod {
    /// No fit: `sigmoid(score)`.
    Sigmoid,
    /// Platt scaling.
    Platt,
    /// Isotonic regression.
    Isotonic,
}

impl Calibration {
    /// Fits `method` to `scores` with labels `y`.
    pub fn fit(method: CalibrationMethod, scores: &[f64], y: &[bool]) -> Result<Self> {
        if scores.len() != y.len() {
            return Err(MlError::LengthMismatch {
                what: "calibration labels",
                expected: scores.len(),
                got: y.len(),
            });
        }
        if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
            return Err(MlError::NonFinite {
                what: "calibration scores",
                index,
            });
        }
        match method {
            CalibrationMethod::Sigmoid => Ok(Self::Sigmoid),
            CalibrationMethod::Platt => {
                let (a, b) = platt(scores, y)?;
                Ok(Self::Platt { a, b })
            }
            CalibrationMethod::Isotonic => {
                let (x, y) = isotonic(scores, y)?;
                Ok(Self::Isotonic { x, y })
            }
        }
    }

    /// The calibrated probability of `score`.
    pub fn apply(&self, score: f64) -> f64 {
        match self {
            Self::Sigmoid => crate::gbdt::sigmoid(score),
            Self::Platt { a, b } => crate::gbdt::sigmoid(-(a * score + b)),
            Self::Isotonic { x, y } => interpolate(x, y, score),
        }
    }

    /// Checks a loaded calibration: finite numbers, increasing points, probabilities in `[0, 1]`.
    pub fn validate(&self, max_points: usize) -> Result<()> {
        let bad = |reason: String| Err(MlError::InvalidModel { reason });
        match self {
            Self::Sigmoid => Ok(()),
            Self::Platt { a, b } => {
                if a.is_finite() && b.is_finite() {
                    Ok(())
                } else {
                    bad(format!(
                        "platt calibration has non-finite `a` = `{a}` or `b` = `{b}`"
                    ))
                }
            }
            Self::Isotonic { x, y } => {
                if x.len() > max_points {
                    return Err(MlError::LimitExceeded {
                        what: "isotonic points",
                        got: x.len(),
                        limit: max_points,
                    });
                }
                if x.len() != y.len() || x.is_empty() {
                    return bad(format!(
                        "isotonic calibration has `{}` scores and `{}` probabilities",
                        x.len(),
                        y.len()
                    ));
                }
                if !x.iter().all(|v| v.is_finite()) || !x.windows(2).all(|w| w.first() < w.get(1)) {
                    return bad("isotonic scores must be finite and strictly increasing".into());
                }
                if !y.iter().all(|p| (0.0..=1.0).contains(p))
                    || !y.windows(2).all(|w| w.first() <= w.get(1))
                {
                    return bad("isotonic probabilities must be non-decreasing in `[0, 1]`".into());
                }
                Ok(())
            }
        }
    }
}

fn class_counts(y: &[bool]) -> Result<(f64, f64)> {
    let pos = y.iter().filter(|&&v| v).count();
    if y.is_empty() {
        return Err(MlError::EmptyTrainingSet {
            what: "calibration",
        });
    }
    if pos == 0 {
        return Err(MlError::SingleClass { class: 0 });
    }
    if pos == y.len() {
        return Err(MlError::SingleClass { class: 1 });
    }
    Ok(((y.len() - pos) as f64, pos as f64))
}

/// Platt's method with his smoothed targets, solved by damped Newton steps.
fn platt(scores: &[f64], y: &[bool]) -> Result<(f64, f64)> {
    let (neg, pos) = class_counts(y)?;
    let max_abs = scores.iter().fold(0.0_f64, |acc, s| acc.max(s.abs()));
    // Large scores are scaled down for conditioning, as scikit-learn does.
    let scale = if max_abs >= 30.0 { max_abs } else { 1.0 };
    let feats: Vec<f64> = scores.iter().map(|s| s / scale).collect();
    let hi = (pos + 1.0) / (pos + 2.0);
    let lo = 1.0 / (neg + 2.0);
    let targets: Vec<f64> = y.iter().map(|&v| if v { hi } else { lo }).collect();
    let loss = |slope: f64, intercept: f64| -> f64 {
        feats
            .iter()
            .zip(&targets)
            .map(|(&fi, &ti)| {
                // -[t log p + (1-t) log(1-p)] with p = sigmoid(m), m = -(slope f + intercept)
                let margin = -(slope * fi + intercept);
                softplus(margin) - ti * margin
            })
            .sum()
    };
    let (mut slope, mut intercept) = (0.0, ((neg + 1.0) / (pos + 1.0)).ln());
    let mut current = loss(slope, intercept);
    for _ in 0..200 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&fi, &ti) in feats.iter().zip(&targets) {
            let prob = crate::gbdt::sigmoid(-(slope * fi + intercept));
            let diff = ti - prob;
            ga += diff * fi;
            gb += diff;
            let weight = prob * (1.0 - prob);
            haa += weight * fi * fi;
            hab += weight * fi;
            hbb += weight;
        }
        if ga.abs().max(gb.abs()) < 1e-12 * (1.0 + current.abs()) {
            break;
        }
        let ridge = 1e-12;
        let det = (haa + ridge) * (hbb + ridge) - hab * hab;
        let (da, db) = if det.abs() > f64::MIN_POSITIVE {
            (
                -((hbb + ridge) * ga - hab * gb) / det,
                -((haa + ridge) * gb - hab * ga) / det,
            )
        } else {
            (-ga, -gb)
        };
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-10 {
            let candidate = loss(slope + step * da, intercept + step * db);
            if candidate <= current {
                slope += step * da;
                intercept += step * db;
                improved = candidate < current;
                current = candidate;
                break;
            }
            step /= 2.0;
        }
        if !improved {
            break;
        }
    }
    Ok((slope / scale, intercept))
}

fn softplus(m: f64) -> f64 {
    if m > 0.0 {
        m + (-m).exp().ln_1p()
    } else {
        m.exp().ln_1p()
    }
}

/// Pool-adjacent-violators on scores made unique (ties averaged, weighted by count).
fn isotonic(scores: &[f64], y: &[bool]) -> Result<(Vec<f64>, Vec<f64>)> {
    class_counts(y)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| {
        scores
            .get(i)
            .copied()
            .unwrap_or(0.0)
            .total_cmp(&scores.get(j).copied().unwrap_or(0.0))
    });
    // Unique scores with mean label and weight.
    let mut xs: Vec<f64> = Vec::new();
    let mut blocks: Vec<(f64, f64)> = Vec::new(); // (weighted mean, weight)
    for &i in &order {
        let (s, l) = (
            scores.get(i).copied().unwrap_or(0.0),
            if y.get(i).copied().unwrap_or(false) {
                1.0
            } else {
                0.0
            },
        );
        match (xs.last(), blocks.last_mut()) {
            (Some(&last), Some(block)) if last.total_cmp(&s).is_eq() => {
                block.0 = (block.0 * block.1 + l) / (block.1 + 1.0);
                block.1 += 1.0;
            }
            _ => {
                xs.push(s);
                blocks.push((l, 1.0));
            }
        }
    }
    // PAV: a stack of pooled blocks, each (mean, weight, number of unique points).
    let mut pooled: Vec<(f64, f64, usize)> = Vec::with_capacity(blocks.len());
    for &(mean, weight) in &blocks {
        let mut cur = (mean, weight, 1usize);
        while let Some(&prev) = pooled.last() {
            if prev.0 <= cur.0 {
                break;
            }
            pooled.pop();
            let w = prev.1 + cur.1;
            cur = ((prev.0 * prev.1 + cur.0 * cur.1) / w, w, prev.2 + cur.2);
        }
        pooled.push(cur);
    }
    let mut fitted = Vec::with_capacity(xs.len());
    for &(mean, _, count) in &pooled {
        fitted.extend(std::iter::repeat_n(mean.clamp(0.0, 1.0), count));
    }
    // Keep only the ends of each flat run; interpolation through them is identical.
    let keep: Vec<bool> = (0..xs.len())
        .map(|i| {
            let v = fitted.get(i);
            i == 0 || i + 1 == xs.len() || fitted.get(i - 1) != v || fitted.get(i + 1) != v
        })
        .collect();
    let x_out = xs
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(v, _)| *v)
        .collect();
    let y_out = fitted
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(v, _)| *v)
        .collect();
    Ok((x_out, y_out))
}

/// Linear interpolation through `(x, y)`, constant beyond the ends (`np.interp`).
fn interpolate(x: &[f64], y: &[f64], v: f64) -> f64 {
    let (Some(&x0), Some(&y0), Some(&xn), Some(&yn)) = (x.first(), y.first(), x.last(), y.last())
    else {
        return 0.5;
    };
    if v.is_nan() {
        return 0.5;
    }
    if v <= x0 {
        return y0;
    }
    if v >= xn {
        return yn;
    }
    let k = x.partition_point(|&e| e <= v);
    match (x.get(k - 1), x.get(k), y.get(k - 1), y.get(k)) {
        (Some(&xa), Some(&xb), Some(&ya), Some(&yb)) if xb > xa => {
            ya + (yb - ya) * (v - xa) / (xb - xa)
        }
        (_, _, Some(&ya), _) => ya,
        _ => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators_and_interpolates() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0];
        let y = [false, true, false, true, true, false];
        let c = Calibration::fit(CalibrationMethod::Isotonic, &s, &y).unwrap();
        let Calibration::Isotonic { x, y: p } = &c else {
            panic!()
        };
        // Blocks: 0 | (1,0) -> 0.5 | 1 | (1,0) tie -> 0.5 => pooled 0, 0.5, 0.5, 0.75?, check monotone.
        assert!(p.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(x.first(), Some(&1.0));
        assert!((c.apply(0.0) - p[0]).abs() < 1e-12);
        assert!((c.apply(100.0) - p[p.len() - 1]).abs() < 1e-12);
        c.validate(1000).unwrap();
    }

    #[test]
    fn platt_recovers_a_logistic_link() {
        // Scores whose true link is p = sigmoid(2 s - 1): Platt finds a ~ -2, b ~ 1.
        let mut rng = crate::rng::Rng::new(3);
        let mut s = Vec::new();
        let mut y = Vec::new();
        for _ in 0..20_000 {
            let v = rng.next_f64() * 6.0 - 3.0;
            s.push(v);
            y.push(rng.next_f64() < crate::gbdt::sigmoid(2.0 * v - 1.0));
        }
        let Calibration::Platt { a, b } =
            Calibration::fit(CalibrationMethod::Platt, &s, &y).unwrap()
        else {
            panic!()
        };
        assert!((a + 2.0).abs() < 0.15, "{a}");
        assert!((b - 1.0).abs() < 0.15, "{b}");
    }

    #[test]
    fn single_class_is_an_error() {
        assert!(Calibration::fit(CalibrationMethod::Platt, &[0.1, 0.2], &[true, true]).is_err());
        assert!(Calibration::fit(CalibrationMethod::Isotonic, &[], &[]).is_err());
    }
}
