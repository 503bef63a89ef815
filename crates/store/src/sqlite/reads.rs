//! Reading ingested records back: events, intel objects and dead letters, one page at a time.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, Utc};
use rampart_core::{DeadLetter, Event, EventId, Format, IntelObject, RunId};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use super::codec::{format_code, format_from_code, nanos, read_features, read_json, u64_from_sql};
use super::id_index::BY_ID;
use super::row::{Columns, PROVENANCE_COLUMNS};
use super::sql::SqlResult as _;
use crate::{Cursor, EventQuery, FieldProtector, Listing, Page, StoreError};

/// Runs a paged query whose last two parameters are the cursor and the row limit, and whose
/// first column is the sequence number the cursor refers to.
pub(super) fn page<T>(
    conn: &Connection,
    sql: &str,
    mut params: Vec<Value>,
    page: Page,
    decode: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Listing<T>, StoreError> {
    let limit = page.clamped_limit();
    params.push(Value::Integer(seq_param(page.after)));
    // One row more than asked tells whether another page follows.
    params.push(Value::Integer(
        i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1),
    ));
    run_page(conn, sql, params, limit, decode)
}

/// Runs a listing query with all its parameters bound; its first column is the sequence
/// number, and it returns at most `limit + 1` rows.
fn run_page<T>(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
    limit: usize,
    mut decode: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Listing<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).sql("prepare listing")?;
    let mut rows = statement
        .query(params_from_iter(params))
        .sql("query listing")?;
    let mut items = Vec::with_capacity(limit.min(1024));
    let mut last = None;
    while let Some(row) = rows.next().sql("read listing")? {
        if items.len() == limit {
            return Ok(Listing {
                items,
                next: last.map(Cursor::from_seq),
            });
        }
        last = Some(Columns::new(row, "listing").seq(0)?);
        items.push(decode(row)?);
    }
    Ok(Listing { items, next: None })
}

const EVENT_SELECT: &str = "SELECT t.seq, t.id, ";
const EVENT_TAIL: &str = ", t.ecs, t.attributes, t.features, t.ground_truth, t.raw FROM events t";

fn decode_event(row: &Row<'_>, protector: &dyn FieldProtector) -> Result<Event, StoreError> {
    let columns = Columns::new(row, "event");
    let event = Event {
        id: columns.id(1)?,
        provenance: columns.provenance(2)?,
        ecs: read_json(columns.bytes(9)?, "event ECS fields")?,
        attributes: columns
            .opt_bytes(10)?
            .map(|json| read_json(json, "event attributes"))
            .transpose()?
            .unwrap_or_default(),
        features: columns.opt_bytes(11)?.map(read_features).transpose()?,
        ground_truth: columns
            .opt_bytes(12)?
            .map(|json| read_json(json, "event ground truth"))
            .transpose()?,
        raw: columns.text(13)?,
    };
    protector.reveal_event(event)
}

pub(super) fn event(
    conn: &Connection,
    protector: &dyn FieldProtector,
    id: EventId,
) -> Result<Option<Event>, StoreError> {
    let sql = format!("{EVENT_SELECT}{PROVENANCE_COLUMNS}{EVENT_TAIL} WHERE {BY_ID}");
    let mut statement = conn.prepare_cached(&sql).sql("prepare event query")?;
    let mut rows = statement.query([id.as_bytes()]).sql("query event")?;
    rows.next()
        .sql("read event")?
        .map(|row| decode_event(row, protector))
        .transpose()
}

/// A query time in nanoseconds, clamped to the range the `event_time` column can hold.
fn bound(time: DateTime<Utc>) -> i64 {
    nanos(time).unwrap_or(if time.year() < 1970 {
        i64::MIN
    } else {
        i64::MAX
    })
}

pub(super) fn events(
    conn: &Connection,
    protector: &dyn FieldProtector,
    query: &EventQuery,
) -> Result<Listing<Event>, StoreError> {
    let mut time = String::new();
    let mut time_params = Vec::new();
    if let Some(since) = query.since {
        time.push_str(" AND t.event_time >= ?");
        time_params.push(Value::Integer(bound(since)));
    }
    if let Some(until) = query.until {
        time.push_str(" AND t.event_time < ?");
        time_params.push(Value::Integer(bound(until)));
    }
    if query.run.is_none() && query.format.is_none() {
        let sql = format!(
            "{EVENT_SELECT}{PROVENANCE_COLUMNS}{EVENT_TAIL} WHERE t.seq > ?{time} ORDER BY t.seq LIMIT ?"
        );
        let limit = query.page.clamped_limit();
        let params = std::iter::once(Value::Integer(seq_param(query.page.after)))
            .chain(time_params)
            .chain(std::iter::once(Value::Integer(
                i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1),
            )))
            .collect();
        return run_page(conn, &sql, params, limit, |row| {
            decode_event(row, protector)
        });
    }

    // By run or format: walk the spans that record which run stored which events in which
    // format, and read each span's events by sequence range.
    let mut span_filter = String::new();
    let mut span_params = vec![Value::Integer(seq_param(query.page.after))];
    if let Some(run) = query.run {
        span_filter.push_str(" AND run = (SELECT seq FROM runs WHERE id = ?)");
        span_params.push(Value::Blob(run.as_bytes().to_vec()));
    }
    if let Some(format) = query.format {
        span_filter.push_str(" AND format = ?");
        span_params.push(Value::Integer(format_code(format)));
    }
    let spans_sql = format!(
        "SELECT first_seq, last_seq FROM event_spans WHERE last_seq > ?{span_filter} ORDER BY first_seq"
    );
    let range_sql = format!(
        "{EVENT_SELECT}{PROVENANCE_COLUMNS}{EVENT_TAIL} \
         WHERE t.seq >= ? AND t.seq <= ?{time} ORDER BY t.seq LIMIT ?"
    );
    let limit = query.page.clamped_limit();
    let mut found: Vec<(u64, Event)> = Vec::new();
    let mut spans = conn.prepare_cached(&spans_sql).sql("prepare span query")?;
    let mut span_rows = spans
        .query(params_from_iter(span_params))
        .sql("query spans")?;
    let mut ranged = conn.prepare_cached(&range_sql).sql("prepare range query")?;
    while found.len() <= limit {
        let Some(span) = span_rows.next().sql("read span")? else {
            break;
        };
        let columns = Columns::new(span, "event span");
        let first = columns
            .i64(0)?
            .max(seq_param(query.page.after).saturating_add(1));
        let last = columns.i64(1)?;
        let wanted = limit + 1 - found.len();
        let params: Vec<Value> = [Value::Integer(first), Value::Integer(last)]
            .into_iter()
            .chain(time_params.iter().cloned())
            .chain(std::iter::once(Value::Integer(
                i64::try_from(wanted).unwrap_or(i64::MAX),
            )))
            .collect();
        let mut rows = ranged
            .query(params_from_iter(params))
            .sql("query events in span")?;
        while let Some(row) = rows.next().sql("read event")? {
            let seq = Columns::new(row, "event").seq(0)?;
            found.push((seq, decode_event(row, protector)?));
        }
    }
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|(seq, _)| Cursor::from_seq(*seq))
    } else {
        None
    };
    Ok(Listing {
        items: found.into_iter().map(|(_, event)| event).collect(),
        next,
    })
}

/// A cursor as a query parameter: the sequence number after which to start.
fn seq_param(after: Option<Cursor>) -> i64 {
    after.map_or(0, |cursor| i64::try_from(cursor.seq()).unwrap_or(i64::MAX))
}

fn count(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let count: i64 = conn
        .prepare_cached(sql)
        .sql("prepare count")?
        .query_row(params_from_iter(params), |row| row.get(0))
        .sql("count")?;
    Ok(u64::try_from(count).unwrap_or_default())
}

pub(super) fn count_events(conn: &Connection) -> Result<u64, StoreError> {
    count(
        conn,
        "SELECT ifnull(sum(last_seq - first_seq + 1), 0) FROM event_spans",
        &[],
    )
}

pub(super) fn count_events_by_format(
    conn: &Connection,
) -> Result<BTreeMap<Option<Format>, u64>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT format, sum(last_seq - first_seq + 1) FROM event_spans GROUP BY format",
        )
        .sql("prepare format counts")?;
    let mut rows = statement.query([]).sql("count events by format")?;
    let mut counts = BTreeMap::new();
    while let Some(row) = rows.next().sql("read format count")? {
        let columns = Columns::new(row, "format count");
        let format = format_from_code(columns.opt_i64(0)?)?;
        counts.insert(format, columns.seq(1)?);
    }
    Ok(counts)
}

pub(super) fn intel_objects(
    conn: &Connection,
    stix_type: Option<&str>,
    page_spec: Page,
) -> Result<Listing<IntelObject>, StoreError> {
    let mut params = Vec::new();
    let filter = match stix_type {
        Some(stix_type) => {
            params.push(Value::Text(stix_type.to_owned()));
            "t.stix_type = ? AND "
        }
        None => "",
    };
    let sql = format!(
        "SELECT t.seq, t.stix_id, t.stix_type, t.modified, t.object, {PROVENANCE_COLUMNS} \
         FROM intel_objects t WHERE {filter}t.seq > ? ORDER BY t.seq LIMIT ?"
    );
    page(conn, &sql, params, page_spec, |row| {
        let columns = Columns::new(row, "intel object");
        Ok(IntelObject {
            stix_id: columns.text(1)?,
            stix_type: columns.text(2)?,
            modified: columns.opt_text(3)?,
            object: read_json(columns.bytes(4)?, "intel object")?,
            provenance: columns.provenance(5)?,
        })
    })
}

pub(super) fn dead_letters(
    conn: &Connection,
    protector: &dyn FieldProtector,
    run: Option<RunId>,
    page_spec: Page,
) -> Result<Listing<DeadLetter>, StoreError> {
    let columns = format!("t.seq, t.id, t.reason, t.raw_len, t.raw, {PROVENANCE_COLUMNS}");
    let (sql, params) = match run {
        // The link table's primary key (run, dead_letter) serves both the filter and the order.
        Some(run) => (
            format!(
                "SELECT {columns} FROM run_dead_letters l JOIN dead_letters t ON t.seq = l.dead_letter \
                 WHERE l.run = (SELECT seq FROM runs WHERE id = ?) AND l.dead_letter > ? \
                 ORDER BY l.dead_letter LIMIT ?"
            ),
            vec![Value::Blob(run.as_bytes().to_vec())],
        ),
        None => (
            format!("SELECT {columns} FROM dead_letters t WHERE t.seq > ? ORDER BY t.seq LIMIT ?"),
            Vec::new(),
        ),
    };
    page(conn, &sql, params, page_spec, |row| {
        let columns = Columns::new(row, "dead letter");
        let dead_letter = DeadLetter {
            id: columns.id(1)?,
            reason: columns.text(2)?,
            raw_len: u64_from_sql(columns.i64(3)?),
            raw: columns.text(4)?,
            provenance: columns.provenance(5)?,
        };
        protector.reveal_dead_letter(dead_letter)
    })
}

pub(super) fn count_dead_letters(conn: &Connection, run: Option<RunId>) -> Result<u64, StoreError> {
    match run {
        Some(run) => count(
            conn,
            "SELECT count(*) FROM run_dead_letters WHERE run = (SELECT seq FROM runs WHERE id = ?1)",
            &[Value::Blob(run.as_bytes().to_vec())],
        ),
        None => count(conn, "SELECT count(*) FROM dead_letters", &[]),
    }
}
