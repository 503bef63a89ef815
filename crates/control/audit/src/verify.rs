//! Whole-log verification: recompute every hash, check every checkpoint, name the first fault.

use rampart_crypto::ed25519::NoteVerifierKey;

use crate::checkpoint::SignedCheckpoint;
use crate::entry::MAX_ENTRY_BYTES;
use crate::merkle::{
    CHAIN_START, Frontier, Hash, chain_hash, consistency_path, empty_root, leaf_hash,
};
use crate::proof::verify_consistency;
use crate::storage::{LogStorage, StoredCheckpoint, StoredTree};
use crate::{AuditError, TamperLocation, TransparencyLog};

/// Entries read from storage per chunk during verification.
const VERIFY_CHUNK: u64 = 4096;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries recomputed.
    pub entries: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: usize,
    /// Root of the whole log.
    pub root: Hash,
    /// Size of the newest checkpoint, if any.
    pub latest_checkpoint: Option<u64>,
}

/// The `index` field of canonical entry bytes, without decoding the rest into values.
fn entry_index(body: &[u8]) -> Result<u64, String> {
    #[derive(serde::Deserialize)]
    struct IndexOnly {
        index: u64,
    }
    if body.len() > MAX_ENTRY_BYTES {
        return Err(format!("{} bytes, at most {MAX_ENTRY_BYTES}", body.len()));
    }
    serde_json::from_slice::<IndexOnly>(body)
        .map(|e| e.index)
        .map_err(|e| e.to_string())
}

impl<S: LogStorage> TransparencyLog<S> {
    /// Verifies the whole log with its own key (see [`Self::verify_with`]).
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        self.verify_with(std::slice::from_ref(&self.verifier))
    }

    /// Recomputes the tree from the stored entries and checks, in log order, that:
    /// each entry sits at its index and names it, its bytes hash to its stored leaf hash, its
    /// chain value matches, every stored tree hash matches, every checkpoint is signed by a
    /// key in `verifiers`, names this origin and commits to the recomputed root at its size,
    /// and no checkpoint is beyond the end of the log.
    ///
    /// Fails with [`AuditError::Tampered`] naming the first fault. Appends wait while it runs
    /// (it reads the whole log; see `bench/results/audit.json` for entries per second).
    pub fn verify_with(&self, verifiers: &[NoteVerifierKey]) -> Result<VerifyReport, AuditError> {
        let inner = self.lock()?;
        let storage = &inner.storage;
        let len = storage.len()?;
        let checkpoints = storage.checkpoints()?;
        let mut pending = checkpoints.iter().peekable();
        let mut frontier = Frontier::default();
        let mut chain = CHAIN_START;
        let mut last_checkpoint = 0u64;
        let mut checked = 0usize;

        // Checkpoints of the empty tree come first.
        while let Some(cp) = pending.next_if(|c| c.size == 0) {
            self.check_checkpoint(cp, verifiers, &empty_root(), 0, &mut last_checkpoint)?;
            checked += 1;
        }
        let mut start = 0u64;
        while start < len {
            let end = start.saturating_add(VERIFY_CHUNK).min(len);
            let chunk = storage.entries(start, end)?;
            if chunk.is_empty() {
                return Err(AuditError::tampered(
                    TamperLocation::Entry(start),
                    "the entry is missing from storage",
                ));
            }
            for stored in chunk {
                let p = frontier.size();
                let here = TamperLocation::Entry(p);
                if stored.index != p {
                    return Err(AuditError::tampered(
                        here,
                        format!(
                            "the entry stored here has index `{}`: an entry was removed, inserted or moved",
                            stored.index
                        ),
                    ));
                }
                let claimed = entry_index(&stored.body).map_err(|why| {
                    AuditError::tampered(
                        here.clone(),
                        format!("the entry bytes are not a valid entry ({why})"),
                    )
                })?;
                if claimed != p {
                    return Err(AuditError::tampered(
                        here,
                        format!("the entry says it is index `{claimed}`: entries were reordered"),
                    ));
                }
                let leaf = leaf_hash(&stored.body);
                if leaf != stored.leaf_hash {
                    return Err(AuditError::tampered(
                        here,
                        "the entry bytes do not match their leaf hash: the entry was changed",
                    ));
                }
                let mut closed = Vec::new();
                frontier.push(leaf, |n| closed.push(n));
                chain = chain_hash(&chain, &leaf);
                if chain != stored.chain_hash {
                    return Err(AuditError::tampered(
                        here,
                        "the chain value differs: this entry and its leaf hash were changed",
                    ));
                }
                for n in closed {
                    if storage.node(n.level, n.index)? != Some(n.hash) {
                        return Err(AuditError::tampered(
                            TamperLocation::TreeNode {
                                level: n.level,
                                index: n.index,
                            },
                            "it does not match the entries below it",
                        ));
                    }
                }
                while let Some(cp) = pending.next_if(|c| c.size <= p + 1) {
                    let root = frontier.root();
                    self.check_checkpoint(cp, verifiers, &root, p + 1, &mut last_checkpoint)?;
                    checked += 1;
                }
            }
            start = end;
        }
        if let Some(cp) = pending.next() {
            return Err(AuditError::tampered(
                TamperLocation::Entry(len),
                format!(
                    "the log ends after {len} entries but a checkpoint covers {}: the log was truncated",
                    cp.size
                ),
            ));
        }
        Ok(VerifyReport {
            entries: len,
            checkpoints: checked,
            root: frontier.root(),
            latest_checkpoint: checkpoints.last().map(|c| c.size),
        })
    }

    fn check_checkpoint(
        &self,
        stored: &StoredCheckpoint,
        verifiers: &[NoteVerifierKey],
        root: &Hash,
        size: u64,
        last: &mut u64,
    ) -> Result<(), AuditError> {
        let here = TamperLocation::Checkpoint(stored.size);
        if stored.size != size {
            return Err(AuditError::tampered(
                here,
                format!("checkpoints are out of order (after size `{last}`)"),
            ));
        }
        let signed = SignedCheckpoint::verify_text(&stored.note, verifiers).map_err(|e| {
            AuditError::tampered(here.clone(), format!("its signature does not verify ({e})"))
        })?;
        let cp = &signed.checkpoint;
        if cp.origin != self.origin {
            return Err(AuditError::tampered(
                here,
                format!("it names origin `{}`, not `{}`", cp.origin, self.origin),
            ));
        }
        if cp.size != stored.size {
            return Err(AuditError::tampered(
                here,
                format!(
                    "it signs size `{}` but is stored for size `{}`",
                    cp.size, stored.size
                ),
            ));
        }
        if &cp.root != root {
            return Err(AuditError::tampered(
                TamperLocation::EntriesBetween {
                    start: *last,
                    end: size,
                },
                format!(
                    "the signed checkpoint at size `{size}` has root `{}` but the entries hash to `{}`: entries were rewritten together with their hashes",
                    hex::encode(cp.root),
                    hex::encode(root)
                ),
            ));
        }
        *last = size;
        Ok(())
    }

    /// Verifies the log, then proves with a consistency proof that it extends `exported`, a
    /// checkpoint note saved outside the data directory. This catches a log rewritten and
    /// re-signed by someone holding both the data and the key.
    pub fn verify_against(&self, exported: &str) -> Result<VerifyReport, AuditError> {
        self.verify_against_all(&[exported])
    }

    /// Like [`Self::verify_against`] for several exported checkpoints; a failure names the
    /// entries between the largest consistent export and the smallest inconsistent one.
    pub fn verify_against_all(&self, exported: &[&str]) -> Result<VerifyReport, AuditError> {
        let verifiers = std::slice::from_ref(&self.verifier);
        let mut parsed = exported
            .iter()
            .map(|t| SignedCheckpoint::verify_text(t, verifiers))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.sort_by_key(|c| c.checkpoint.size);
        if let Some(other) = parsed.iter().find(|c| c.checkpoint.origin != self.origin) {
            return Err(AuditError::InvalidCheckpoint(format!(
                "exported checkpoint is for origin `{}`, this log is `{}`",
                other.checkpoint.origin, self.origin
            )));
        }
        let report = self.verify()?;
        let inner = self.lock()?;
        let tree = StoredTree(&inner.storage);
        let mut consistent_up_to = 0u64;
        for cp in &parsed {
            let (size, root) = (cp.checkpoint.size, cp.checkpoint.root);
            if size > report.entries {
                return Err(AuditError::tampered(
                    TamperLocation::Entry(report.entries),
                    format!(
                        "the log has {} entries but an exported checkpoint covers {size}: it was truncated",
                        report.entries
                    ),
                ));
            }
            if size == 0 {
                // Every log extends the empty tree.
                continue;
            }
            let proof = consistency_path(&tree, size, report.entries)?;
            if verify_consistency(size, report.entries, &root, &report.root, &proof).is_err() {
                return Err(AuditError::tampered(
                    TamperLocation::EntriesBetween {
                        start: consistent_up_to,
                        end: size,
                    },
                    format!(
                        "the log does not extend the exported checkpoint at size `{size}`: it was rewritten and re-signed"
                    ),
                ));
            }
            consistent_up_to = size;
        }
        Ok(report)
    }
}
