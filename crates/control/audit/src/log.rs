//! The transparency log: appends, checkpoints and proofs over a [`LogStorage`].

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_crypto::ed25519::{Ed25519SigningKey, NoteVerifierKey};

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::{AuditEvent, AuditReceipt, AuditSink, LogEntry, canonical_entry};
use crate::merkle::{
    CHAIN_START, Frontier, Hash, chain_hash, consistency_path, empty_root, inclusion_path,
    leaf_hash,
};
use crate::proof::{
    CONSISTENCY_PROOF_FORMAT, ConsistencyProof, INCLUSION_PROOF_FORMAT, InclusionProof,
};
use crate::storage::{LogStorage, MemoryStorage, StoredCheckpoint, StoredEntry, StoredTree};
use crate::{AuditError, TamperLocation};

/// Default number of entries between automatic checkpoints.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

/// How a log names itself and how often it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Checkpoint origin line and signing key name, e.g. `rampart.example/audit`.
    pub origin: String,
    /// Sign a checkpoint whenever the size reaches a multiple of this (0: only on demand).
    pub checkpoint_every: u64,
}

impl LogConfig {
    /// A configuration with the default checkpoint interval.
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        }
    }
}

/// Source of entry timestamps (injectable for reproducible tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub(crate) struct Inner<S> {
    pub(crate) storage: S,
    pub(crate) frontier: Frontier,
    /// Chain value of the last entry.
    pub(crate) chain: Hash,
}

/// An append-only, tamper-evident log of audit events (see the crate docs for the design).
pub struct TransparencyLog<S: LogStorage> {
    pub(crate) inner: Mutex<Inner<S>>,
    pub(crate) origin: String,
    /// `None` when opened for verification only.
    key: Option<Ed25519SigningKey>,
    pub(crate) verifier: NoteVerifierKey,
    checkpoint_every: u64,
    clock: Clock,
}

impl<S: LogStorage> std::fmt::Debug for TransparencyLog<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransparencyLog")
            .field("origin", &self.origin)
            .field("verifier", &self.verifier.to_string())
            .field("checkpoint_every", &self.checkpoint_every)
            .finish_non_exhaustive()
    }
}

impl TransparencyLog<MemoryStorage> {
    /// A log kept in memory.
    pub fn in_memory(key: Ed25519SigningKey, config: LogConfig) -> Result<Self, AuditError> {
        Self::open(MemoryStorage::new(), key, config)
    }
}

impl<S: LogStorage> TransparencyLog<S> {
    /// Opens a log over `storage` (empty or previously written), signing with `key`.
    ///
    /// Opening is O(log n): it reads the right edge of the tree. It does not verify the stored
    /// data; call [`Self::verify`] for that.
    pub fn open(storage: S, key: Ed25519SigningKey, config: LogConfig) -> Result<Self, AuditError> {
        let verifier = NoteVerifierKey::new(&config.origin, key.verifying_key())?;
        Self::open_inner(storage, Some(key), verifier, config)
    }

    /// Opens a log for verification and proofs only, trusting `verifier` (the published
    /// `name+id+key` string) instead of holding the private key. Appending and signing fail.
    pub fn open_read_only(
        storage: S,
        verifier: NoteVerifierKey,
        config: LogConfig,
    ) -> Result<Self, AuditError> {
        if verifier.name != config.origin {
            return Err(AuditError::InvalidCheckpoint(format!(
                "verifier key is named `{}` but the log's origin is `{}`",
                verifier.name, config.origin
            )));
        }
        Self::open_inner(storage, None, verifier, config)
    }

    fn open_inner(
        storage: S,
        key: Option<Ed25519SigningKey>,
        verifier: NoteVerifierKey,
        config: LogConfig,
    ) -> Result<Self, AuditError> {
        let size = storage.len()?;
        let chain = match size.checked_sub(1) {
            None => CHAIN_START,
            Some(last) => storage
                .entries(last, size)?
                .pop()
                .map(|e| e.chain_hash)
                .ok_or_else(|| {
                    AuditError::Storage(format!(
                        "entry `{last}` is missing; the store is incomplete"
                    ))
                })?,
        };
        let frontier = Frontier::from_nodes(size, |level, index| {
            storage.node(level, index)?.ok_or_else(|| {
                AuditError::Storage(format!(
                    "tree hash ({level}, {index}) is missing; the store is incomplete"
                ))
            })
        })?;
        Ok(Self {
            inner: Mutex::new(Inner {
                storage,
                frontier,
                chain,
            }),
            origin: config.origin,
            key,
            verifier,
            checkpoint_every: config.checkpoint_every,
            clock: Arc::new(Utc::now),
        })
    }

    /// Replaces the clock that timestamps entries.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The log's origin (checkpoint first line and key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key (`name+id+key`) that third parties need to check checkpoints.
    pub fn verifier_key(&self) -> &NoteVerifierKey {
        &self.verifier
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Inner<S>>, AuditError> {
        self.inner.lock().map_err(|_| {
            AuditError::Storage("the audit log lock is poisoned by an earlier panic".to_owned())
        })
    }

    /// Number of entries.
    pub fn len(&self) -> Result<u64, AuditError> {
        Ok(self.lock()?.frontier.size())
    }

    /// Whether the log has no entries.
    pub fn is_empty(&self) -> Result<bool, AuditError> {
        Ok(self.len()? == 0)
    }

    /// The current root hash.
    pub fn root(&self) -> Result<Hash, AuditError> {
        Ok(self.lock()?.frontier.root())
    }

    /// Appends `events` in order, in one storage write, and signs every checkpoint that falls due.
    pub fn append_batch(&self, events: &[AuditEvent]) -> Result<Vec<AuditReceipt>, AuditError> {
        // Refuse before writing anything: a stored batch whose checkpoint cannot be signed
        // would leave the log behind its schedule.
        self.signing_key()?;
        let mut inner = self.lock()?;
        // Work on a copy of the frontier; commit it only once storage accepted the batch.
        let mut frontier = inner.frontier.clone();
        let mut chain = inner.chain;
        let mut entries = Vec::with_capacity(events.len());
        let mut nodes = Vec::new();
        let mut due = Vec::new();
        for event in events {
            let index = frontier.size();
            let time = (self.clock)().to_rfc3339_opts(SecondsFormat::Micros, true);
            let body = canonical_entry(event, index, &time)?;
            let leaf = leaf_hash(&body);
            frontier.push(leaf, |n| nodes.push(n));
            chain = chain_hash(&chain, &leaf);
            if self.checkpoint_every > 0 && (index + 1).is_multiple_of(self.checkpoint_every) {
                due.push((index + 1, frontier.root()));
            }
            entries.push(StoredEntry {
                index,
                body,
                leaf_hash: leaf,
                chain_hash: chain,
            });
        }
        inner.storage.append_leaves(&entries, &nodes)?;
        inner.frontier = frontier;
        inner.chain = chain;
        for (size, root) in due {
            self.sign_and_store(&mut inner.storage, size, root)?;
        }
        Ok(entries
            .iter()
            .map(|e| AuditReceipt {
                index: e.index,
                leaf_hash: e.leaf_hash,
            })
            .collect())
    }

    fn sign_and_store(
        &self,
        storage: &mut S,
        size: u64,
        root: Hash,
    ) -> Result<SignedCheckpoint, AuditError> {
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
            extensions: Vec::new(),
        };
        let signed = SignedCheckpoint::sign(cp, &self.origin, self.signing_key()?)?;
        storage.save_checkpoint(&StoredCheckpoint {
            size,
            note: signed.to_note_text(),
        })?;
        Ok(signed)
    }

    fn signing_key(&self) -> Result<&Ed25519SigningKey, AuditError> {
        self.key.as_ref().ok_or(AuditError::ReadOnly)
    }

    /// Signs a checkpoint at the current size (or returns the latest one if it is already
    /// at this size). Export its note text to catch a later rewrite with [`Self::verify_against`].
    pub fn checkpoint(&self) -> Result<SignedCheckpoint, AuditError> {
        let mut inner = self.lock()?;
        let size = inner.frontier.size();
        if let Some(latest) = inner.storage.latest_checkpoint()?
            && latest.size == size
        {
            return SignedCheckpoint::verify_text(
                &latest.note,
                std::slice::from_ref(&self.verifier),
            );
        }
        let root = inner.frontier.root();
        self.sign_and_store(&mut inner.storage, size, root)
    }

    /// The newest stored checkpoint, signature checked.
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, AuditError> {
        let inner = self.lock()?;
        inner
            .storage
            .latest_checkpoint()?
            .map(|c| SignedCheckpoint::verify_text(&c.note, std::slice::from_ref(&self.verifier)))
            .transpose()
    }

    /// The entry at `index`, decoded, with its canonical bytes.
    pub fn entry(&self, index: u64) -> Result<(LogEntry, Vec<u8>), AuditError> {
        let inner = self.lock()?;
        let size = inner.frontier.size();
        let stored = inner
            .storage
            .entries(index, index.saturating_add(1))?
            .pop()
            .ok_or(AuditError::IndexOutOfRange { index, size })?;
        Ok((LogEntry::from_bytes(&stored.body)?, stored.body))
    }

    /// Inclusion proof of entry `index` against the newest signed checkpoint, which is embedded.
    pub fn prove(&self, index: u64) -> Result<InclusionProof, AuditError> {
        let latest = self
            .latest_checkpoint()?
            .ok_or(AuditError::NotCovered { index })?;
        if latest.checkpoint.size <= index {
            return Err(AuditError::NotCovered { index });
        }
        let mut proof = self.prove_at(index, latest.checkpoint.size)?;
        if proof.root_hash != latest.checkpoint.root {
            return Err(AuditError::tampered(
                TamperLocation::Checkpoint(latest.checkpoint.size),
                "the stored tree does not match the signed checkpoint; run `rampart audit verify`",
            ));
        }
        // A stored tree hash on the path may have been altered; never hand out a bad proof.
        proof.verify().map_err(|e| {
            AuditError::tampered(
                TamperLocation::Entry(index),
                format!("the generated proof does not verify ({e}); run `rampart audit verify`"),
            )
        })?;
        proof.checkpoint = Some(latest.to_note_text());
        Ok(proof)
    }

    /// Inclusion proof of entry `index` in the tree of the first `tree_size` entries (no checkpoint).
    pub fn prove_at(&self, index: u64, tree_size: u64) -> Result<InclusionProof, AuditError> {
        let inner = self.lock()?;
        let size = inner.frontier.size();
        if tree_size > size || index >= tree_size {
            return Err(AuditError::IndexOutOfRange {
                index: index.max(tree_size),
                size,
            });
        }
        let tree = StoredTree(&inner.storage);
        let hashes = inclusion_path(&tree, index, tree_size)?;
        let root_hash = crate::merkle::SubtreeSource::subtree_root(&tree, 0, tree_size)?;
        let stored = inner
            .storage
            .entries(index, index + 1)?
            .pop()
            .ok_or(AuditError::IndexOutOfRange { index, size })?;
        let entry = String::from_utf8(stored.body).map_err(|_| {
            AuditError::tampered(TamperLocation::Entry(index), "entry bytes are not UTF-8")
        })?;
        Ok(InclusionProof {
            format: INCLUSION_PROOF_FORMAT.to_owned(),
            origin: self.origin.clone(),
            leaf_index: index,
            tree_size,
            leaf_hash: stored.leaf_hash,
            entry,
            hashes,
            root_hash,
            checkpoint: None,
        })
    }

    /// Consistency proof that the tree of `second` entries extends the tree of `first`.
    pub fn consistency(&self, first: u64, second: u64) -> Result<ConsistencyProof, AuditError> {
        let inner = self.lock()?;
        let size = inner.frontier.size();
        if first == 0 {
            return Err(AuditError::InvalidProof(
                "a consistency proof from the empty tree is meaningless; pick a first size of at least 1".to_owned(),
            ));
        }
        if second > size || first > second {
            return Err(AuditError::IndexOutOfRange {
                index: second.max(first),
                size,
            });
        }
        let tree = StoredTree(&inner.storage);
        let root_of = |n: u64| -> Result<Hash, AuditError> {
            if n == 0 {
                Ok(empty_root())
            } else {
                crate::merkle::SubtreeSource::subtree_root(&tree, 0, n)
            }
        };
        Ok(ConsistencyProof {
            format: CONSISTENCY_PROOF_FORMAT.to_owned(),
            first_size: first,
            second_size: second,
            first_root: root_of(first)?,
            second_root: root_of(second)?,
            hashes: consistency_path(&tree, first, second)?,
        })
    }

    /// Gives the storage back.
    pub fn into_storage(self) -> Result<S, AuditError> {
        self.inner.into_inner().map(|i| i.storage).map_err(|_| {
            AuditError::Storage("the audit log lock is poisoned by an earlier panic".to_owned())
        })
    }
}

impl<S: LogStorage + Send> AuditSink for TransparencyLog<S> {
    fn record(&self, event: AuditEvent) -> Result<AuditReceipt, AuditError> {
        self.append_batch(std::slice::from_ref(&event))?
            .pop()
            .ok_or_else(|| AuditError::Storage("append returned no receipt".to_owned()))
    }

    fn record_batch(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditReceipt>, AuditError> {
        self.append_batch(&events)
    }
}
