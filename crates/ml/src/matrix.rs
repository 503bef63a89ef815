//! A dense row-major matrix of `f64`: the numeric form every model reads.

use crate::error::{MlError, Result};

/// Dense row-major feature matrix; each row is one event after encoding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    data: Vec<f64>,
    rows: usize,
    cols: usize,
}

impl Matrix {
    /// Wraps `data` (row-major) as a `rows x cols` matrix.
    pub fn new(data: Vec<f64>, rows: usize, cols: usize) -> Result<Self> {
        let expected = rows.checked_mul(cols).ok_or(MlError::LimitExceeded {
            what: "matrix cells",
            got: usize::MAX,
            limit: usize::MAX,
        })?;
        if data.len() != expected {
            return Err(MlError::LengthMismatch {
                what: "matrix data",
                expected,
                got: data.len(),
            });
        }
        Ok(Self { data, rows, cols })
    }

    /// Builds a matrix from equal-length rows.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for r in rows {
            let r = r.as_ref();
            if r.len() != cols {
                return Err(MlError::LengthMismatch {
                    what: "row",
                    expected: cols,
                    got: r.len(),
                });
            }
            data.extend_from_slice(r);
        }
        Ok(Self {
            data,
            rows: rows.len(),
            cols,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i`, or an empty slice when out of range.
    pub fn row(&self, i: usize) -> &[f64] {
        let start = i.saturating_mul(self.cols);
        self.data.get(start..start + self.cols).unwrap_or(&[])
    }

    /// Iterates over the rows.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f64]> {
        self.data.chunks_exact(self.cols.max(1)).take(self.rows)
    }

    /// Cell `(i, j)`, NaN when out of range.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        if j >= self.cols {
            return f64::NAN;
        }
        self.data
            .get(i * self.cols + j)
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// The rows at `indices`, in that order (out-of-range indices are skipped).
    #[must_use]
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        let mut rows = 0;
        for &i in indices {
            if i < self.rows {
                data.extend_from_slice(self.row(i));
                rows += 1;
            }
        }
        Self {
            data,
            rows,
            cols: self.cols,
        }
    }

    /// The raw row-major cells.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Index of the first non-finite cell, if any.
    pub fn first_non_finite(&self) -> Option<usize> {
        self.data.iter().position(|v| !v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_shapes() {
        let m = Matrix::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
        assert_eq!((m.rows(), m.cols()), (2, 2));
        assert_eq!(m.row(1), &[3.0, 4.0]);
        assert!(m.row(2).is_empty());
        assert!(m.get(0, 5).is_nan());
        assert_eq!(m.iter_rows().count(), 2);
        assert_eq!(m.select_rows(&[1, 7]).row(0), &[3.0, 4.0]);
        assert!(Matrix::from_rows(&[vec![1.0], vec![1.0, 2.0]]).is_err());
        assert!(Matrix::new(vec![1.0], 2, 2).is_err());
    }
}
