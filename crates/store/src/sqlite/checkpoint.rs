//! Checkpoints on a thread of their own, so the writer does not stop to copy the log.
//!
//! In WAL mode every commit appends pages to `rampart.db-wal`, and a checkpoint copies them
//! back into the database file and syncs it. `SQLite`'s automatic checkpoint runs inside the
//! commit that crosses its threshold, on the writing thread, while the parsers wait for the
//! writer. A passive checkpoint on another connection copies the same pages while the writer
//! goes on writing (a million-event run took 15% less time), and once it has copied
//! everything, the writer's next transaction starts the log again from the top.
//!
//! The writer still bounds the log: it wakes the checkpointer once the log file reaches
//! 64 MiB, and checkpoints itself from 512 MiB on ([`Tuning`]), so a checkpointer that cannot
//! keep up slows writing down instead of letting the log grow without limit. A log that
//! restarts is cut back to [`LOG_SIZE_LIMIT`] bytes, which keeps the file size a measure of
//! what is waiting to be copied.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::sql::SqlResult as _;
use crate::StoreError;

/// When the log is copied back.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tuning {
    /// Log size (bytes) at which the writer wakes the checkpointer.
    pub(super) background_at: u64,
    /// Log size (bytes) at which the writer checkpoints itself before going on.
    pub(super) blocking_at: u64,
    /// How long the checkpointer sleeps when nobody wakes it (`None`: until woken), so
    /// that a store that only trickles writes still has its log copied back.
    pub(super) idle_wake: Option<Duration>,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            background_at: 64 << 20,
            blocking_at: 512 << 20,
            idle_wake: Some(Duration::from_secs(2)),
        }
    }
}

/// What a restarted log is truncated to (`journal_size_limit`); below the default
/// `background_at`, so that a reused log file does not look full.
pub(super) const LOG_SIZE_LIMIT: i64 = 16 << 20;

#[derive(Default)]
struct Flags {
    wanted: bool,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    flags: Mutex<Flags>,
    wake: Condvar,
}

impl Shared {
    fn flags(&self) -> std::sync::MutexGuard<'_, Flags> {
        self.flags.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The write-ahead log of `database`: `SQLite` keeps it beside the file, named `<file>-wal`.
pub(super) fn log_path(database: &Path) -> PathBuf {
    let mut log = database.as_os_str().to_owned();
    log.push("-wal");
    PathBuf::from(log)
}

/// The background checkpointer of one database file; stops and joins its thread when dropped.
pub(super) struct Checkpointer {
    log: PathBuf,
    tuning: Tuning,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `database` on a connection of its own. The writer must have its
    /// automatic checkpoint turned off (`wal_autocheckpoint = 0`).
    pub(super) fn start(
        database: &Path,
        busy_timeout: Duration,
        tuning: Tuning,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open(database).sql("open checkpointer")?;
        conn.busy_timeout(busy_timeout)
            .sql("set checkpointer busy timeout")?;
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("rampart-checkpoint".to_owned())
            .spawn(move || run(&conn, &worker, tuning.idle_wake))
            .map_err(|e| StoreError::Backend {
                operation: "start checkpointer",
                message: e.to_string(),
            })?;
        Ok(Self {
            log: log_path(database),
            tuning,
            shared,
            thread: Some(thread),
        })
    }

    /// Called by the writer after each commit on `conn`: wakes the checkpointer when the log
    /// has grown, and checkpoints on `conn` itself when the log has grown too far.
    ///
    /// Infallible on purpose: the commit before it has succeeded, and a checkpoint that
    /// cannot run loses nothing (the log keeps every page); a disk that is full fails the
    /// next commit instead.
    pub(super) fn after_commit(&self, conn: &Connection) {
        // A missing log (nothing written yet, or another journal mode) has nothing to copy.
        let size = std::fs::metadata(&self.log).map_or(0, |m| m.len());
        if size >= self.tuning.blocking_at {
            // Passive, so it never waits for a reader; busy only while the background
            // checkpoint is copying, which is then doing this work.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        } else if size >= self.tuning.background_at {
            self.shared.flags().wanted = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.flags().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panicked checkpointer has nothing left to clean up; the log is still valid.
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared, idle_wake: Option<Duration>) {
    loop {
        {
            let mut flags = shared.flags();
            if !flags.wanted && !flags.stop {
                flags = match idle_wake {
                    Some(timeout) => {
                        shared
                            .wake
                            .wait_timeout(flags, timeout)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                    None => shared
                        .wake
                        .wait(flags)
                        .unwrap_or_else(PoisonError::into_inner),
                };
            }
            if flags.stop {
                return;
            }
            flags.wanted = false;
        }
        // A failed passive checkpoint (busy, say) loses nothing and is retried on the next
        // wake; from `blocking_at` on the writer checkpoints too.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}
