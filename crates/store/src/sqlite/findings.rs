//! Alerts, incidents and decisions: JSON bodies with a few indexed columns, keyed by id.
//!
//! Their ids are content-derived, so storing the same finding again is a no-op (or, for
//! alerts and incidents whose body changed, a replacement): re-runs never duplicate them.

use rampart_core::{Alert, Decision, Explanation, Incident, IncidentId, Level};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension as _, Row, TransactionBehavior, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec::{nanos, read_json};
use super::reads::page;
use super::row::Columns;
use super::sql::SqlResult as _;
use crate::{Listing, Page, PutOutcome, StoreError};

/// How a table of findings is laid out and what storing one again means.
pub(super) struct Table {
    /// Table name (a constant, never input).
    name: &'static str,
    /// Indexed columns besides `id` and `body`, in the order `columns` returns their values.
    columns: &'static [&'static str],
    /// Whether a changed body replaces the stored one (alerts, incidents) or is ignored
    /// because the first record stands (decisions).
    replace: bool,
    /// Named in errors.
    what: &'static str,
}

pub(super) const ALERTS: Table = Table {
    name: "alerts",
    columns: &["rule_id", "level", "first_seen"],
    replace: true,
    what: "alert",
};

pub(super) const INCIDENTS: Table = Table {
    name: "incidents",
    columns: &["score", "first_seen"],
    replace: true,
    what: "incident",
};

pub(super) const DECISIONS: Table = Table {
    name: "decisions",
    columns: &["incident", "decided_at"],
    replace: false,
    what: "decision",
};

/// The stable code of an alert level.
const fn level_code(level: Level) -> i64 {
    match level {
        Level::Informational => 0,
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
        Level::Critical => 4,
    }
}

/// JSON has no NaN or infinity: a non-finite score would come back as `null` or not at all.
fn finite(value: f64, what: &'static str, field: &str) -> Result<(), StoreError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(StoreError::Encode {
            what,
            reason: format!("`{field}` is `{value}`; only finite numbers can be stored"),
        })
    }
}

fn finite_explanation(explanation: &Explanation) -> Result<(), StoreError> {
    finite(explanation.base_value, "alert", "explanation.base_value")?;
    finite(explanation.raw_output, "alert", "explanation.raw_output")?;
    for contribution in &explanation.contributions {
        finite(
            contribution.contribution,
            "alert",
            "explanation.contributions",
        )?;
    }
    Ok(())
}

/// The id and indexed column values of an alert.
pub(super) fn alert_row(alert: &Alert) -> Result<([u8; 16], Vec<Value>), StoreError> {
    if let Some(score) = alert.score {
        finite(score, "alert", "score")?;
    }
    if let Some(explanation) = &alert.explanation {
        finite_explanation(explanation)?;
    }
    Ok((
        *alert.id.as_bytes(),
        vec![
            Value::Text(alert.rule_id.clone()),
            Value::Integer(level_code(alert.level)),
            alert
                .first_seen
                .and_then(nanos)
                .map_or(Value::Null, Value::Integer),
        ],
    ))
}

/// The id and indexed column values of an incident.
pub(super) fn incident_row(incident: &Incident) -> Result<([u8; 16], Vec<Value>), StoreError> {
    finite(incident.score, "incident", "score")?;
    Ok((
        *incident.id.as_bytes(),
        vec![
            Value::Real(incident.score),
            incident
                .first_seen
                .and_then(nanos)
                .map_or(Value::Null, Value::Integer),
        ],
    ))
}

/// The id and indexed column values of a decision.
pub(super) fn decision_row(decision: &Decision) -> Result<([u8; 16], Vec<Value>), StoreError> {
    Ok((
        *decision.id.as_bytes(),
        vec![
            Value::Blob(decision.incident_id.as_bytes().to_vec()),
            Value::Integer(super::codec::exact_nanos(
                decision.decided_at,
                "decision time",
            )?),
        ],
    ))
}

/// Stores `records` in one transaction, by id.
pub(super) fn put<T: Serialize>(
    conn: &mut Connection,
    table: &Table,
    records: &[T],
    row: impl Fn(&T) -> Result<([u8; 16], Vec<Value>), StoreError>,
) -> Result<PutOutcome, StoreError> {
    let Table {
        name,
        columns,
        replace,
        what,
    } = *table;
    let placeholders = vec!["?"; columns.len() + 2].join(", ");
    let insert = format!(
        "INSERT INTO {name} (id, {}, body) VALUES ({placeholders})",
        columns.join(", ")
    );
    let assignments: Vec<String> = columns.iter().map(|c| format!("{c} = ?")).collect();
    let update = format!(
        "UPDATE {name} SET {}, body = ? WHERE id = ?",
        assignments.join(", ")
    );
    let select = format!("SELECT body FROM {name} WHERE id = ?1");

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .sql("begin findings")?;
    let mut outcome = PutOutcome::default();
    for record in records {
        let (id, mut values) = row(record)?;
        let body = serde_json::to_string(record).map_err(|error| StoreError::Encode {
            what,
            reason: error.to_string(),
        })?;
        let stored: Option<String> = tx
            .prepare_cached(&select)
            .sql("prepare finding lookup")?
            .query_row([id], |row| row.get(0))
            .optional()
            .sql("look up finding")?;
        match stored {
            None => {
                let mut params = vec![Value::Blob(id.to_vec())];
                params.append(&mut values);
                params.push(Value::Text(body));
                tx.prepare_cached(&insert)
                    .sql("prepare finding insert")?
                    .execute(params_from_iter(params))
                    .sql("insert finding")?;
                outcome.inserted += 1;
            }
            Some(stored) if stored == body || !replace => outcome.unchanged += 1,
            Some(_) => {
                values.push(Value::Text(body));
                values.push(Value::Blob(id.to_vec()));
                tx.prepare_cached(&update)
                    .sql("prepare finding update")?
                    .execute(params_from_iter(values))
                    .sql("update finding")?;
                outcome.updated += 1;
            }
        }
    }
    tx.commit().sql("commit findings")?;
    Ok(outcome)
}

fn decode<T: DeserializeOwned>(row: &Row<'_>, what: &'static str) -> Result<T, StoreError> {
    read_json(Columns::new(row, what).bytes(1)?, what)
}

/// One finding by id.
pub(super) fn one<T: DeserializeOwned>(
    conn: &Connection,
    table: &Table,
    id: &[u8; 16],
) -> Result<Option<T>, StoreError> {
    let sql = format!("SELECT seq, body FROM {} WHERE id = ?1", table.name);
    let mut statement = conn.prepare_cached(&sql).sql("prepare finding query")?;
    let mut rows = statement.query([id]).sql("query finding")?;
    rows.next()
        .sql("read finding")?
        .map(|row| decode(row, table.what))
        .transpose()
}

/// One page of findings in storage order, optionally only those about one incident.
pub(super) fn list<T: DeserializeOwned>(
    conn: &Connection,
    table: &Table,
    incident: Option<IncidentId>,
    page_spec: Page,
) -> Result<Listing<T>, StoreError> {
    let (filter, params) = match incident {
        Some(incident) => (
            "incident = ? AND ",
            vec![Value::Blob(incident.as_bytes().to_vec())],
        ),
        None => ("", Vec::new()),
    };
    let sql = format!(
        "SELECT seq, body FROM {} WHERE {filter}seq > ? ORDER BY seq LIMIT ?",
        table.name
    );
    page(conn, &sql, params, page_spec, |row| decode(row, table.what))
}
