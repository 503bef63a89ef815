//! Run records.

use rampart_core::{RunCounts, RunId, RunRecord};
use rusqlite::{Connection, params};

use super::codec::{exact_nanos, read_json, time, write_json};
use super::row::Columns;
use super::sql::SqlResult as _;
use crate::StoreError;

const RUN_COLUMNS: &str = "id, inputs, started_at, finished_at, counts";

/// The JSON columns of a run.
fn encode(run: &RunRecord) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let mut inputs = Vec::new();
    write_json(&mut inputs, &run.inputs, "run inputs")?;
    let mut counts = Vec::new();
    write_json(&mut counts, &run.counts, "run counts")?;
    Ok((inputs, counts))
}

fn finished_at(run: &RunRecord) -> Result<Option<i64>, StoreError> {
    run.finished_at
        .map(|at| exact_nanos(at, "run finish time"))
        .transpose()
}

pub(super) fn begin(conn: &Connection, run: &RunRecord) -> Result<(), StoreError> {
    let (inputs, counts) = encode(run)?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO runs (id, inputs, started_at, finished_at, counts) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
        )
        .sql("prepare run insert")?
        .execute(params![
            run.id.as_bytes(),
            super::codec::json_text(&inputs),
            exact_nanos(run.started_at, "run start time")?,
            finished_at(run)?,
            super::codec::json_text(&counts),
        ])
        .sql("insert run")?;
    if inserted == 0 {
        return Err(StoreError::RunExists(run.id));
    }
    Ok(())
}

pub(super) fn update(conn: &Connection, run: &RunRecord) -> Result<(), StoreError> {
    let (inputs, counts) = encode(run)?;
    let updated = conn
        .prepare_cached("UPDATE runs SET inputs = ?2, finished_at = ?3, counts = ?4 WHERE id = ?1")
        .sql("prepare run update")?
        .execute(params![
            run.id.as_bytes(),
            super::codec::json_text(&inputs),
            finished_at(run)?,
            super::codec::json_text(&counts),
        ])
        .sql("update run")?;
    if updated == 0 {
        return Err(StoreError::UnknownRun(run.id));
    }
    Ok(())
}

fn decode(row: &rusqlite::Row<'_>) -> Result<RunRecord, StoreError> {
    let columns = Columns::new(row, "run");
    Ok(RunRecord {
        id: columns.id(0)?,
        inputs: read_json::<Vec<String>>(columns.bytes(1)?, "run inputs")?,
        started_at: time(columns.i64(2)?),
        finished_at: columns.opt_i64(3)?.map(time),
        counts: read_json::<RunCounts>(columns.bytes(4)?, "run counts")?,
    })
}

pub(super) fn one(conn: &Connection, id: RunId) -> Result<Option<RunRecord>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
    let mut statement = conn.prepare_cached(&sql).sql("prepare run query")?;
    let mut rows = statement.query([id.as_bytes()]).sql("query run")?;
    rows.next().sql("read run")?.map(decode).transpose()
}

/// Runs newest first; `limit` bounds how many.
pub(super) fn newest(conn: &Connection, limit: Option<u32>) -> Result<Vec<RunRecord>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, seq DESC LIMIT ?1");
    let mut statement = conn.prepare_cached(&sql).sql("prepare runs query")?;
    let mut rows = statement
        .query([limit.map_or(-1, i64::from)])
        .sql("query runs")?;
    let mut runs = Vec::new();
    while let Some(row) = rows.next().sql("read run")? {
        runs.push(decode(row)?);
    }
    Ok(runs)
}
