//! The feature schema: how raw columns become model features, and the input
//! contract every row is checked against before it is scored.
//!
//! A schema is fitted on a training table and travels inside the model file.
//! At scoring time [`FeatureSchema::check`] encodes a row and lists every way
//! it leaves the contract (wrong column count or type, NaN or infinity, a
//! missing value, a number outside the range seen in training, an unseen
//! category). Each issue says whether it blocks scoring; a blocked row gets no
//! features, so it is flagged with a reason and never silently scored.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::matrix::Matrix;
use crate::table::{Column, Table, Value, parse_bool};

/// Transform applied to a numeric value after clipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumericTransform {
    /// Unchanged.
    Identity,
    /// `ln(1 + x)`, for non-negative heavy-tailed counts and volumes.
    Log1p,
}

/// How a categorical column becomes features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoricalEncoding {
    /// One 0/1 feature per known category, plus one for "other".
    OneHot,
    /// One feature holding the category's index ("other" is the last index).
    Ordinal,
}

/// What a missing (or NaN / infinite) value does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    /// Flag it and score with the imputed value.
    Impute,
    /// Flag it and do not score the row.
    Reject,
}

/// A column's kind and its learnt parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnKind {
    /// A number.
    Numeric {
        /// Transform after clipping.
        transform: NumericTransform,
        /// Optional clipping bounds, applied before the transform.
        clip: Option<[f64; 2]>,
        /// Smallest value seen in training.
        seen_min: f64,
        /// Largest value seen in training.
        seen_max: f64,
        /// Raw value used for a missing cell (the training median).
        impute: f64,
    },
    /// A category from a known set.
    Categorical {
        /// Encoding.
        encoding: CategoricalEncoding,
        /// Known categories, most frequent first.
        #[serde(deserialize_with = "crate::model_file::bounded_items")]
        categories: Vec<String>,
        /// Whether unseen categories go to an "other" bucket (else they block scoring).
        other_bucket: bool,
    },
    /// `true`/`false`, encoded as 1/0.
    Boolean,
}

/// One input column of the contract.
///
/// Unknown fields are rejected by [`ColumnKind`], which receives every field
/// but `name` and `missing` (serde cannot deny unknown fields through `flatten`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Column name in the input.
    pub name: String,
    /// Kind and learnt parameters.
    #[serde(flatten)]
    pub kind: ColumnKind,
    /// What a missing value does.
    pub missing: MissingPolicy,
}

/// Options for [`FeatureSchema::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaOptions {
    /// Numeric columns that get `log1p` (ignored for columns with negative values).
    pub log1p: Vec<String>,
    /// Apply `log1p` to every non-negative numeric column.
    pub log1p_all_nonnegative: bool,
    /// Clip numeric columns to the training range before transforming.
    pub clip_to_seen_range: bool,
    /// Encoding of categorical columns.
    pub encoding: CategoricalEncoding,
    /// Most categories kept per column; rarer ones fall into "other".
    pub max_categories: usize,
    /// Categories seen fewer times than this fall into "other".
    pub min_category_count: usize,
    /// Policy for missing values.
    pub missing: MissingPolicy,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        Self {
            log1p: Vec::new(),
            log1p_all_nonnegative: false,
            clip_to_seen_range: false,
            encoding: CategoricalEncoding::OneHot,
            max_categories: 64,
            min_category_count: 1,
            missing: MissingPolicy::Impute,
        }
    }
}

/// The ordered input columns of a model and how they are encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSchema {
    /// Input columns, in the order rows must present them.
    #[serde(deserialize_with = "crate::model_file::bounded_items")]
    pub columns: Vec<ColumnSpec>,
}

/// Why a row (or one of its cells) is out of contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum IssueKind {
    /// The row does not have one cell per schema column.
    WrongColumnCount {
        /// Columns in the schema.
        expected: usize,
        /// Cells in the row.
        got: usize,
    },
    /// The cell's type does not fit the column.
    WrongType {
        /// What the column holds.
        expected: String,
        /// What the cell was, printed.
        got: String,
    },
    /// NaN or an infinity.
    NotFinite,
    /// No value.
    Missing,
    /// A number outside the training range.
    OutOfRange {
        /// The value.
        value: f64,
        /// Training minimum.
        min: f64,
        /// Training maximum.
        max: f64,
    },
    /// A category never seen in training.
    UnseenCategory {
        /// The category.
        value: String,
    },
}

/// One contract violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractIssue {
    /// Column name (empty for row-level issues).
    pub column: String,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: IssueKind,
    /// Whether this issue alone stops the row from being scored.
    pub blocks_scoring: bool,
}

/// The outcome of checking one row against the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRow {
    /// Encoded features, or `None` when an issue blocks scoring.
    pub features: Option<Vec<f64>>,
    /// Every issue found, blocking or not.
    pub issues: Vec<ContractIssue>,
}

impl FeatureSchema {
    /// Learns ranges, medians and category sets from every column of `table`.
    pub fn fit(table: &Table, options: &SchemaOptions) -> Result<Self> {
        if table.rows() == 0 {
            return Err(MlError::EmptyTrainingSet {
                what: "feature schema",
            });
        }
        let mut columns = Vec::with_capacity(table.names().len());
        for name in table.names() {
            let Some(column) = table.column(name) else {
                continue;
            };
            let kind = match column {
                Column::Numeric(values) => fit_numeric(name, values, options),
                Column::Categorical(values) => fit_categorical(values, options),
                Column::Boolean(_) => ColumnKind::Boolean,
            };
            columns.push(ColumnSpec {
                name: name.clone(),
                kind,
                missing: options.missing,
            });
        }
        Ok(Self { columns })
    }

    /// Number of input columns.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// Names of the encoded features, in order (`col=cat` for one-hot features).
    pub fn feature_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.columns {
            match &c.kind {
                ColumnKind::Categorical {
                    encoding: CategoricalEncoding::OneHot,
                    categories,
                    ..
                } => {
                    out.extend(categories.iter().map(|k| format!("{}={k}", c.name)));
                    out.push(format!("{}=<other>", c.name));
                }
                _ => out.push(c.name.clone()),
            }
        }
        out
    }

    /// Number of encoded features.
    pub fn n_features(&self) -> usize {
        self.columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Categorical {
                    encoding: CategoricalEncoding::OneHot,
                    categories,
                    ..
                } => categories.len() + 1,
                _ => 1,
            })
            .sum()
    }

    /// For each encoded feature, the index of the input column it comes from.
    pub fn feature_columns(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            let width = match &c.kind {
                ColumnKind::Categorical {
                    encoding: CategoricalEncoding::OneHot,
                    categories,
                    ..
                } => categories.len() + 1,
                _ => 1,
            };
            out.extend(std::iter::repeat_n(i, width));
        }
        out
    }

    /// Checks one row (cells in schema column order) and encodes it when the contract allows.
    pub fn check(&self, row: &[Value<'_>]) -> CheckedRow {
        let mut issues = Vec::new();
        if row.len() != self.columns.len() {
            issues.push(ContractIssue {
                column: String::new(),
                kind: IssueKind::WrongColumnCount {
                    expected: self.columns.len(),
                    got: row.len(),
                },
                blocks_scoring: true,
            });
            return CheckedRow {
                features: None,
                issues,
            };
        }
        let mut features = Vec::with_capacity(self.n_features());
        for (spec, value) in self.columns.iter().zip(row) {
            encode_cell(spec, *value, &mut features, &mut issues);
        }
        let blocked = issues.iter().any(|i| i.blocks_scoring);
        CheckedRow {
            features: (!blocked).then_some(features),
            issues,
        }
    }

    /// Encodes a whole table whose columns include every schema column (by name,
    /// any order); returns the matrix and, per row, the issues found. Rows whose
    /// issues block scoring are encoded with imputed values so the matrix stays
    /// rectangular; callers drop them using the returned flags.
    pub fn encode_table(&self, table: &Table) -> Result<(Matrix, Vec<Vec<ContractIssue>>)> {
        let columns: Vec<&Column> = self
            .columns
            .iter()
            .map(|c| {
                table.column(&c.name).ok_or_else(|| MlError::Schema {
                    reason: format!("input table has no column `{}`", c.name),
                })
            })
            .collect::<Result<_>>()?;
        let width = self.n_features();
        let mut data = Vec::with_capacity(table.rows() * width);
        let mut all_issues = Vec::with_capacity(table.rows());
        let mut row = Vec::with_capacity(columns.len());
        for i in 0..table.rows() {
            row.clear();
            row.extend(columns.iter().map(|c| c.value(i)));
            let mut issues = Vec::new();
            let start = data.len();
            for (spec, value) in self.columns.iter().zip(&row) {
                encode_cell(spec, *value, &mut data, &mut issues);
            }
            // INVARIANT: every cell writes exactly its width, so rows stay aligned.
            debug_assert_eq!(data.len() - start, width);
            all_issues.push(issues);
        }
        Ok((Matrix::new(data, table.rows(), width)?, all_issues))
    }
}

fn fit_numeric(name: &str, values: &[f64], options: &SchemaOptions) -> ColumnKind {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    let seen_min = finite.first().copied().unwrap_or(0.0);
    let seen_max = finite.last().copied().unwrap_or(0.0);
    let impute = finite.get(finite.len() / 2).copied().unwrap_or(0.0);
    let wants_log = options.log1p_all_nonnegative || options.log1p.iter().any(|n| n == name);
    ColumnKind::Numeric {
        transform: if wants_log && seen_min >= 0.0 {
            NumericTransform::Log1p
        } else {
            NumericTransform::Identity
        },
        clip: options.clip_to_seen_range.then_some([seen_min, seen_max]),
        seen_min,
        seen_max,
        impute,
    }
}

fn fit_categorical(values: &[Option<String>], options: &SchemaOptions) -> ColumnKind {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for v in values.iter().flatten() {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    // Most frequent first; ties by name so the schema is deterministic.
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let categories = ranked
        .into_iter()
        .filter(|&(_, c)| c >= options.min_category_count)
        .take(options.max_categories)
        .map(|(k, _)| k.to_owned())
        .collect();
    ColumnKind::Categorical {
        encoding: options.encoding,
        categories,
        other_bucket: true,
    }
}

fn issue(spec: &ColumnSpec, kind: IssueKind, blocks_scoring: bool) -> ContractIssue {
    ContractIssue {
        column: spec.name.clone(),
        kind,
        blocks_scoring,
    }
}

fn describe(value: Value<'_>) -> String {
    match value {
        Value::Number(x) => format!("number {x}"),
        Value::Text(s) => format!("text {s:?}"),
        Value::Bool(b) => format!("bool {b}"),
        Value::Missing => "missing".into(),
    }
}

/// Appends the cell's encoded features (always its full width) and its issues.
fn encode_cell(
    spec: &ColumnSpec,
    value: Value<'_>,
    out: &mut Vec<f64>,
    issues: &mut Vec<ContractIssue>,
) {
    match &spec.kind {
        ColumnKind::Numeric {
            transform,
            clip,
            seen_min,
            seen_max,
            impute,
        } => {
            let x = numeric_value(spec, value, [*seen_min, *seen_max], *impute, issues);
            let x = clip.map_or(x, |[lo, hi]| x.clamp(lo.min(hi), hi.max(lo)));
            out.push(match transform {
                NumericTransform::Identity => x,
                // A value below 0 has no meaningful log1p here; the range check already flagged it.
                NumericTransform::Log1p => x.max(0.0).ln_1p(),
            });
        }
        ColumnKind::Categorical {
            encoding,
            categories,
            other_bucket,
        } => {
            let slot = category_slot(spec, value, categories, *other_bucket, issues);
            match encoding {
                CategoricalEncoding::OneHot => {
                    out.extend((0..=categories.len()).map(|k| if k == slot { 1.0 } else { 0.0 }));
                }
                CategoricalEncoding::Ordinal => out.push(slot as f64),
            }
        }
        ColumnKind::Boolean => {
            let reject = spec.missing == MissingPolicy::Reject;
            let b = match value {
                Value::Bool(b) => Some(b),
                Value::Number(x) if x.abs().total_cmp(&0.0).is_eq() => Some(false),
                Value::Number(x) if x.total_cmp(&1.0).is_eq() => Some(true),
                Value::Text(s) if parse_bool(s).is_some() => parse_bool(s),
                Value::Missing => {
                    issues.push(issue(spec, IssueKind::Missing, reject));
                    None
                }
                _ => {
                    issues.push(wrong_type(spec, "boolean", value));
                    None
                }
            };
            out.push(if b.unwrap_or(false) { 1.0 } else { 0.0 });
        }
    }
}

fn wrong_type(spec: &ColumnSpec, expected: &str, value: Value<'_>) -> ContractIssue {
    issue(
        spec,
        IssueKind::WrongType {
            expected: expected.into(),
            got: describe(value),
        },
        true,
    )
}

/// The raw number of a numeric cell (imputed when missing or not finite), with its issues.
fn numeric_value(
    spec: &ColumnSpec,
    value: Value<'_>,
    [seen_min, seen_max]: [f64; 2],
    impute: f64,
    issues: &mut Vec<ContractIssue>,
) -> f64 {
    let reject = spec.missing == MissingPolicy::Reject;
    let raw = match value {
        Value::Number(x) => Some(x),
        Value::Text(s) => s.trim().parse::<f64>().ok().or_else(|| {
            issues.push(wrong_type(spec, "number", value));
            None
        }),
        Value::Bool(_) => {
            issues.push(wrong_type(spec, "number", value));
            None
        }
        Value::Missing => {
            issues.push(issue(spec, IssueKind::Missing, reject));
            None
        }
    };
    match raw {
        Some(x) if !x.is_finite() => {
            issues.push(issue(spec, IssueKind::NotFinite, reject));
            impute
        }
        Some(x) => {
            if x < seen_min || x > seen_max {
                issues.push(issue(
                    spec,
                    IssueKind::OutOfRange {
                        value: x,
                        min: seen_min,
                        max: seen_max,
                    },
                    false,
                ));
            }
            x
        }
        None => impute,
    }
}

/// The index of a categorical cell's category ("other" = `categories.len()`), with its issues.
fn category_slot(
    spec: &ColumnSpec,
    value: Value<'_>,
    categories: &[String],
    other_bucket: bool,
    issues: &mut Vec<ContractIssue>,
) -> usize {
    let reject = spec.missing == MissingPolicy::Reject;
    let index = match value {
        Value::Text(s) => categories.iter().position(|c| c == s).or_else(|| {
            issues.push(issue(
                spec,
                IssueKind::UnseenCategory {
                    value: s.to_owned(),
                },
                !other_bucket,
            ));
            None
        }),
        Value::Missing => {
            issues.push(issue(spec, IssueKind::Missing, reject));
            None
        }
        Value::Number(_) | Value::Bool(_) => {
            issues.push(wrong_type(spec, "category", value));
            None
        }
    };
    index.unwrap_or(categories.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table() -> Table {
        let rows = vec![
            vec!["10", "tcp", "T"],
            vec!["200", "udp", "F"],
            vec!["3000", "tcp", "T"],
            vec!["-", "icmp", "F"],
        ];
        Table::from_text(&["bytes", "proto", "local"], &rows, &[]).unwrap()
    }

    #[test]
    fn fits_and_encodes_one_hot_with_log1p() {
        let opts = SchemaOptions {
            log1p: vec!["bytes".into()],
            ..Default::default()
        };
        let s = FeatureSchema::fit(&table(), &opts).unwrap();
        assert_eq!(
            s.feature_names(),
            vec![
                "bytes",
                "proto=tcp",
                "proto=icmp",
                "proto=udp",
                "proto=<other>",
                "local"
            ]
        );
        let c = s.check(&[Value::Number(10.0), Value::Text("udp"), Value::Bool(true)]);
        assert!(c.issues.is_empty());
        let f = c.features.unwrap();
        assert!((f[0] - 11f64.ln()).abs() < 1e-12);
        assert_eq!(&f[1..], &[0.0, 0.0, 1.0, 0.0, 1.0]);
        let (m, issues) = s.encode_table(&table()).unwrap();
        assert_eq!((m.rows(), m.cols()), (4, 6));
        assert_eq!(issues[3].len(), 1);
        assert_eq!(s.feature_columns(), vec![0, 1, 1, 1, 1, 2]);
    }

    #[test]
    fn out_of_contract_cells_are_flagged() {
        let s = FeatureSchema::fit(&table(), &SchemaOptions::default()).unwrap();
        let c = s.check(&[Value::Number(1e9), Value::Text("gre"), Value::Bool(false)]);
        assert!(
            c.features.is_some(),
            "range and unseen category do not block"
        );
        assert_eq!(c.issues.len(), 2);
        let c = s.check(&[
            Value::Number(f64::NAN),
            Value::Text("tcp"),
            Value::Bool(false),
        ]);
        assert!(matches!(c.issues[0].kind, IssueKind::NotFinite));
        assert!(c.features.is_some());
        let c = s.check(&[Value::Text("abc"), Value::Text("tcp"), Value::Bool(false)]);
        assert!(c.features.is_none());
        let c = s.check(&[Value::Number(1.0)]);
        assert!(matches!(
            c.issues[0].kind,
            IssueKind::WrongColumnCount {
                expected: 3,
                got: 1
            }
        ));
        let strict = FeatureSchema::fit(
            &table(),
            &SchemaOptions {
                missing: MissingPolicy::Reject,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            strict
                .check(&[Value::Missing, Value::Text("tcp"), Value::Bool(false)])
                .features
                .is_none()
        );
    }

    proptest! {
        #[test]
        fn any_row_checks_without_panicking(cells in proptest::collection::vec(
            prop_oneof![
                any::<f64>().prop_map(Some),
                Just(None),
            ], 0..6), texts in proptest::collection::vec(".{0,8}", 0..6)) {
            let s = FeatureSchema::fit(&table(), &SchemaOptions::default()).unwrap();
            let mut row: Vec<Value<'_>> = cells.iter().map(|c| c.map_or(Value::Missing, Value::Number)).collect();
            row.extend(texts.iter().map(|t| Value::Text(t)));
            row.truncate(4);
            let c = s.check(&row);
            if let Some(f) = c.features {
                prop_assert_eq!(f.len(), s.n_features());
                prop_assert!(f.iter().all(|v| v.is_finite()));
            } else {
                prop_assert!(c.issues.iter().any(|i| i.blocks_scoring));
            }
        }
    }
}
