//! Forward-only, numbered schema migrations.
//!
//! Each migration runs once, in order, inside the same transaction as the row that records
//! it in `schema_version`, so a crash mid-migration leaves the previous version intact. A
//! database whose newest version is above what this build knows is refused rather than
//! misread. The schema is documented in `docs/formats/store.md`; keep the two in step.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

use super::sql::SqlResult as _;
use crate::StoreError;

/// One schema change.
struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Append only: never edit one that has shipped.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "runs, events, intel objects, dead letters, alerts, incidents, decisions",
    sql: r"
CREATE TABLE runs (
    seq         INTEGER PRIMARY KEY,
    id          BLOB NOT NULL UNIQUE,
    inputs      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    counts      TEXT NOT NULL
);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE sources (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE parsers (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE events (
    seq           INTEGER PRIMARY KEY,
    source        INTEGER NOT NULL,
    position_kind INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    id            BLOB NOT NULL,
    event_time    INTEGER,
    format        INTEGER,
    parser        INTEGER NOT NULL,
    ingested_at   INTEGER NOT NULL,
    content_hash  BLOB NOT NULL,
    ecs           TEXT NOT NULL,
    attributes    TEXT,
    features      TEXT,
    ground_truth  TEXT,
    raw           TEXT NOT NULL,
    UNIQUE (source, position_kind, position, id)
);
CREATE INDEX events_time ON events (event_time);

CREATE TABLE event_spans (
    first_seq INTEGER PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    run       INTEGER NOT NULL,
    format    INTEGER
);
CREATE INDEX event_spans_run ON event_spans (run);
CREATE INDEX event_spans_format ON event_spans (format);

CREATE TABLE event_ids (
    id  BLOB PRIMARY KEY,
    seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE event_ids_state (
    indexed_through INTEGER NOT NULL
);
INSERT INTO event_ids_state (indexed_through) VALUES (0);

CREATE TABLE intel_objects (
    seq           INTEGER PRIMARY KEY,
    stix_id       TEXT NOT NULL,
    modified      TEXT,
    stix_type     TEXT NOT NULL,
    format        INTEGER,
    source        INTEGER NOT NULL,
    position_kind INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    parser        INTEGER NOT NULL,
    ingested_at   INTEGER NOT NULL,
    content_hash  BLOB NOT NULL,
    run           INTEGER NOT NULL,
    object        TEXT NOT NULL
);
CREATE UNIQUE INDEX intel_objects_version ON intel_objects (stix_id, ifnull(modified, ''));
CREATE INDEX intel_objects_type ON intel_objects (stix_type);

CREATE TABLE dead_letters (
    seq           INTEGER PRIMARY KEY,
    id            BLOB NOT NULL UNIQUE,
    format        INTEGER,
    source        INTEGER NOT NULL,
    position_kind INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    parser        INTEGER NOT NULL,
    ingested_at   INTEGER NOT NULL,
    content_hash  BLOB NOT NULL,
    reason        TEXT NOT NULL,
    raw_len       INTEGER NOT NULL,
    raw           TEXT NOT NULL
);

CREATE TABLE run_dead_letters (
    run         INTEGER NOT NULL,
    dead_letter INTEGER NOT NULL,
    PRIMARY KEY (run, dead_letter)
) WITHOUT ROWID;

CREATE TABLE alerts (
    seq        INTEGER PRIMARY KEY,
    id         BLOB NOT NULL UNIQUE,
    rule_id    TEXT NOT NULL,
    level      INTEGER NOT NULL,
    first_seen INTEGER,
    body       TEXT NOT NULL
);
CREATE INDEX alerts_rule ON alerts (rule_id);
CREATE INDEX alerts_first_seen ON alerts (first_seen);

CREATE TABLE incidents (
    seq        INTEGER PRIMARY KEY,
    id         BLOB NOT NULL UNIQUE,
    score      REAL NOT NULL,
    first_seen INTEGER,
    body       TEXT NOT NULL
);
CREATE INDEX incidents_score ON incidents (score);

CREATE TABLE decisions (
    seq        INTEGER PRIMARY KEY,
    id         BLOB NOT NULL UNIQUE,
    incident   BLOB NOT NULL,
    decided_at INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX decisions_incident ON decisions (incident);
",
}];

/// The newest schema version this build knows.
pub(super) fn supported_version() -> i64 {
    MIGRATIONS.last().map_or(0, |migration| migration.version)
}

/// Brings the database up to [`supported_version`], or refuses a newer one.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<i64, StoreError> {
    let supported = supported_version();
    // A store that is up to date needs no write lock to open: a read of its version does not
    // wait for a run that is writing (the writer takes the lock back after every batch, so a
    // process queuing for it, such as `rampart runs` during a bulk run, could wait it out).
    // Anything else (a fresh file, an older or a newer schema) is decided under the lock.
    let current: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_version", [], |row| {
            row.get(0)
        })
        .ok()
        .flatten();
    if current == Some(supported) {
        return Ok(supported);
    }
    // IMMEDIATE takes the write lock first, so two processes opening a fresh store at once
    // apply each migration exactly once.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .sql("begin migration")?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version     INTEGER PRIMARY KEY,
            applied_at  INTEGER NOT NULL,
            description TEXT NOT NULL
        );",
    )
    .sql("create schema_version")?;
    let found: i64 = tx
        .query_row("SELECT max(version) FROM schema_version", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .optional()
        .sql("read schema version")?
        .flatten()
        .unwrap_or(0);
    if found > supported {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.execute_batch(migration.sql).sql("apply migration")?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at, description) VALUES (?1, unixepoch(), ?2)",
            (migration.version, migration.description),
        )
        .sql("record migration")?;
    }
    tx.commit().sql("commit migration")?;
    Ok(supported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_contiguous_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i64::try_from(index).unwrap() + 1);
        }
    }

    #[test]
    fn migrates_an_empty_database_once_and_refuses_a_newer_one() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        assert_eq!(migrate(&mut conn, path).unwrap(), supported_version());
        // A second open applies nothing and keeps one row per migration.
        migrate(&mut conn, path).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM schema_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, supported_version());

        conn.execute(
            "INSERT INTO schema_version VALUES (?1, 0, 'from the future')",
            [supported_version() + 1],
        )
        .unwrap();
        let error = migrate(&mut conn, path).unwrap_err();
        assert!(
            matches!(error, StoreError::SchemaTooNew { found, .. } if found == supported_version() + 1),
            "{error}"
        );
    }
}
