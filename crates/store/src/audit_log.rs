//! The audit log's storage in the embedded `SQLite` database.
//!
//! [`rampart_audit::TransparencyLog`] keeps its integrity itself (leaf hashes, running chain,
//! stored subtree hashes, signed checkpoints); this backend only stores and returns what it is
//! given, one transaction per appended batch so that a crash never leaves half a batch.

use std::path::Path;

use rampart_audit::merkle::{Hash, TreeNode};
use rampart_audit::{AuditError, LogStorage, StoredCheckpoint, StoredEntry};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::sqlite::DATABASE_FILE;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_entries (
    idx INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    chain_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL,
    note TEXT NOT NULL
);
";

/// Audit-log storage in the data directory's `SQLite` database.
pub struct SqliteLogStorage {
    conn: Connection,
}

impl std::fmt::Debug for SqliteLogStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLogStorage").finish_non_exhaustive()
    }
}

fn storage_error(error: impl std::fmt::Display) -> AuditError {
    AuditError::Storage(error.to_string())
}

fn to_i64(value: u64) -> Result<i64, AuditError> {
    i64::try_from(value).map_err(|_| storage_error(format!("index `{value}` is out of range")))
}

fn to_hash(bytes: &[u8]) -> Result<Hash, AuditError> {
    Hash::try_from(bytes).map_err(|_| storage_error("stored hash is not 32 bytes"))
}

impl SqliteLogStorage {
    /// Opens (creating if needed) the audit tables in `data_dir`'s database.
    pub fn open(data_dir: &Path) -> Result<Self, AuditError> {
        std::fs::create_dir_all(data_dir).map_err(storage_error)?;
        let conn = Connection::open(data_dir.join(DATABASE_FILE)).map_err(storage_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(storage_error)?;
        crate::sqlite::init_file(&conn).map_err(storage_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(storage_error)?;
        conn.execute_batch(SCHEMA).map_err(storage_error)?;
        Ok(Self { conn })
    }

    /// Runs raw SQL against the audit tables; for tamper tests that must corrupt storage the
    /// way an attacker holding the data directory would.
    #[doc(hidden)]
    pub fn execute_for_tests(&self, sql: &str) -> Result<usize, AuditError> {
        self.conn.execute(sql, []).map_err(storage_error)
    }
}

impl LogStorage for SqliteLogStorage {
    fn append_leaves(
        &mut self,
        entries: &[StoredEntry],
        nodes: &[TreeNode],
    ) -> Result<(), AuditError> {
        let tx = self.conn.transaction().map_err(storage_error)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO audit_entries (idx, body, leaf_hash, chain_hash) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(storage_error)?;
            for entry in entries {
                insert
                    .execute(params![
                        to_i64(entry.index)?,
                        entry.body,
                        entry.leaf_hash.as_slice(),
                        entry.chain_hash.as_slice()
                    ])
                    .map_err(storage_error)?;
            }
            let mut node = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
                )
                .map_err(storage_error)?;
            for tree_node in nodes {
                node.execute(params![
                    tree_node.level,
                    to_i64(tree_node.index)?,
                    tree_node.hash.as_slice()
                ])
                .map_err(storage_error)?;
            }
        }
        tx.commit().map_err(storage_error)
    }

    fn len(&self) -> Result<u64, AuditError> {
        let count: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM audit_entries", [], |row| row.get(0))
            .map_err(storage_error)?;
        u64::try_from(count).map_err(storage_error)
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>, AuditError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT idx, body, leaf_hash, chain_hash FROM audit_entries \
                 WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )
            .map_err(storage_error)?;
        let rows = statement
            .query_map(params![to_i64(start)?, to_i64(end)?], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(storage_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (index, body, leaf, chain) = row.map_err(storage_error)?;
            out.push(StoredEntry {
                index: u64::try_from(index).map_err(storage_error)?,
                body,
                leaf_hash: to_hash(&leaf)?,
                chain_hash: to_hash(&chain)?,
            });
        }
        Ok(out)
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, AuditError> {
        let bytes: Option<Vec<u8>> = if level == 0 {
            self.conn
                .query_row(
                    "SELECT leaf_hash FROM audit_entries WHERE idx = ?1",
                    params![to_i64(index)?],
                    |row| row.get(0),
                )
                .optional()
                .map_err(storage_error)?
        } else {
            self.conn
                .query_row(
                    "SELECT hash FROM audit_nodes WHERE level = ?1 AND idx = ?2",
                    params![level, to_i64(index)?],
                    |row| row.get(0),
                )
                .optional()
                .map_err(storage_error)?
        };
        bytes.as_deref().map(to_hash).transpose()
    }

    fn save_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), AuditError> {
        self.conn
            .execute(
                "INSERT INTO audit_checkpoints (size, note) VALUES (?1, ?2)",
                params![to_i64(checkpoint.size)?, checkpoint.note],
            )
            .map_err(storage_error)?;
        Ok(())
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, AuditError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT size, note FROM audit_checkpoints ORDER BY seq")
            .map_err(storage_error)?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(storage_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (size, note) = row.map_err(storage_error)?;
            out.push(StoredCheckpoint {
                size: u64::try_from(size).map_err(storage_error)?,
                note,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_audit::{AuditEvent, AuditKind, AuditSink as _, LogConfig, TransparencyLog};
    use rampart_crypto::ed25519::Ed25519SigningKey;

    fn event(n: u64) -> AuditEvent {
        AuditEvent::new(
            AuditKind::Decision,
            "tester",
            format!("incident-{n}"),
            serde_json::json!({ "n": n }),
        )
    }

    #[test]
    fn log_survives_reopen_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let key = Ed25519SigningKey::generate().unwrap();
        let exported = {
            let storage = SqliteLogStorage::open(dir.path()).unwrap();
            let log =
                TransparencyLog::open(storage, key.clone(), LogConfig::new("test/audit")).unwrap();
            for n in 0..100 {
                log.record(event(n)).unwrap();
            }
            log.checkpoint().unwrap().to_note_text()
        };
        let storage = SqliteLogStorage::open(dir.path()).unwrap();
        let log = TransparencyLog::open(storage, key, LogConfig::new("test/audit")).unwrap();
        assert_eq!(log.len().unwrap(), 100);
        log.record(event(100)).unwrap();
        log.verify().unwrap();
        log.verify_against(&exported).unwrap();
        log.prove(42).unwrap().verify().unwrap();
    }

    #[test]
    fn a_changed_stored_entry_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = Ed25519SigningKey::generate().unwrap();
        let storage = SqliteLogStorage::open(dir.path()).unwrap();
        let log =
            TransparencyLog::open(storage, key.clone(), LogConfig::new("test/audit")).unwrap();
        for n in 0..20 {
            log.record(event(n)).unwrap();
        }
        log.checkpoint().unwrap();
        drop(log);
        let tamper = SqliteLogStorage::open(dir.path()).unwrap();
        tamper
            .execute_for_tests(
                "UPDATE audit_entries SET body = CAST(REPLACE(CAST(body AS TEXT), 'incident-7', 'incident-8') AS BLOB) WHERE idx = 7",
            )
            .unwrap();
        let log = TransparencyLog::open(tamper, key, LogConfig::new("test/audit")).unwrap();
        let error = log.verify().unwrap_err().to_string();
        assert!(error.contains('7'), "{error}");
    }
}
