//! Rampart's tamper-evident transparency log: RFC 6962 Merkle tree, proofs, signed checkpoints.
//!
//! Input: [`AuditEvent`]s (model signed or loaded, decision, approval, LLM prompt, …) recorded
//! through the [`AuditSink`] trait. Output: [`AuditReceipt`]s, signed [`SignedCheckpoint`]s in
//! the C2SP tlog-checkpoint format, [`InclusionProof`]s and [`ConsistencyProof`]s that anyone
//! can check, and a [`VerifyReport`] or a [`Tamper`] report naming the first altered position.
//!
//! # Design
//!
//! Each event becomes an entry with canonical bytes (sorted-key compact JSON that includes the
//! entry's index and time, see [`entry`]). The log is an RFC 6962 / RFC 9162 Merkle tree over
//! those bytes (`leaf = SHA-256(0x00 || entry)`, `node = SHA-256(0x01 || left || right)`).
//! Storage is behind [`LogStorage`]; [`MemoryStorage`] ships here and the store crate adds
//! `SQLite`. Three layers of evidence let verification name the first bad position:
//!
//! 1. **Per entry**: its index (also inside its bytes), its leaf hash and a *chain value*
//!    `SHA-256(0x02 || previous chain value || leaf hash)` that links it to every entry before
//!    it for one hash per append. Changing, removing or reordering entries (with or without
//!    their leaf hashes) breaks the first affected one, so [`TransparencyLog::verify`] names it
//!    exactly: `TamperLocation::Entry(i)`. (Storing the running tree root per entry would give
//!    the same evidence at `O(log n)` hashes per append.)
//! 2. **Periodic signed checkpoints**: every `checkpoint_every` entries (and on demand) the log
//!    signs `origin / size / root` with Ed25519 as a C2SP signed note. Someone who rewrites
//!    entries *and* all their stored hashes, but lacks the key, is caught at the next checkpoint;
//!    the report names the range since the previous one (`TamperLocation::EntriesBetween`), so
//!    the checkpoint interval is the localisation granularity in that case. A replaced or
//!    forged checkpoint is named as `TamperLocation::Checkpoint(size)`; a truncated log is
//!    named at its new end.
//! 3. **Exported checkpoints**: someone holding the data directory *and* the key can rewrite
//!    and re-sign everything. [`TransparencyLog::verify_against`] takes a checkpoint note
//!    exported earlier (kept elsewhere: a ticket, a witness, a printout) and proves with a
//!    consistency proof that the current log extends it.
//!
//! Complete-subtree hashes are stored as they close, so inclusion and consistency proofs read
//! `O(log n)` hashes, and opening a log reads only the right edge of the tree.
//!
//! # Checking a proof without Rampart
//!
//! `rampart audit prove --entry N` prints an [`InclusionProof`] as JSON. With Python only:
//!
//! ```text
//! import hashlib, json
//! p = json.load(open("proof.json"))
//! h = lambda b: hashlib.sha256(b).digest()
//! r = h(b"\x00" + p["entry"].encode())               # leaf hash of the exact entry bytes
//! assert r.hex() == p["leaf_hash"]
//! fn, sn = p["leaf_index"], p["tree_size"] - 1       # RFC 9162 section 2.1.3.2
//! for x in map(bytes.fromhex, p["hashes"]):
//!     assert sn > 0
//!     if fn & 1 or fn == sn:
//!         r = h(b"\x01" + x + r)
//!         while not fn & 1 and fn:
//!             fn >>= 1; sn >>= 1
//!     else:
//!         r = h(b"\x01" + r + x)
//!     fn >>= 1; sn >>= 1
//! assert sn == 0 and r.hex() == p["root_hash"]
//! ```
//!
//! Then check that `root_hash` is the base64-decoded third line of `p["checkpoint"]` and verify
//! that note's Ed25519 signature with the log's verifier key (`docs/formats/audit-log.md`).
//!
//! # Example
//!
//! ```
//! use rampart_audit::{AuditEvent, AuditKind, AuditSink, LogConfig, TransparencyLog};
//! use rampart_crypto::ed25519::Ed25519SigningKey;
//!
//! let key = Ed25519SigningKey::generate()?;
//! let log = TransparencyLog::in_memory(key, LogConfig::new("rampart.example/audit"))?;
//! let receipt = log.record(AuditEvent::new(
//!     AuditKind::Decision,
//!     "policy-engine",
//!     "incident-42",
//!     serde_json::json!({"action": "isolate-host", "score": 87}),
//! ))?;
//! let exported = log.checkpoint()?.to_note_text();
//! let proof = log.prove(receipt.index)?;
//! proof.verify()?;
//! log.verify_against(&exported)?;
//! # Ok::<(), rampart_audit::AuditError>(())
//! ```

pub mod checkpoint;
pub mod entry;
mod error;
mod log;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod storage;
mod verify;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::{AuditEvent, AuditKind, AuditReceipt, AuditSink, LogEntry};
pub use error::{AuditError, Tamper, TamperLocation};
pub use log::{Clock, DEFAULT_CHECKPOINT_EVERY, LogConfig, TransparencyLog};
pub use proof::{ConsistencyProof, InclusionProof};
pub use storage::{LogStorage, MemoryParts, MemoryStorage, StoredCheckpoint, StoredEntry};
pub use verify::VerifyReport;
