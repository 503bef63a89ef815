//! Mapping `SQLite`'s errors into [`StoreError`] at the boundary, so that no driver type leaks.

use rusqlite::ErrorCode;

use crate::StoreError;

/// Names the operation that failed and turns a driver error into a [`StoreError`].
pub(super) trait SqlResult<T> {
    /// Maps the error, naming `operation` in it.
    fn sql(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlResult<T> for Result<T, rusqlite::Error> {
    fn sql(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|error| to_store_error(operation, &error))
    }
}

/// Classifies a driver error: lock contention is its own variant because callers can retry it.
pub(super) fn to_store_error(operation: &'static str, error: &rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { operation },
        _ => StoreError::Backend {
            operation,
            message: error.to_string(),
        },
    }
}
