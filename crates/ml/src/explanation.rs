//! Explanations of one score: a base value plus one additive contribution per
//! feature, summing exactly to the model's raw output.

use serde::{Deserialize, Serialize};

/// What the explained raw output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplainedOutput {
    /// The boosted trees' log-odds margin (before calibration). Positive contributions push toward "threat".
    LogOddsMargin,
    /// The isolation forest's mean path length `E[h(x)]`. Negative contributions make the row more anomalous.
    MeanPathLength,
}

/// One feature's share of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Encoded feature name (e.g. `proto=tcp`).
    pub feature: String,
    /// Input column the feature comes from.
    pub column: String,
    /// The encoded feature value in this row.
    pub value: f64,
    /// Its additive contribution to the raw output.
    pub contribution: f64,
}

/// An exact additive explanation: `base + sum(contributions) == output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Which raw output is explained.
    pub explained: ExplainedOutput,
    /// The output with no feature known (the training expectation).
    pub base: f64,
    /// The raw output for this row.
    pub output: f64,
    /// One entry per encoded feature, largest magnitude first.
    pub contributions: Vec<Contribution>,
}

impl Explanation {
    /// Builds an explanation, sorting contributions by magnitude (ties by name).
    pub fn new(
        explained: ExplainedOutput,
        base: f64,
        output: f64,
        names: &[String],
        columns: &[String],
        values: &[f64],
        phi: &[f64],
    ) -> Self {
        let mut contributions: Vec<Contribution> = phi
            .iter()
            .enumerate()
            .map(|(i, &c)| Contribution {
                feature: names.get(i).cloned().unwrap_or_default(),
                column: columns.get(i).cloned().unwrap_or_default(),
                value: values.get(i).copied().unwrap_or(f64::NAN),
                contribution: c,
            })
            .collect();
        contributions.sort_by(|a, b| {
            b.contribution
                .abs()
                .total_cmp(&a.contribution.abs())
                .then_with(|| a.feature.cmp(&b.feature))
        });
        Self {
            explained,
            base,
            output,
            contributions,
        }
    }

    /// The `k` largest contributions.
    pub fn top(&self, k: usize) -> &[Contribution] {
        self.contributions
            .get(..k.min(self.contributions.len()))
            .unwrap_or(&[])
    }

    /// Contributions summed per input column (one-hot features of a column add
    /// up, which keeps the sum exact), largest magnitude first.
    pub fn by_column(&self) -> Vec<(String, f64)> {
        let mut sums: Vec<(String, f64)> = Vec::new();
        for c in &self.contributions {
            match sums.iter_mut().find(|(name, _)| *name == c.column) {
                Some((_, s)) => *s += c.contribution,
                None => sums.push((c.column.clone(), c.contribution)),
            }
        }
        sums.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(&b.0)));
        sums
    }

    /// `|base + sum(contributions) - output|`: zero up to rounding.
    pub fn additivity_error(&self) -> f64 {
        (self.base
            + self
                .contributions
                .iter()
                .map(|c| c.contribution)
                .sum::<f64>()
            - self.output)
            .abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_groups() {
        let names = ["a=x".to_owned(), "a=y".to_owned(), "b".to_owned()];
        let cols = ["a".to_owned(), "a".to_owned(), "b".to_owned()];
        let e = Explanation::new(
            ExplainedOutput::LogOddsMargin,
            1.0,
            1.5,
            &names,
            &cols,
            &[1.0, 0.0, 3.0],
            &[0.4, -0.2, 0.3],
        );
        assert_eq!(e.top(1)[0].feature, "a=x");
        assert!(e.additivity_error() < 1e-12);
        let by = e.by_column();
        assert_eq!(by[0].0, "b");
        assert!((by[1].1 - 0.2).abs() < 1e-12);
        assert_eq!(e.top(10).len(), 3);
    }
}
