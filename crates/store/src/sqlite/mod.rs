//! The embedded store: one `SQLite` file in the data directory.
//!
//! One connection writes (`SQLite` allows one writer at a time anyway) and a small pool of
//! read-only connections reads; in WAL mode readers never wait for the writer, so the API
//! can serve while a run writes.

mod batch;
mod checkpoint;
mod codec;
mod findings;
mod id_index;
mod reads;
mod row;
mod runs;
mod schema;
mod sql;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rampart_core::{
    Alert, AlertId, DeadLetter, Decision, DecisionId, Event, EventId, Format, Incident, IncidentId,
    Ingested, IntelObject, RunId, RunRecord,
};
use rusqlite::{Connection, OpenFlags};

use self::batch::Writer;
use self::checkpoint::Checkpointer;
use self::sql::SqlResult as _;
use crate::{
    BatchOutcome, EventQuery, FieldProtector, Listing, NoProtection, Page, PutOutcome, Store,
    StoreError,
};

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "rampart.db";

/// How many idle read connections are kept open.
const IDLE_READERS: usize = 4;

/// How a [`SqliteStore`] is opened.
#[derive(Clone)]
pub struct SqliteOptions {
    /// How long to wait for another process's write lock before failing with
    /// [`StoreError::Busy`].
    pub busy_timeout: Duration,
    /// Applied to every event and dead letter on its way to and from disk.
    pub protector: Arc<dyn FieldProtector>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            protector: Arc::new(NoProtection),
        }
    }
}

impl std::fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOptions")
            .field("busy_timeout", &self.busy_timeout)
            .finish_non_exhaustive()
    }
}

/// The embedded [`Store`]: `rampart.db` in a data directory (format:
/// `docs/formats/store.md`).
///
/// Lookups by event id go through an index that is brought up to date in bulk (every 65,536
/// new events, and when a run is recorded as finished); until then a lookup also scans the
/// recent events, so bulk lookups are best done after the run that wrote them has finished.
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    // Declared before the connections so it stops first: the last connection to close then
    // copies what is left of the log and removes it.
    checkpointer: Checkpointer,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex even if a thread panicked while holding it: every write runs in a
/// transaction that rolls back when dropped during unwinding, so the state is consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, with default options.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(data_dir, SqliteOptions::default())
    }

    /// Opens (creating if needed) the store in `data_dir`: creates the directory and its
    /// parents, applies pending migrations and refuses a database newer than this build.
    pub fn open_with(
        data_dir: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        Self::open_tuned(
            data_dir.as_ref(),
            options,
            id_index::MERGE_AT,
            checkpoint::Tuning::default(),
        )
    }

    /// [`Self::open_with`], with the id-index merge threshold and the checkpoint sizes as
    /// parameters (tests use small ones to exercise merging and checkpoints).
    fn open_tuned(
        dir: &Path,
        options: SqliteOptions,
        merge_at: i64,
        checkpoints: checkpoint::Tuning,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path).sql("open database")?;
        conn.busy_timeout(options.busy_timeout)
            .sql("set busy timeout")?;
        init_file(&conn).sql("initialise database file")?;
        configure(&conn, 64 * 1024).sql("configure writer")?;
        // The checkpointer copies the log back on its own thread (see `checkpoint`), in
        // steps of 64 MiB of log rather than SQLite's 8 MiB: pages rewritten by several
        // batches (index pages, the table's last page) are then copied to the database once.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .sql("turn off the writer's checkpoints")?;
        conn.pragma_update(None, "journal_size_limit", checkpoint::LOG_SIZE_LIMIT)
            .sql("set log size limit")?;
        schema::migrate(&mut conn, &path)?;
        let checkpointer = Checkpointer::start(&path, options.busy_timeout, checkpoints)?;
        Ok(Self {
            path,
            options,
            checkpointer,
            writer: Mutex::new(Writer::new(conn, merge_at)?),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest schema version this build reads and writes.
    pub fn schema_version() -> i64 {
        schema::supported_version()
    }

    fn protector(&self) -> &dyn FieldProtector {
        self.options.protector.as_ref()
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .sql("open reader")?;
        conn.busy_timeout(self.options.busy_timeout)
            .sql("set busy timeout")?;
        // INVARIANT: readers never write; only the writer connection changes the database.
        conn.pragma_update(None, "query_only", true)
            .sql("make reader read-only")?;
        configure(&conn, 16 * 1024).sql("configure reader")?;
        Ok(conn)
    }

    /// Runs `read` on a pooled read connection.
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let result = read(&conn);
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

/// File-level settings, for whichever connection first creates `rampart.db` (the store or
/// the audit log's storage).
pub(crate) fn init_file(conn: &Connection) -> Result<(), rusqlite::Error> {
    // Must precede the first table: a page size applies only to a new database file.
    // 8 KiB pages hold three to four Suricata-sized rows each; 4 KiB pages measured slower
    // on the write path, 1 and 2 KiB much slower.
    conn.pragma_update(None, "page_size", 8192)?;
    conn.pragma_update(None, "journal_mode", "WAL")
}

/// Per-connection settings. `synchronous = NORMAL` in WAL mode syncs at checkpoints only: a
/// power loss may drop the last commits but never corrupts the file, and a killed process
/// loses nothing that committed.
fn configure(conn: &Connection, cache_kib: i64) -> Result<(), rusqlite::Error> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Store for SqliteStore {
    fn begin_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        runs::begin(&lock(&self.writer).conn, run)
    }

    fn update_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let mut writer = lock(&self.writer);
        if run.finished_at.is_none() {
            return runs::update(&writer.conn, run);
        }
        // A finished run leaves every event it stored findable through the id index.
        writer.with_full_index(|conn| runs::update(conn, run))
    }

    fn run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        self.read(|conn| runs::one(conn, id))
    }

    fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.read(|conn| runs::newest(conn, None))
    }

    fn latest_run(&self) -> Result<Option<RunRecord>, StoreError> {
        self.read(|conn| runs::newest(conn, Some(1)).map(|runs| runs.into_iter().next()))
    }

    fn write_batch(&self, run: RunId, items: &[Ingested]) -> Result<BatchOutcome, StoreError> {
        let mut writer = lock(&self.writer);
        let outcome = writer.write_batch(self.protector(), run, items)?;
        self.checkpointer.after_commit(&writer.conn);
        Ok(outcome)
    }

    fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        self.read(|conn| reads::event(conn, self.protector(), id))
    }

    fn events(&self, query: &EventQuery) -> Result<Listing<Event>, StoreError> {
        self.read(|conn| reads::events(conn, self.protector(), query))
    }

    fn count_events(&self) -> Result<u64, StoreError> {
        self.read(reads::count_events)
    }

    fn count_events_by_format(&self) -> Result<BTreeMap<Option<Format>, u64>, StoreError> {
        self.read(reads::count_events_by_format)
    }

    fn intel_objects(
        &self,
        stix_type: Option<&str>,
        page: Page,
    ) -> Result<Listing<IntelObject>, StoreError> {
        self.read(|conn| reads::intel_objects(conn, stix_type, page))
    }

    fn dead_letters(
        &self,
        run: Option<RunId>,
        page: Page,
    ) -> Result<Listing<DeadLetter>, StoreError> {
        self.read(|conn| reads::dead_letters(conn, self.protector(), run, page))
    }

    fn count_dead_letters(&self, run: Option<RunId>) -> Result<u64, StoreError> {
        self.read(|conn| reads::count_dead_letters(conn, run))
    }

    fn put_alerts(&self, alerts: &[Alert]) -> Result<PutOutcome, StoreError> {
        findings::put(
            &mut lock(&self.writer).conn,
            &findings::ALERTS,
            alerts,
            findings::alert_row,
        )
    }

    fn alert(&self, id: AlertId) -> Result<Option<Alert>, StoreError> {
        self.read(|conn| findings::one(conn, &findings::ALERTS, id.as_bytes()))
    }

    fn alerts(&self, page: Page) -> Result<Listing<Alert>, StoreError> {
        self.read(|conn| findings::list(conn, &findings::ALERTS, None, page))
    }

    fn put_incidents(&self, incidents: &[Incident]) -> Result<PutOutcome, StoreError> {
        findings::put(
            &mut lock(&self.writer).conn,
            &findings::INCIDENTS,
            incidents,
            findings::incident_row,
        )
    }

    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        self.read(|conn| findings::one(conn, &findings::INCIDENTS, id.as_bytes()))
    }

    fn incidents(&self, page: Page) -> Result<Listing<Incident>, StoreError> {
        self.read(|conn| findings::list(conn, &findings::INCIDENTS, None, page))
    }

    fn put_decisions(&self, decisions: &[Decision]) -> Result<PutOutcome, StoreError> {
        findings::put(
            &mut lock(&self.writer).conn,
            &findings::DECISIONS,
            decisions,
            findings::decision_row,
        )
    }

    fn decision(&self, id: DecisionId) -> Result<Option<Decision>, StoreError> {
        self.read(|conn| findings::one(conn, &findings::DECISIONS, id.as_bytes()))
    }

    fn decisions(
        &self,
        incident: Option<IncidentId>,
        page: Page,
    ) -> Result<Listing<Decision>, StoreError> {
        self.read(|conn| findings::list(conn, &findings::DECISIONS, incident, page))
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::{ContentHash, Ecs, Position, Provenance};

    use super::*;

    fn events(source: &str, lines: std::ops::Range<u64>) -> Vec<Ingested> {
        lines
            .map(|line| {
                let raw = format!("{{\"n\":{line}}}");
                let provenance = Provenance {
                    source: source.into(),
                    position: Position::Line(line),
                    format: Some(Format::Ecs),
                    parser: "ecs/1".into(),
                    ingested_at: DateTime::from_timestamp_nanos(0),
                    content_hash: ContentHash::of(raw.as_bytes()),
                };
                Ingested::Event(Box::new(Event::new(Ecs::default(), raw, provenance)))
            })
            .collect()
    }

    use chrono::DateTime;

    fn ids(items: &[Ingested]) -> Vec<EventId> {
        items
            .iter()
            .filter_map(|item| match item {
                Ingested::Event(event) => Some(event.id),
                _ => None,
            })
            .collect()
    }

    fn indexed(store: &SqliteStore) -> (i64, i64) {
        store
            .read(|conn| {
                conn.query_row(
                    "SELECT (SELECT count(*) FROM event_ids), indexed_through FROM event_ids_state",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .sql("test")
            })
            .unwrap()
    }

    #[test]
    fn every_event_is_found_by_id_before_and_after_merges_reopens_and_other_writers() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            SqliteStore::open_tuned(
                dir.path(),
                SqliteOptions::default(),
                100,
                checkpoint::Tuning::default(),
            )
            .unwrap()
        };
        let first = open();
        let run = RunRecord::start(vec![]);
        first.begin_run(&run).unwrap();
        let mut written = Vec::new();
        for start in (0..448).step_by(64) {
            let batch = events("a", start..start + 64);
            first.write_batch(run.id, &batch).unwrap();
            written.extend(ids(&batch));
            for id in &written {
                assert!(
                    first.event(*id).unwrap().is_some(),
                    "{id} after line {start}"
                );
            }
        }
        let (count, through) = indexed(&first);
        assert_eq!(
            count, 384,
            "merged three times, 64 events still in the tail"
        );
        assert_eq!(
            through, count,
            "the watermark covers exactly the merged events"
        );

        // A second writer on the same file (another process, say) interleaves with the first:
        // the first's own view of the tail is then incomplete and it reads the tail back.
        let second = open();
        for start in (1000..1600).step_by(50) {
            for (store, source) in [(&first, "a"), (&second, "b")] {
                let batch = events(source, start..start + 50);
                store.write_batch(run.id, &batch).unwrap();
                written.extend(ids(&batch));
            }
        }
        drop(first);
        let reopened = open();
        for id in &written {
            assert!(reopened.event(*id).unwrap().is_some(), "{id}");
        }
        let mut finished = run.clone();
        finished.finished_at = Some(chrono::Utc::now());
        reopened.update_run(&finished).unwrap();
        let (count, through) = indexed(&reopened);
        assert_eq!(count, i64::try_from(written.len()).unwrap());
        assert_eq!(through, count);
        for id in &written {
            assert!(reopened.event(*id).unwrap().is_some(), "{id}");
        }
        assert_eq!(reopened.event(EventId::derive(&[b"absent"])).unwrap(), None);
    }

    #[test]
    fn a_connection_dropped_mid_batch_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let run = RunRecord::start(vec![]);
        store.begin_run(&run).unwrap();
        store.write_batch(run.id, &events("a", 0..10)).unwrap();

        // Another connection writes half a batch and disappears without committing. A tiny
        // page cache makes SQLite spill the uncommitted pages into the write-ahead log first,
        // as a large batch would.
        let mut conn = Connection::open(store.path()).unwrap();
        conn.pragma_update(None, "cache_size", 2).unwrap();
        let mut tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let mut staged = batch::Staged::default();
        let outcome = batch::write_items(
            &tx,
            &batch::Names::default(),
            &mut staged,
            &NoProtection,
            run.id,
            &events("b", 0..2000),
        )
        .unwrap();
        assert_eq!(outcome.events_stored, 2000);
        tx.set_drop_behavior(rusqlite::DropBehavior::Ignore);
        drop(tx);
        drop(conn);

        assert_eq!(store.count_events().unwrap(), 10);
        let reopened = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(reopened.count_events().unwrap(), 10);
        let again = reopened.write_batch(run.id, &events("b", 0..2000)).unwrap();
        assert_eq!(again.events_stored, 2000);
        assert_eq!(reopened.count_events().unwrap(), 2010);
    }

    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    fn log_path(dir: &Path) -> PathBuf {
        checkpoint::log_path(&dir.join(DATABASE_FILE))
    }

    #[test]
    fn the_log_is_copied_back_on_its_own_thread_while_the_store_is_open() {
        let dir = tempfile::tempdir().unwrap();
        // The writer never checkpoints (its bound is out of reach): only the checkpointer
        // can move pages into the database file.
        let tuning = checkpoint::Tuning {
            background_at: 64 << 10,
            blocking_at: u64::MAX,
            idle_wake: None,
        };
        let store =
            SqliteStore::open_tuned(dir.path(), SqliteOptions::default(), 100, tuning).unwrap();
        let run = RunRecord::start(vec![]);
        store.begin_run(&run).unwrap();
        let database = dir.path().join(DATABASE_FILE);
        let before = file_len(&database);
        let mut written = Vec::new();
        for start in (0..8_000).step_by(200) {
            let batch = events("a", start..start + 200);
            store.write_batch(run.id, &batch).unwrap();
            written.extend(ids(&batch));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while file_len(&database) <= before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            file_len(&database) > before,
            "the database file is still {before} bytes: nothing was checkpointed"
        );
        drop(store);
        assert!(
            !log_path(dir.path()).exists(),
            "closing the store copies the rest of the log and removes it"
        );
        let reopened = SqliteStore::open(dir.path()).unwrap();
        for id in &written {
            assert!(reopened.event(*id).unwrap().is_some(), "{id}");
        }
    }

    #[test]
    fn a_writer_bounds_the_log_when_the_checkpointer_does_not_run() {
        // The same writes with the writer's own bound out of reach, then within reach: the
        // first shows what an unchecked log grows to, the second that the bound holds it.
        let largest_log = |blocking_at: u64| {
            let dir = tempfile::tempdir().unwrap();
            let tuning = checkpoint::Tuning {
                background_at: u64::MAX,
                blocking_at,
                idle_wake: None,
            };
            let store =
                SqliteStore::open_tuned(dir.path(), SqliteOptions::default(), 100, tuning).unwrap();
            let run = RunRecord::start(vec![]);
            store.begin_run(&run).unwrap();
            let mut largest = 0;
            for start in (0..8_000).step_by(200) {
                store
                    .write_batch(run.id, &events("a", start..start + 200))
                    .unwrap();
                largest = largest.max(file_len(&log_path(dir.path())));
            }
            assert_eq!(store.count_events().unwrap(), 8_000);
            largest
        };
        let bound = 256 << 10;
        let unchecked = largest_log(u64::MAX);
        assert!(
            unchecked > 4 * bound,
            "the writes must outgrow the bound for this test to mean anything ({unchecked} bytes)"
        );
        let checked = largest_log(bound);
        assert!(
            checked < 2 * bound,
            "the log reached {checked} bytes with a bound of {bound}"
        );
    }
}
