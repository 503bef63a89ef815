//! Raw labelled tables: the input a feature schema is fitted on, before encoding.

use crate::error::{MlError, Result};

/// One raw cell of an input row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A number (NaN and infinities are out of contract and flagged).
    Number(f64),
    /// A category or a number still in text form.
    Text(&'a str),
    /// A boolean.
    Bool(bool),
    /// No value.
    Missing,
}

/// One column of a raw table.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers; NaN marks a missing value.
    Numeric(Vec<f64>),
    /// Categories; `None` marks a missing value.
    Categorical(Vec<Option<String>>),
    /// Booleans; `None` marks a missing value.
    Boolean(Vec<Option<bool>>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Self::Numeric(v) => v.len(),
            Self::Categorical(v) => v.len(),
            Self::Boolean(v) => v.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell at row `i` (missing when out of range).
    pub fn value(&self, i: usize) -> Value<'_> {
        match self {
            Self::Numeric(v) => v.get(i).map_or(Value::Missing, |&x| {
                if x.is_nan() {
                    Value::Missing
                } else {
                    Value::Number(x)
                }
            }),
            Self::Categorical(v) => v
                .get(i)
                .and_then(Option::as_deref)
                .map_or(Value::Missing, Value::Text),
            Self::Boolean(v) => v
                .get(i)
                .copied()
                .flatten()
                .map_or(Value::Missing, Value::Bool),
        }
    }

    fn select(&self, rows: &[usize]) -> Self {
        match self {
            Self::Numeric(v) => {
                Self::Numeric(rows.iter().filter_map(|&i| v.get(i).copied()).collect())
            }
            Self::Categorical(v) => {
                Self::Categorical(rows.iter().filter_map(|&i| v.get(i).cloned()).collect())
            }
            Self::Boolean(v) => {
                Self::Boolean(rows.iter().filter_map(|&i| v.get(i).copied()).collect())
            }
        }
    }
}

/// Strings read as a missing value by [`Table::from_text`].
pub const MISSING_MARKERS: [&str; 6] = ["", "-", "?", "NA", "NaN", "(empty)"];

/// Named columns of equal length.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
}

impl Table {
    /// A table from named columns; names must be unique and lengths equal.
    pub fn new(names: Vec<String>, columns: Vec<Column>) -> Result<Self> {
        if names.len() != columns.len() {
            return Err(MlError::LengthMismatch {
                what: "column names",
                expected: columns.len(),
                got: names.len(),
            });
        }
        let rows = columns.first().map_or(0, Column::len);
        for (name, c) in names.iter().zip(&columns) {
            if c.len() != rows {
                return Err(MlError::Schema {
                    reason: format!("column `{name}` has `{}` rows, expected `{rows}`", c.len()),
                });
            }
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(MlError::Schema {
                reason: format!("column `{dup}` appears twice"),
            });
        }
        Ok(Self {
            names,
            columns,
            rows,
        })
    }

    /// A table from text cells, inferring each column's kind: boolean when every
    /// present value is `true`/`false`/`T`/`F`, numeric when every present value
    /// parses as a number, categorical otherwise (or when listed in `categorical`).
    /// Cells in [`MISSING_MARKERS`] are missing.
    pub fn from_text<R: AsRef<[S]>, S: AsRef<str>>(
        header: &[&str],
        rows: &[R],
        categorical: &[&str],
    ) -> Result<Self> {
        let width = header.len();
        if let Some((i, r)) = rows
            .iter()
            .enumerate()
            .find(|(_, r)| r.as_ref().len() != width)
        {
            return Err(MlError::Schema {
                reason: format!(
                    "row `{i}` has `{}` cells, the header has `{width}`",
                    r.as_ref().len()
                ),
            });
        }
        let mut columns = Vec::with_capacity(width);
        for (j, name) in header.iter().enumerate() {
            let present = || rows.iter().filter_map(|r| cell(r, j));
            let forced = categorical.contains(name);
            let column = if !forced
                && present().all(|s| parse_bool(s).is_some())
                && present().next().is_some()
            {
                Column::Boolean(
                    rows.iter()
                        .map(|r| cell(r, j).and_then(parse_bool))
                        .collect(),
                )
            } else if !forced && present().all(|s| s.parse::<f64>().is_ok()) {
                Column::Numeric(
                    rows.iter()
                        .map(|r| cell(r, j).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN))
                        .collect(),
                )
            } else {
                Column::Categorical(rows.iter().map(|r| cell(r, j).map(str::to_owned)).collect())
            };
            columns.push(column);
        }
        Self::new(header.iter().map(|s| (*s).to_owned()).collect(), columns)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        let i = self.names.iter().position(|n| n == name)?;
        self.columns.get(i)
    }

    /// Removes the column called `name` and returns it.
    pub fn remove(&mut self, name: &str) -> Result<Column> {
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| MlError::Schema {
                reason: format!("no column `{name}`"),
            })?;
        self.names.remove(i);
        Ok(self.columns.remove(i))
    }

    /// Row `i` as cells, in column order.
    pub fn row(&self, i: usize) -> Vec<Value<'_>> {
        self.columns.iter().map(|c| c.value(i)).collect()
    }

    /// The rows at `indices`, in that order.
    #[must_use]
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let indices: Vec<usize> = indices.iter().copied().filter(|&i| i < self.rows).collect();
        Self {
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| c.select(&indices)).collect(),
            rows: indices.len(),
        }
    }

    /// Binary labels from column `name`: values in `negative` are `Some(false)`,
    /// values in `ignore` (e.g. unknown background traffic) are `None`, anything
    /// else is `Some(true)`. Missing labels are `None`.
    pub fn binary_labels(
        &self,
        name: &str,
        negative: &[&str],
        ignore: &[&str],
    ) -> Result<Vec<Option<bool>>> {
        let column = self.column(name).ok_or_else(|| MlError::Schema {
            reason: format!("no label column `{name}`"),
        })?;
        Ok((0..self.rows)
            .map(|i| match column.value(i) {
                Value::Missing => None,
                Value::Bool(b) => Some(b),
                Value::Number(x) => Some(x != 0.0),
                Value::Text(s) if ignore.contains(&s) => None,
                Value::Text(s) => Some(!negative.contains(&s)),
            })
            .collect())
    }
}

/// The trimmed text of cell `j`, or `None` when it is missing.
fn cell<'a, R: AsRef<[S]>, S: AsRef<str> + 'a>(r: &'a R, j: usize) -> Option<&'a str> {
    let s = r.as_ref().get(j)?.as_ref().trim();
    (!MISSING_MARKERS.contains(&s)).then_some(s)
}

/// Reads `true`/`false`/`T`/`F` (any case).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "t" => Some(true),
        "false" | "f" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_kinds_and_missing_cells() {
        let rows = vec![
            vec!["1.5", "tcp", "T", "normal"],
            vec!["-", "udp", "F", "attack"],
            vec!["3", "tcp", "-", "bg"],
        ];
        let t = Table::from_text(&["dur", "proto", "local", "label"], &rows, &[]).unwrap();
        assert!(matches!(t.column("dur"), Some(Column::Numeric(_))));
        assert!(matches!(t.column("proto"), Some(Column::Categorical(_))));
        assert!(matches!(t.column("local"), Some(Column::Boolean(_))));
        assert_eq!(t.row(1)[0], Value::Missing);
        assert_eq!(t.row(2)[2], Value::Missing);
        let labels = t.binary_labels("label", &["normal"], &["bg"]).unwrap();
        assert_eq!(labels, vec![Some(false), Some(true), None]);
        assert_eq!(t.select_rows(&[2, 0]).row(0)[1], Value::Text("tcp"));
    }

    #[test]
    fn rejects_ragged_rows_and_duplicate_names() {
        assert!(Table::from_text(&["a", "b"], &[vec!["1"]], &[]).is_err());
        assert!(
            Table::new(
                vec!["a".into(), "a".into()],
                vec![Column::Numeric(vec![]), Column::Numeric(vec![])]
            )
            .is_err()
        );
    }
}
