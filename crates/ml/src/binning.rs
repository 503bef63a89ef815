//! Feature binning for histogram-based boosting: each feature's values map to
//! at most 255 ordered bins, plus one bin for missing values.

use crate::matrix::Matrix;

/// The bin that holds NaN values.
pub const MISSING_BIN: u8 = u8::MAX;

/// Upper edges of one feature's bins: bin `b` holds `edges[b-1] < x <= edges[b]`
/// and the last bin holds everything above the last edge.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBins {
    /// Strictly increasing, finite; `edges.len() + 1` bins.
    pub edges: Vec<f64>,
}

impl FeatureBins {
    /// Bin edges for `values` (NaN ignored), chosen as scikit-learn's histogram
    /// boosting chooses them: midpoints between consecutive distinct values when
    /// there are at most `max_bins` of them, otherwise the `k / max_bins`
    /// percentiles (midpoint interpolation), deduplicated. A percentile that falls
    /// inside a run of ties is that value, so `x <= 0` stays a candidate split
    /// even when most values are 0.
    pub fn fit(values: &mut [f64], max_bins: usize) -> Self {
        let max_bins = max_bins.clamp(2, 255);
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let mut distinct = sorted.clone();
        distinct.dedup_by(|a, b| a.total_cmp(b).is_eq());
        let mut edges: Vec<f64> = if distinct.len() <= max_bins {
            distinct.windows(2).map(midpoint).collect()
        } else {
            let last = sorted.len() - 1;
            (1..max_bins)
                .filter_map(|k| {
                    // Position of the k / max_bins percentile on 0..=last.
                    let pos = (k * last) as f64 / max_bins as f64;
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "pos is in 0..=last"
                    )]
                    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                    Some(0.5 * (sorted.get(lo)? + sorted.get(hi)?))
                })
                .collect()
        };
        edges.retain(|e| e.is_finite());
        edges.dedup_by(|a, b| a.total_cmp(b).is_eq());
        Self { edges }
    }

    /// Number of non-missing bins.
    pub fn n_bins(&self) -> usize {
        self.edges.len() + 1
    }

    /// The bin of `v`.
    #[inline]
    pub fn bin(&self, v: f64) -> u8 {
        if v.is_nan() {
            return MISSING_BIN;
        }
        u8::try_from(self.edges.partition_point(|&e| e < v)).unwrap_or(MISSING_BIN - 1)
    }

    /// The raw threshold equivalent to "bin <= b": `x <= edges[b]`.
    pub fn threshold(&self, b: usize) -> Option<f64> {
        self.edges.get(b).copied()
    }
}

fn midpoint(pair: &[f64]) -> f64 {
    match pair {
        [a, b] => {
            let m = 0.5 * (a + b);
            // The midpoint must separate the two values: `a <= m < b`.
            if m.is_finite() && m < *b { m } else { *a }
        }
        _ => f64::NAN,
    }
}

/// A matrix binned column by column: `bins[f * rows + i]`.
#[derive(Debug, Clone)]
pub struct BinnedMatrix {
    /// Bins of every cell, column-major.
    pub bins: Vec<u8>,
    /// Number of rows.
    pub rows: usize,
    /// Per-feature bin edges.
    pub features: Vec<FeatureBins>,
}

impl BinnedMatrix {
    /// Bins every column of `x` with at most `max_bins` bins.
    pub fn fit(x: &Matrix, max_bins: usize) -> Self {
        let rows = x.rows();
        let mut bins = Vec::with_capacity(rows * x.cols());
        let mut features = Vec::with_capacity(x.cols());
        let mut column = Vec::with_capacity(rows);
        for j in 0..x.cols() {
            column.clear();
            column.extend((0..rows).map(|i| x.get(i, j)));
            let fb = FeatureBins::fit(&mut column, max_bins);
            bins.extend(column.iter().map(|&v| fb.bin(v)));
            features.push(fb);
        }
        Self {
            bins,
            rows,
            features,
        }
    }

    /// The bins of feature `f` for every row.
    pub fn column(&self, f: usize) -> &[u8] {
        let start = f * self.rows;
        self.bins.get(start..start + self.rows).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_midpoint_edges() {
        let fb = FeatureBins::fit(&mut [3.0, 1.0, 2.0, 2.0, f64::NAN], 255);
        assert_eq!(fb.edges, vec![1.5, 2.5]);
        assert_eq!(fb.bin(1.0), 0);
        assert_eq!(fb.bin(1.5), 0);
        assert_eq!(fb.bin(2.0), 1);
        assert_eq!(fb.bin(9.0), 2);
        assert_eq!(fb.bin(f64::NAN), MISSING_BIN);
    }

    #[test]
    fn ties_keep_the_zero_split() {
        // 70% zeros then many distinct positives: `x <= 0` must remain a bin edge.
        let mut v: Vec<f64> = (0..7000)
            .map(|_| 0.0)
            .chain((1..=3000).map(f64::from))
            .collect();
        let fb = FeatureBins::fit(&mut v, 255);
        assert_eq!(fb.edges.first(), Some(&0.0));
        assert_eq!(fb.bin(0.0), 0);
        assert_eq!(fb.bin(1.0), 1);
    }

    #[test]
    fn many_values_are_capped() {
        let mut v: Vec<f64> = (0..10_000).map(f64::from).collect();
        let fb = FeatureBins::fit(&mut v, 255);
        assert!(fb.n_bins() <= 255);
        assert!(fb.edges.windows(2).all(|w| w[0] < w[1]));
        for x in [0.0, 17.0, 5000.0, 9999.0] {
            let b = usize::from(fb.bin(x));
            if let Some(t) = fb.threshold(b) {
                assert!(x <= t);
            }
            if b > 0 {
                assert!(x > fb.edges[b - 1]);
            }
        }
    }
}
