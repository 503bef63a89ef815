//! Model rows from events: the flow features a model reads, kept apart from the labels it is
//! judged by.
//!
//! Flow records carry a [`FeatureRecord`] whose columns follow a layout (`nsl-kdd`,
//! `cic-ids2017`, `unsw-nb15`); the label sits in [`rampart_core::GroundTruth`], never among
//! the features, so no row built here can leak it into a model's input.

use std::collections::BTreeMap;

use rampart_core::{Event, EventId, FeatureRecord, FeatureValue};
use rampart_ml::table::{Column, Table, Value};

use crate::error::{Result, ScoreError};

/// Rows of one feature layout, with their labels and the events they came from.
#[derive(Debug, Clone)]
pub struct LabelledRows {
    /// The layout every row follows.
    pub layout: String,
    /// One row per event, columns in the layout's order.
    pub table: Table,
    /// Per row: `Some(true)` malicious, `Some(false)` benign, `None` unknown or unlabelled.
    pub labels: Vec<Option<bool>>,
    /// Per row: the event it came from.
    pub event_ids: Vec<EventId>,
    /// Events left out, counted by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl LabelledRows {
    /// Builds rows from the events that carry features of `layout`, or of the first layout
    /// seen when `layout` is `None`. Other events are counted in [`Self::skipped`].
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = &'a Event>,
        layout: Option<&str>,
    ) -> Result<Self> {
        let mut builder: Option<Builder> = None;
        let mut skipped = BTreeMap::new();
        let mut skip = |reason: String| *skipped.entry(reason).or_insert(0) += 1;
        for event in events {
            let Some(record) = &event.features else {
                skip("no flow features".to_owned());
                continue;
            };
            if layout.is_some_and(|wanted| wanted != record.layout) {
                skip(format!("layout `{}`", record.layout));
                continue;
            }
            let b = builder.get_or_insert_with(|| Builder::new(record));
            if b.layout != record.layout {
                skip(format!("layout `{}`", record.layout));
                continue;
            }
            b.push(event, record);
        }
        let Some(builder) = builder else {
            return Err(ScoreError::NoRows {
                reason: match layout {
                    Some(l) => format!("no event carries flow features of layout `{l}`"),
                    None => "no event carries flow features (flow CSV layouts: nsl-kdd, cic-ids2017, unsw-nb15)".to_owned(),
                },
            });
        };
        builder.finish(skipped)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Indices of the rows whose label is known.
    pub fn known(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.labels.get(i).copied().flatten().is_some())
            .collect()
    }

    /// The labels of `rows`, unknown ones read as benign (callers pass known rows).
    pub fn labels_of(&self, rows: &[usize]) -> Vec<bool> {
        rows.iter()
            .map(|&i| self.labels.get(i).copied().flatten().unwrap_or(false))
            .collect()
    }
}

/// Columns under construction, typed by the first record of the layout.
struct Builder {
    layout: String,
    names: Vec<String>,
    columns: Vec<Column>,
    labels: Vec<Option<bool>>,
    event_ids: Vec<EventId>,
}

impl Builder {
    fn new(first: &FeatureRecord) -> Self {
        let (names, columns) = first
            .values
            .iter()
            .map(|(name, value)| {
                let column = match value {
                    FeatureValue::Number(_) => Column::Numeric(Vec::new()),
                    FeatureValue::Category(_) => Column::Categorical(Vec::new()),
                };
                (name.clone(), column)
            })
            .unzip();
        Self {
            layout: first.layout.clone(),
            names,
            columns,
            labels: Vec::new(),
            event_ids: Vec::new(),
        }
    }

    fn push(&mut self, event: &Event, record: &FeatureRecord) {
        for (i, (name, column)) in self.names.iter().zip(&mut self.columns).enumerate() {
            let value = lookup(record, i, name);
            // A cell of the wrong kind cannot be encoded: it becomes missing, and the model's
            // contract decides whether a missing cell may be scored.
            match column {
                Column::Numeric(v) => v.push(match value {
                    Some(FeatureValue::Number(x)) => *x,
                    _ => f64::NAN,
                }),
                Column::Categorical(v) => v.push(match value {
                    Some(FeatureValue::Category(s)) => Some(s.clone()),
                    _ => None,
                }),
                Column::Boolean(v) => v.push(None),
            }
        }
        self.labels
            .push(event.ground_truth.as_ref().and_then(|g| g.malicious));
        self.event_ids.push(event.id);
    }

    fn finish(self, skipped: BTreeMap<String, u64>) -> Result<LabelledRows> {
        Ok(LabelledRows {
            layout: self.layout,
            table: Table::new(self.names, self.columns)?,
            labels: self.labels,
            event_ids: self.event_ids,
            skipped,
        })
    }
}

/// The value of column `name`, expected at `position` (records of one layout keep their
/// column order), found by name otherwise.
pub(crate) fn lookup<'a>(
    record: &'a FeatureRecord,
    position: usize,
    name: &str,
) -> Option<&'a FeatureValue> {
    match record.values.get(position) {
        Some((n, v)) if n == name => Some(v),
        _ => record
            .values
            .iter()
            .find_map(|(n, v)| (n == name).then_some(v)),
    }
}

/// The cells of `record` in the order of `columns`, as a model's contract reads them; a
/// column the record lacks is a missing cell.
pub(crate) fn cells<'a>(record: &'a FeatureRecord, columns: &[String]) -> Vec<Value<'a>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, name)| match lookup(record, i, name) {
            Some(FeatureValue::Number(x)) => Value::Number(*x),
            Some(FeatureValue::Category(s)) => Value::Text(s),
            None => Value::Missing,
        })
        .collect()
}
