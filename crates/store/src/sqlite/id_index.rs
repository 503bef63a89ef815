//! The lookup index from event id to storage sequence, maintained in bulk.
//!
//! Event ids are hashes, so a B-tree keyed by them takes every insert at a random place. With
//! one commit per batch, a batch of 1,024 new events dirties up to 1,024 index pages, and each
//! dirty page is written whole to the write-ahead log: at a few hundred thousand events that
//! was more than twice the bytes of the events themselves, and the largest cost of the write
//! path.
//!
//! So duplicates are not detected through the id at all: `events` is unique on
//! `(source, position_kind, position, id)`, which identifies the same record exactly (the id
//! is a hash of source, position and content, as `Event::new` derives it) and grows in file
//! order, touching a handful of pages per batch. Lookups by id use `event_ids`, which is brought up
//! to date in bulk: once the unindexed tail of `events` reaches [`MERGE_AT`] rows, the tail's
//! ids are inserted in sorted order within the batch's own transaction, touching each index
//! page at most once. Lookups check `event_ids` and scan the bounded tail, in one statement
//! and therefore one snapshot ([`BY_ID`]).

use rusqlite::Connection;

use super::sql::SqlResult as _;
use crate::StoreError;

/// How many unindexed events trigger a merge; also bounds the tail a lookup scans.
pub(super) const MERGE_AT: i64 = 65_536;

/// One event of the unindexed tail: its id and storage sequence.
pub(super) type TailEntry = ([u8; 16], i64);

/// A WHERE clause selecting the one event (table alias `t`) whose id is `?1`: through the
/// index, or by scanning the unindexed tail.
pub(super) const BY_ID: &str = "t.seq = ifnull((SELECT seq FROM event_ids WHERE id = ?1), \
     (SELECT seq FROM events WHERE seq > (SELECT indexed_through FROM event_ids_state) AND id = ?1))";

/// Reads the unindexed tail, in storage order (when a writer opens the store).
pub(super) fn load_tail(conn: &Connection) -> Result<Vec<TailEntry>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT id, seq FROM events \
             WHERE seq > (SELECT indexed_through FROM event_ids_state) ORDER BY seq",
        )
        .sql("prepare tail query")?;
    let mut rows = statement.query([]).sql("query tail")?;
    let mut tail = Vec::new();
    while let Some(row) = rows.next().sql("read tail")? {
        let columns = super::row::Columns::new(row, "event");
        tail.push((
            *columns.id::<rampart_core::EventTag>(0)?.as_bytes(),
            columns.i64(1)?,
        ));
    }
    Ok(tail)
}

/// Indexes the tail of `events` if it holds at least `at_least` rows, inside the caller's
/// transaction so that the index and its watermark move together with the events. `known`
/// and `new` are the tail as this connection wrote it; when another process has written to
/// the store since, they do not add up to the tail and it is read back from the table.
/// Returns whether it merged.
pub(super) fn merge_tail(
    conn: &Connection,
    at_least: i64,
    known: &[TailEntry],
    new: &[TailEntry],
) -> Result<bool, StoreError> {
    let (through, last): (i64, i64) = conn
        .prepare_cached(
            "SELECT indexed_through, (SELECT ifnull(max(seq), 0) FROM events) FROM event_ids_state",
        )
        .sql("prepare id index state")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .sql("read id index state")?;
    if last - through < at_least.max(1) {
        return Ok(false);
    }
    // INVARIANT: every event with seq <= indexed_through has its id in event_ids. Ids derived
    // from provenance are unique among events through the unique key; an event built with
    // some other id may repeat one, and then the first stored keeps it (`DO NOTHING`), as it
    // would in deduplication.
    if is_whole_tail(known, new, through, last) {
        let mut sorted: Vec<TailEntry> = known.iter().chain(new).copied().collect();
        sorted.sort_unstable_by_key(|(id, _)| *id);
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO event_ids (id, seq) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .sql("prepare id index insert")?;
        for (id, seq) in &sorted {
            insert.execute((id, seq)).sql("merge id index")?;
        }
    } else {
        conn.prepare_cached(
            "INSERT INTO event_ids (id, seq) \
             SELECT id, seq FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY id \
             ON CONFLICT DO NOTHING",
        )
        .sql("prepare id index merge")?
        .execute([through, last])
        .sql("merge id index")?;
    }
    conn.prepare_cached("UPDATE event_ids_state SET indexed_through = ?1")
        .sql("prepare id index watermark")?
        .execute([last])
        .sql("advance id index watermark")?;
    Ok(true)
}

/// Whether `known` then `new` are exactly the events with `through < seq <= last`: strictly
/// increasing sequence numbers in that range, as many as the range holds.
fn is_whole_tail(known: &[TailEntry], new: &[TailEntry], through: i64, last: i64) -> bool {
    let count = i64::try_from(known.len() + new.len()).unwrap_or(i64::MAX);
    let mut previous = through;
    count == last - through
        && known.iter().chain(new).all(|(_, seq)| {
            let ok = *seq > previous && *seq <= last;
            previous = *seq;
            ok
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_tail_counts_as_whole() {
        let entry = |seq| ([0u8; 16], seq);
        assert!(is_whole_tail(&[entry(5), entry(6)], &[entry(7)], 4, 7));
        assert!(is_whole_tail(&[], &[], 4, 4));
        // Another writer added seq 8: the counts no longer match.
        assert!(!is_whole_tail(&[entry(5), entry(6)], &[entry(7)], 4, 8));
        // A gap filled by someone else, hidden by a duplicate count.
        assert!(!is_whole_tail(&[entry(5), entry(5)], &[entry(7)], 4, 7));
        assert!(!is_whole_tail(&[entry(4)], &[], 4, 5));
    }
}
