//! Opens the data dir's transparency log, creating its Ed25519 checkpoint key on first use.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_audit::{LogConfig, TransparencyLog};
use rampart_crypto::ed25519::Ed25519SigningKey;
use rampart_store::SqliteLogStorage;

/// The audit log of one data dir.
pub type AuditLog = TransparencyLog<SqliteLogStorage>;

/// The checkpoint origin line: names this log in every signed checkpoint.
pub const ORIGIN: &str = "rampart/audit";

/// Where the log's checkpoint-signing key lives.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("audit-ed25519.pem")
}

/// Opens the audit log in `data_dir`; the first call creates the signing key (mode 0600).
pub fn open(data_dir: &Path) -> anyhow::Result<AuditLog> {
    let path = key_path(data_dir);
    let key = if path.exists() {
        Ed25519SigningKey::load_pem_file(&path)
            .with_context(|| format!("cannot load the audit key `{}`", path.display()))?
    } else {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        let key = Ed25519SigningKey::generate().context("cannot generate the audit key")?;
        key.write_pem_file(&path)
            .with_context(|| format!("cannot write the audit key `{}`", path.display()))?;
        tracing::info!(path = %path.display(), "created the audit log's checkpoint key");
        key
    };
    let storage = SqliteLogStorage::open(data_dir).context("cannot open the audit log storage")?;
    TransparencyLog::open(storage, key, LogConfig::new(ORIGIN)).context("cannot open the audit log")
}
