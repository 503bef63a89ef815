//! RFC 6962 / RFC 9162 Merkle tree hashing and proof generation.
//!
//! `leaf = SHA-256(0x00 || data)`, `node = SHA-256(0x01 || left || right)`, the empty tree's
//! root is `SHA-256("")`, and a tree of `n > 1` leaves splits at `k`, the largest power of two
//! smaller than `n` (RFC 9162 section 2.1.1).
//!
//! Proofs are generated from a [`SubtreeSource`], which returns the root of any leaf range
//! `[start, end)`. A storage-backed source answers complete, aligned subtrees (`2^level`
//! leaves starting at a multiple of `2^level`) with one stored hash and composes the rest;
//! generation then touches `O(log n)` stored hashes.

use rampart_crypto::digest::{sha256, sha256_parts};

use crate::AuditError;

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Root hash of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    sha256(b"").0
}

/// Hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256_parts(&[&[0x00], data]).0
}

/// Hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&prefixed(0x01, left, right)).0
}

/// Chain value before the first entry.
pub const CHAIN_START: Hash = [0u8; 32];

/// Per-entry chain value `SHA-256(0x02 || previous chain value || leaf hash)`.
///
/// Not part of RFC 6962: it links every stored entry to all the entries before it at the cost of
/// one hash per append, so verification can name the first entry whose stored hashes were
/// changed (see the crate docs). The `0x02` prefix keeps it apart from leaf and node hashes.
pub fn chain_hash(previous: &Hash, leaf: &Hash) -> Hash {
    sha256(&prefixed(0x02, previous, leaf)).0
}

fn prefixed(tag: u8, a: &Hash, b: &Hash) -> [u8; 65] {
    let mut buf = [0u8; 65];
    for (dst, src) in buf.iter_mut().zip(std::iter::once(&tag).chain(a).chain(b)) {
        *dst = *src;
    }
    buf
}

/// The largest power of two strictly smaller than `n` (for `n >= 2`; 0 otherwise).
pub fn split_point(n: u64) -> u64 {
    if n < 2 {
        return 0;
    }
    1u64 << (n - 1).ilog2()
}

/// A complete subtree's hash: `2^level` leaves starting at leaf `index << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeNode {
    /// Height above the leaves (0 = a leaf hash).
    pub level: u8,
    /// Position among the nodes of this level.
    pub index: u64,
    /// The subtree's root hash.
    pub hash: Hash,
}

/// Anything that can return the root hash of the leaf range `[start, end)`.
pub trait SubtreeSource {
    /// Root of leaves `[start, end)`; `start < end`.
    fn subtree_root(&self, start: u64, end: u64) -> Result<Hash, AuditError>;
}

/// Leaf hashes in memory: the simple source used by tests and small trees.
impl SubtreeSource for [Hash] {
    fn subtree_root(&self, start: u64, end: u64) -> Result<Hash, AuditError> {
        let (s, e) = (to_usize(start)?, to_usize(end)?);
        let leaves = self.get(s..e).ok_or(AuditError::IndexOutOfRange {
            index: end,
            size: self.len() as u64,
        })?;
        Ok(root_of(leaves))
    }
}

pub(crate) fn to_usize(v: u64) -> Result<usize, AuditError> {
    usize::try_from(v).map_err(|_| AuditError::IndexOutOfRange {
        index: v,
        size: usize::MAX as u64,
    })
}

/// Merkle tree hash of a slice of leaf hashes (RFC 9162 `MTH`), iteratively.
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::default();
    for l in leaves {
        frontier.push(*l, |_| {});
    }
    frontier.root()
}

/// The right edge of a growing tree: the roots of its maximal complete subtrees, largest first
/// (a compact range starting at leaf 0). Appending is amortised O(1) hashes; the root is
/// O(log n) hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// INVARIANT: levels strictly decrease and match the set bits of `size`, high to low.
    stack: Vec<(u8, Hash)>,
}

impl Frontier {
    /// Rebuilds the frontier of a tree of `size` leaves from stored complete-subtree hashes.
    pub fn from_nodes(
        size: u64,
        mut node: impl FnMut(u8, u64) -> Result<Hash, AuditError>,
    ) -> Result<Self, AuditError> {
        let mut stack = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                stack.push((level, node(level, start >> level)?));
                start += width;
            }
        }
        Ok(Self { size, stack })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; `on_node` receives every complete subtree (level >= 1) this closes.
    pub fn push(&mut self, leaf: Hash, mut on_node: impl FnMut(TreeNode)) {
        let mut level = 0u8;
        let mut hash = leaf;
        let mut index = self.size;
        while let Some(&(top_level, top_hash)) = self.stack.last() {
            if top_level != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&top_hash, &hash);
            level += 1;
            index >>= 1;
            on_node(TreeNode { level, index, hash });
        }
        self.stack.push((level, hash));
        self.size += 1;
    }

    /// The root hash of the current tree.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, h) in iter {
            acc = node_hash(h, &acc);
        }
        acc
    }
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 2.1.3.1),
/// ordered from the leaf's sibling up to the root's child.
pub fn inclusion_path<S: SubtreeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, AuditError> {
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    // Walk down from the root, collecting siblings, then reverse (the path is bottom-up).
    let mut path = Vec::new();
    let (mut start, mut end, mut m) = (0u64, size, index);
    while end - start > 1 {
        let k = split_point(end - start);
        if m < k {
            path.push(src.subtree_root(start + k, end)?);
            end = start + k;
        } else {
            path.push(src.subtree_root(start, start + k)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between tree sizes `old` and `new` (RFC 9162 2.1.4.1).
pub fn consistency_path<S: SubtreeSource + ?Sized>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, AuditError> {
    if old > new {
        return Err(AuditError::InvalidProof(format!(
            "old size `{old}` is larger than new size `{new}`"
        )));
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let mut path = Vec::new();
    let (mut start, mut end, mut m) = (0u64, new, old);
    let mut complete = true;
    loop {
        if m == end - start {
            if !complete {
                path.push(src.subtree_root(start, end)?);
            }
            break;
        }
        let k = split_point(end - start);
        if m <= k {
            path.push(src.subtree_root(start + k, end)?);
            end = start + k;
        } else {
            path.push(src.subtree_root(start, start + k)?);
            start += k;
            m -= k;
            complete = false;
        }
    }
    path.reverse();
    Ok(path)
}

#[cfg(test)]
#[expect(clippy::cast_possible_truncation, reason = "test trees are small")]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Slow, obviously-correct RFC 9162 `MTH`, straight from the definition.
    pub(crate) fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    /// RFC 9162 `PATH(m, D[n])`, recursive, from the definition.
    pub(crate) fn reference_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = reference_path(m, &leaves[..k]);
            p.push(reference_root(&leaves[k..]));
            p
        } else {
            let mut p = reference_path(m - k, &leaves[k..]);
            p.push(reference_root(&leaves[..k]));
            p
        }
    }

    /// RFC 9162 `SUBPROOF(m, D[n], b)`, recursive, from the definition.
    pub(crate) fn reference_subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if complete {
                Vec::new()
            } else {
                vec![reference_root(leaves)]
            };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = reference_subproof(m, &leaves[..k], complete);
            p.push(reference_root(&leaves[k..]));
            p
        } else {
            let mut p = reference_subproof(m - k, &leaves[k..], false);
            p.push(reference_root(&leaves[..k]));
            p
        }
    }

    pub(crate) fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
        assert_eq!(split_point((1 << 40) + 1), 1 << 40);
        assert_eq!(split_point(1), 0);
    }

    #[test]
    fn frontier_emits_every_complete_node_once() {
        let ls = leaves(13);
        let mut f = Frontier::default();
        let mut nodes = Vec::new();
        for l in &ls {
            f.push(*l, |n| nodes.push(n));
        }
        // 13 leaves close 6 + 3 + 1 = 10 complete subtrees of level >= 1.
        assert_eq!(nodes.len(), 10);
        for n in &nodes {
            let width = 1usize << n.level;
            let start = n.index as usize * width;
            assert_eq!(n.hash, reference_root(&ls[start..start + width]));
        }
        let rebuilt = Frontier::from_nodes(13, |level, index| {
            let width = 1usize << level;
            Ok(reference_root(
                &ls[index as usize * width..(index as usize + 1) * width],
            ))
        })
        .unwrap();
        assert_eq!(rebuilt, f);
    }

    #[test]
    fn out_of_range_requests_fail() {
        let ls = leaves(4);
        assert!(inclusion_path(&ls[..], 4, 4).is_err());
        assert!(inclusion_path(&ls[..], 0, 5).is_err());
        assert!(consistency_path(&ls[..], 3, 2).is_err());
    }

    proptest! {
        #[test]
        fn fast_root_matches_reference(n in 0usize..300) {
            let ls = leaves(n);
            prop_assert_eq!(root_of(&ls), reference_root(&ls));
        }

        #[test]
        fn fast_inclusion_matches_reference(n in 1usize..200, m in 0usize..200) {
            let ls = leaves(n);
            let m = m % n;
            prop_assert_eq!(inclusion_path(&ls[..], m as u64, n as u64).unwrap(), reference_path(m, &ls));
        }

        #[test]
        fn fast_consistency_matches_reference(n in 1usize..200, m in 1usize..200) {
            let ls = leaves(n);
            let m = 1 + (m - 1) % n;
            prop_assert_eq!(
                consistency_path(&ls[..], m as u64, n as u64).unwrap(),
                reference_subproof(m, &ls, true)
            );
        }
    }
}
