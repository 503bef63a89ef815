//! Where the log keeps its entries, tree hashes and checkpoints.
//!
//! [`LogStorage`] is synchronous and batch-oriented so that a `SQLite` implementation can write a
//! whole batch in one transaction. [`MemoryStorage`] keeps everything in vectors.

use crate::AuditError;
use crate::merkle::{Hash, SubtreeSource, TreeNode, split_point};

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Zero-based position.
    pub index: u64,
    /// Canonical entry bytes (see [`crate::entry`]); the leaf data.
    pub body: Vec<u8>,
    /// `SHA-256(0x00 || body)`.
    pub leaf_hash: Hash,
    /// Chain value `SHA-256(0x02 || previous entry's chain_hash || leaf_hash)` (the first entry
    /// chains from 32 zero bytes); see [`crate::merkle::chain_hash`].
    pub chain_hash: Hash,
}

/// One stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size it signs.
    pub size: u64,
    /// The full signed note text.
    pub note: String,
}

/// Storage backend of a [`crate::TransparencyLog`].
///
/// Implementations store what they are given and return it unchanged; they do not need to
/// understand it. Integrity is checked by the log, never assumed from the backend.
pub trait LogStorage {
    /// Appends `entries` (whose indices continue the log) and the complete-subtree hashes of
    /// level >= 1 that they close, atomically: either everything is stored or nothing is.
    fn append_leaves(
        &mut self,
        entries: &[StoredEntry],
        nodes: &[TreeNode],
    ) -> Result<(), AuditError>;

    /// Number of stored entries.
    fn len(&self) -> Result<u64, AuditError>;

    /// Whether the log is empty.
    fn is_empty(&self) -> Result<bool, AuditError> {
        Ok(self.len()? == 0)
    }

    /// Entries with `start <= index < end`, in order (fewer if the log is shorter).
    fn entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>, AuditError>;

    /// The hash of the complete subtree of `2^level` leaves starting at leaf `index << level`;
    /// level 0 is the leaf hash of entry `index`. `None` if it was never stored.
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, AuditError>;

    /// Stores a signed checkpoint.
    fn save_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), AuditError>;

    /// All stored checkpoints, oldest first.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, AuditError>;

    /// The newest checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, AuditError> {
        Ok(self.checkpoints()?.pop())
    }
}

/// The stored state of a [`MemoryStorage`], with public fields so tools and tests can inspect
/// (or deliberately corrupt) it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryParts {
    /// Entries in order.
    pub entries: Vec<StoredEntry>,
    /// `nodes[l - 1][i]` is the complete subtree of level `l >= 1` at index `i`.
    pub nodes: Vec<Vec<Hash>>,
    /// Checkpoints, oldest first.
    pub checkpoints: Vec<StoredCheckpoint>,
}

/// Keeps the whole log in memory (tests, benchmarks, short-lived runs).
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    parts: MemoryParts,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding exactly `parts`, unchecked (the log's `verify` checks it).
    pub fn from_parts(parts: MemoryParts) -> Self {
        Self { parts }
    }

    /// The stored state.
    pub fn into_parts(self) -> MemoryParts {
        self.parts
    }
}

impl LogStorage for MemoryStorage {
    fn append_leaves(
        &mut self,
        entries: &[StoredEntry],
        nodes: &[TreeNode],
    ) -> Result<(), AuditError> {
        let len = self.parts.entries.len() as u64;
        for (i, e) in entries.iter().enumerate() {
            if e.index != len + i as u64 {
                return Err(AuditError::Storage(format!(
                    "append of entry `{}` at position `{}`",
                    e.index,
                    len + i as u64
                )));
            }
        }
        // Check every node before changing anything, so a failed append changes nothing.
        let mut next: Vec<u64> = self.parts.nodes.iter().map(|l| l.len() as u64).collect();
        for n in nodes {
            let level = usize::from(n.level);
            if level == 0 {
                return Err(AuditError::Storage(
                    "leaf hashes are stored with their entries".to_owned(),
                ));
            }
            if next.len() < level {
                next.resize(level, 0);
            }
            let slot = next
                .get_mut(level - 1)
                .ok_or_else(|| AuditError::Storage("node level".to_owned()))?;
            if *slot != n.index {
                return Err(AuditError::Storage(format!(
                    "node ({}, {}) appended out of order",
                    n.level, n.index
                )));
            }
            *slot += 1;
        }
        self.parts.entries.extend_from_slice(entries);
        for n in nodes {
            let level = usize::from(n.level);
            if self.parts.nodes.len() < level {
                self.parts.nodes.resize(level, Vec::new());
            }
            if let Some(l) = self.parts.nodes.get_mut(level - 1) {
                l.push(n.hash);
            }
        }
        Ok(())
    }

    fn len(&self) -> Result<u64, AuditError> {
        Ok(self.parts.entries.len() as u64)
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>, AuditError> {
        let len = self.parts.entries.len();
        let s = usize::try_from(start).unwrap_or(usize::MAX).min(len);
        let e = usize::try_from(end).unwrap_or(usize::MAX).min(len).max(s);
        Ok(self.parts.entries.get(s..e).unwrap_or_default().to_vec())
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, AuditError> {
        let Ok(i) = usize::try_from(index) else {
            return Ok(None);
        };
        if level == 0 {
            return Ok(self.parts.entries.get(i).map(|e| e.leaf_hash));
        }
        Ok(self
            .parts
            .nodes
            .get(usize::from(level) - 1)
            .and_then(|l| l.get(i))
            .copied())
    }

    fn save_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), AuditError> {
        self.parts.checkpoints.push(checkpoint.clone());
        Ok(())
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, AuditError> {
        Ok(self.parts.checkpoints.clone())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, AuditError> {
        Ok(self.parts.checkpoints.last().cloned())
    }
}

/// Answers subtree roots from stored complete-subtree hashes: `O(log n)` lookups per range.
pub(crate) struct StoredTree<'a, S: LogStorage + ?Sized>(pub(crate) &'a S);

impl<S: LogStorage + ?Sized> SubtreeSource for StoredTree<'_, S> {
    fn subtree_root(&self, start: u64, end: u64) -> Result<Hash, AuditError> {
        let n = end.saturating_sub(start);
        if n == 0 {
            return Err(AuditError::IndexOutOfRange {
                index: start,
                size: end,
            });
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
            return self.0.node(level, start >> level)?.ok_or_else(|| {
                AuditError::Storage(format!(
                    "tree hash for entries `{start}..{end}` is missing; run `rampart audit verify`"
                ))
            });
        }
        let k = split_point(n);
        let left = self.subtree_root(start, start + k)?;
        let right = self.subtree_root(start + k, end)?;
        Ok(crate::merkle::node_hash(&left, &right))
    }
}

#[cfg(test)]
#[expect(clippy::cast_possible_truncation, reason = "test trees are small")]
mod tests {
    use super::*;
    use crate::merkle::tests::{leaves, reference_path};
    use crate::merkle::{Frontier, inclusion_path};

    fn filled(n: usize) -> (MemoryStorage, Vec<Hash>) {
        let ls = leaves(n);
        let mut f = Frontier::default();
        let mut nodes = Vec::new();
        let mut entries = Vec::new();
        for (i, l) in ls.iter().enumerate() {
            f.push(*l, |node| nodes.push(node));
            entries.push(StoredEntry {
                index: i as u64,
                body: vec![],
                leaf_hash: *l,
                chain_hash: [0; 32],
            });
        }
        let mut s = MemoryStorage::new();
        s.append_leaves(&entries, &nodes).unwrap();
        (s, ls)
    }

    #[test]
    fn stored_tree_answers_like_the_leaves() {
        let (s, ls) = filled(37);
        for size in [1u64, 2, 5, 16, 37] {
            for m in 0..size {
                assert_eq!(
                    inclusion_path(&StoredTree(&s), m, size).unwrap(),
                    reference_path(m as usize, &ls[..size as usize])
                );
            }
        }
    }

    #[test]
    fn out_of_order_appends_change_nothing() {
        let (mut s, _) = filled(3);
        let e = StoredEntry {
            index: 9,
            body: vec![],
            leaf_hash: [0; 32],
            chain_hash: [0; 32],
        };
        assert!(s.append_leaves(&[e], &[]).is_err());
        let e = StoredEntry {
            index: 3,
            body: vec![],
            leaf_hash: [0; 32],
            chain_hash: [0; 32],
        };
        let bad_node = TreeNode {
            level: 1,
            index: 7,
            hash: [0; 32],
        };
        assert!(s.append_leaves(&[e], &[bad_node]).is_err());
        assert_eq!(s.len().unwrap(), 3);
        assert_eq!(s.entries(1, 99).unwrap().len(), 2);
        assert_eq!(s.entries(5, 2).unwrap().len(), 0);
        assert_eq!(s.node(0, 99).unwrap(), None);
    }
}
