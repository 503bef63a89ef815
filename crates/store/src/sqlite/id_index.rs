//! The lookup index from event id to storage sequence, maintained in bulk.
//!
//! Event ids are hashes, so a B-tree keyed by them takes every insert at a random place. With
//! one commit per batch, a batch of 1,024 new events dirties up to 1,024 index pages, and each
//! dirty page is written whole to the write-ahead log: at a million events that was four times
//! the bytes of the events themselves and the largest cost of the write path.
//!
//! So duplicates are not detected through the id at all: `events` is unique on
//! `(source, position_kind, position, id)`, which identifies the same record exactly (the id
//! is a hash of source, position and content, checked on write) and grows in file order,
//! touching a handful of pages per batch. Lookups by id use `event_ids`, which is brought up
//! to date in bulk: once the unindexed tail of `events` reaches [`MERGE_AT`] rows, the tail's
//! ids are inserted in sorted order within the batch's own transaction, touching each index
//! page at most once. Lookups check `event_ids` and scan the (bounded) tail, in one statement
//! and therefore one snapshot.

use rusqlite::Connection;

use super::sql::SqlResult as _;
use crate::StoreError;

/// How many unindexed events trigger a merge; also bounds the tail a lookup scans.
pub(super) const MERGE_AT: i64 = 65_536;

/// Indexes the tail of `events` if it holds at least `at_least` rows. Runs inside the
/// caller's transaction, so the index and its watermark move together with the events.
pub(super) fn merge_tail(conn: &Connection, at_least: i64) -> Result<(), StoreError> {
    let (through, last): (i64, i64) = conn
        .prepare_cached(
            "SELECT indexed_through, (SELECT ifnull(max(seq), 0) FROM events) FROM event_ids_state",
        )
        .sql("prepare id index state")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .sql("read id index state")?;
    if last - through < at_least.max(1) {
        return Ok(());
    }
    // INVARIANT: every event with seq <= indexed_through has its id in event_ids. Ids are
    // unique among events (checked on write), so the insert never conflicts.
    conn.prepare_cached(
        "INSERT INTO event_ids (id, seq) \
         SELECT id, seq FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY id",
    )
    .sql("prepare id index merge")?
    .execute([through, last])
    .sql("merge id index")?;
    conn.prepare_cached("UPDATE event_ids_state SET indexed_through = ?1")
        .sql("prepare id index watermark")?
        .execute([last])
        .sql("advance id index watermark")?;
    Ok(())
}

/// A WHERE clause selecting the one event (table alias `t`) whose id is `?1`: through the
/// index, or by scanning the unindexed tail.
pub(super) const BY_ID: &str = "t.seq = ifnull((SELECT seq FROM event_ids WHERE id = ?1), \
     (SELECT seq FROM events WHERE seq > (SELECT indexed_through FROM event_ids_state) AND id = ?1))";
