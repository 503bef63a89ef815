//! The one error type of the store, free of any backend's types.

use std::path::PathBuf;

use rampart_core::RunId;

/// Why a store operation failed.
///
/// Backend errors are kept as text so that callers never depend on a database driver: the
/// same error type serves the `SQLite` store and any later backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("cannot create data directory `{path}`: {source}; check the path and its permissions")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The database on disk was written by a newer Rampart than this one.
    #[error(
        "store `{path}` has schema version {found} but this build knows only up to {supported}; upgrade rampart or use another data directory"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version found on disk.
        found: i64,
        /// The newest version this build can read.
        supported: i64,
    },
    /// Events were written for a run that was never begun.
    #[error(
        "run `{0}` is not in the store; call `begin_run` before writing batches or updating it"
    )]
    UnknownRun(RunId),
    /// `begin_run` was called twice with the same run id.
    #[error("run `{0}` already exists; start a new run record for each run")]
    RunExists(RunId),
    /// Another process held the database lock for longer than the busy timeout.
    #[error(
        "store is busy during `{operation}`: another process holds the write lock; retry later"
    )]
    Busy {
        /// What the store was doing.
        operation: &'static str,
    },
    /// A value could not be encoded for storage.
    #[error("cannot store {what}: {reason}")]
    Encode {
        /// What was being stored.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// Stored data did not decode: the database was changed outside Rampart or is damaged.
    #[error("stored {what} is corrupt: {reason}; restore the data directory from a backup")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The field protector refused or failed to protect or reveal a record.
    #[error("field protection failed: {0}")]
    Protection(String),
    /// The database backend reported an error.
    #[error("store operation `{operation}` failed: {message}")]
    Backend {
        /// What the store was doing.
        operation: &'static str,
        /// The backend's message.
        message: String,
    },
}
