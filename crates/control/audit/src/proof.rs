//! Inclusion and consistency proof verification (RFC 9162 2.1.3.2 and 2.1.4.2) and the JSON
//! forms that `rampart audit prove` prints.

use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::merkle::{Hash, leaf_hash, node_hash};

/// Longest audit path accepted: a tree of 2^64 leaves needs 64 hashes.
pub const MAX_PROOF_HASHES: usize = 64;
/// Largest proof JSON document accepted by the parsers.
pub const MAX_PROOF_JSON_BYTES: usize = 4 << 20;
/// Format tag of [`InclusionProof`] JSON.
pub const INCLUSION_PROOF_FORMAT: &str = "rampart-audit-inclusion-proof/v1";
/// Format tag of [`ConsistencyProof`] JSON.
pub const CONSISTENCY_PROOF_FORMAT: &str = "rampart-audit-consistency-proof/v1";

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with root `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    let computed = root_from_inclusion(leaf, index, size, path)?;
    if &computed != root {
        return Err(AuditError::ProofFailed(format!(
            "inclusion proof for entry `{index}` in tree size `{size}` leads to root `{}`, expected `{}`",
            hex::encode(computed),
            hex::encode(root)
        )));
    }
    Ok(())
}

/// The root implied by an inclusion proof (RFC 9162 2.1.3.2), or an error if its shape is wrong.
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
) -> Result<Hash, AuditError> {
    if index >= size {
        return Err(AuditError::ProofFailed(format!(
            "entry `{index}` is outside tree size `{size}`"
        )));
    }
    if path.len() > MAX_PROOF_HASHES {
        return Err(AuditError::ProofFailed(format!(
            "proof has {} hashes, at most {MAX_PROOF_HASHES}",
            path.len()
        )));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return Err(AuditError::ProofFailed(
                "inclusion proof is longer than the tree is deep".to_owned(),
            ));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(AuditError::ProofFailed(
            "inclusion proof is shorter than the tree is deep".to_owned(),
        ));
    }
    Ok(r)
}

/// Verifies that the tree of `new` leaves with root `new_root` extends the tree of `old`
/// leaves with root `old_root` (RFC 9162 2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> Result<(), AuditError> {
    let fail = |why: &str| {
        Err(AuditError::ProofFailed(format!(
            "consistency proof from size `{old}` to `{new}`: {why}"
        )))
    };
    if old > new {
        return fail("the old tree is larger than the new one");
    }
    if path.len() > MAX_PROOF_HASHES {
        return fail("too many hashes");
    }
    if old == 0 {
        // As in RFC 9162 and transparency-dev/merkle: every tree extends the empty tree, so a
        // proof from it is meaningless and refused rather than vacuously accepted.
        return fail("a proof from the empty tree is meaningless");
    }
    if old == new {
        if !path.is_empty() {
            return fail("equal sizes need an empty proof");
        }
        return if old_root == new_root {
            Ok(())
        } else {
            fail("equal sizes but different roots")
        };
    }
    let Some((first, rest)) = path.split_first() else {
        return fail("the proof is empty");
    };
    // When the old tree is a complete subtree, its root is the proof's implicit first element.
    let (seed, rest) = if old.is_power_of_two() {
        (*old_root, path)
    } else {
        (*first, rest)
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if s == 0 {
            return fail("the proof is too long");
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return fail("the proof is too short");
    }
    if &fr != old_root {
        return fail("it does not lead to the old root");
    }
    if &sr != new_root {
        return fail("it does not lead to the new root");
    }
    Ok(())
}

/// Serde helper: a 32-byte hash as lowercase hex.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <&str>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|_| serde::de::Error::custom("expected 64 hex characters"))?;
        Ok(out)
    }
}

/// Serde helper: a list of hashes as lowercase hex strings.
mod hex32_list {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq as _};

    pub fn serialize<S: Serializer>(hs: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(hs.len()))?;
        for h in hs {
            seq.serialize_element(&hex::encode(h))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let texts = Vec::<&str>::deserialize(d)?;
        if texts.len() > super::MAX_PROOF_HASHES {
            return Err(serde::de::Error::custom("too many hashes"));
        }
        texts
            .into_iter()
            .map(|t| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(t, &mut out).map(|()| out)
            })
            .collect::<Result<_, _>>()
            .map_err(|_| serde::de::Error::custom("expected 64 hex characters"))
    }
}

/// Proof that one entry is in the log, in a form a third party can check with any SHA-256
/// implementation (see `docs/formats/audit-log.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Always [`INCLUSION_PROOF_FORMAT`].
    pub format: String,
    /// The log's origin line.
    pub origin: String,
    /// Zero-based position of the entry.
    pub leaf_index: u64,
    /// Size of the tree the proof is for (a signed checkpoint's size).
    pub tree_size: u64,
    /// The entry's canonical bytes (UTF-8 JSON), exactly as hashed.
    pub entry: String,
    /// `SHA-256(0x00 || entry)`, hex.
    #[serde(with = "hex32")]
    pub leaf_hash: Hash,
    /// Audit path, leaf's sibling first, hex.
    #[serde(with = "hex32_list")]
    pub hashes: Vec<Hash>,
    /// Root of the tree of `tree_size` leaves, hex.
    #[serde(with = "hex32")]
    pub root_hash: Hash,
    /// The signed checkpoint (C2SP note text) whose root is `root_hash`, if one was available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

impl InclusionProof {
    /// Parses the JSON form (untrusted input: size-capped, unknown fields rejected).
    pub fn from_json(text: &str) -> Result<Self, AuditError> {
        let p: Self = parse_capped(text)?;
        if p.format != INCLUSION_PROOF_FORMAT {
            return Err(AuditError::InvalidProof(format!(
                "format `{}` is not `{INCLUSION_PROOF_FORMAT}`",
                p.format.chars().take(80).collect::<String>()
            )));
        }
        Ok(p)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the entry hashes to `leaf_hash` and the path leads to `root_hash`.
    /// (The checkpoint signature is checked by [`crate::SignedCheckpoint::verify_text`].)
    pub fn verify(&self) -> Result<(), AuditError> {
        if leaf_hash(self.entry.as_bytes()) != self.leaf_hash {
            return Err(AuditError::ProofFailed(
                "the entry does not hash to `leaf_hash`".to_owned(),
            ));
        }
        verify_inclusion(
            &self.leaf_hash,
            self.leaf_index,
            self.tree_size,
            &self.hashes,
            &self.root_hash,
        )
    }
}

/// Proof that a log of `second_size` entries extends its earlier state of `first_size` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Always [`CONSISTENCY_PROOF_FORMAT`].
    pub format: String,
    /// Size of the older tree.
    pub first_size: u64,
    /// Size of the newer tree.
    pub second_size: u64,
    /// Root of the older tree, hex.
    #[serde(with = "hex32")]
    pub first_root: Hash,
    /// Root of the newer tree, hex.
    #[serde(with = "hex32")]
    pub second_root: Hash,
    /// The proof hashes, hex.
    #[serde(with = "hex32_list")]
    pub hashes: Vec<Hash>,
}

impl ConsistencyProof {
    /// Parses the JSON form (untrusted input: size-capped, unknown fields rejected).
    pub fn from_json(text: &str) -> Result<Self, AuditError> {
        let p: Self = parse_capped(text)?;
        if p.format != CONSISTENCY_PROOF_FORMAT {
            return Err(AuditError::InvalidProof(format!(
                "format `{}` is not `{CONSISTENCY_PROOF_FORMAT}`",
                p.format.chars().take(80).collect::<String>()
            )));
        }
        Ok(p)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the proof against its two roots.
    pub fn verify(&self) -> Result<(), AuditError> {
        verify_consistency(
            self.first_size,
            self.second_size,
            &self.first_root,
            &self.second_root,
            &self.hashes,
        )
    }
}

fn parse_capped<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AuditError> {
    if text.len() > MAX_PROOF_JSON_BYTES {
        return Err(AuditError::InvalidProof(format!(
            "proof document is {} bytes, at most {MAX_PROOF_JSON_BYTES}",
            text.len()
        )));
    }
    serde_json::from_str(text)
        .map_err(|e| AuditError::InvalidProof(format!("not a valid proof document: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tests::{leaves, reference_path, reference_root, reference_subproof};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn inclusion_proofs_verify_and_reject_other_leaves(n in 1usize..150, m in 0usize..150) {
            let ls = leaves(n);
            let m = m % n;
            let root = reference_root(&ls);
            let path = reference_path(m, &ls);
            prop_assert!(verify_inclusion(&ls[m], m as u64, n as u64, &path, &root).is_ok());
            let other = (m + 1) % n;
            if other != m {
                prop_assert!(verify_inclusion(&ls[other], m as u64, n as u64, &path, &root).is_err());
                prop_assert!(verify_inclusion(&ls[m], other as u64, n as u64, &path, &root).is_err());
            }
            // A wrong size with the same path length may still verify: the size comes from the signed checkpoint.
            prop_assert!(verify_inclusion(&ls[m], m as u64, 0, &path, &root).is_err());
        }

        #[test]
        fn consistency_proofs_verify_and_reject_tampering(n in 1usize..150, m in 1usize..150, flip in 0usize..64) {
            let ls = leaves(n);
            let m = 1 + (m - 1) % n;
            let (r1, r2) = (reference_root(&ls[..m]), reference_root(&ls));
            let path = reference_subproof(m, &ls, true);
            prop_assert!(verify_consistency(m as u64, n as u64, &r1, &r2, &path).is_ok());
            if !path.is_empty() {
                let mut bad = path.clone();
                let i = flip % bad.len();
                bad[i][0] ^= 1;
                prop_assert!(verify_consistency(m as u64, n as u64, &r1, &r2, &bad).is_err());
            }
            if m < n {
                let mut other = r1;
                other[31] ^= 1;
                prop_assert!(verify_consistency(m as u64, n as u64, &other, &r2, &path).is_err());
            }
        }

        #[test]
        fn proof_json_parsers_never_panic(text in ".{0,400}") {
            let _ = InclusionProof::from_json(&text);
            let _ = ConsistencyProof::from_json(&text);
        }
    }

    #[test]
    fn inclusion_json_round_trip() {
        let ls = leaves(5);
        let entry = r#"{"index":0}"#.to_owned();
        let mut all = ls.clone();
        all[2] = leaf_hash(entry.as_bytes());
        let p = InclusionProof {
            format: INCLUSION_PROOF_FORMAT.to_owned(),
            origin: "example.com/log".to_owned(),
            leaf_index: 2,
            tree_size: 5,
            entry,
            leaf_hash: all[2],
            hashes: reference_path(2, &all),
            root_hash: reference_root(&all),
            checkpoint: None,
        };
        p.verify().unwrap();
        let back = InclusionProof::from_json(&p.to_json()).unwrap();
        assert_eq!(back, p);
        let mut bad = p.clone();
        bad.entry.push(' ');
        assert!(bad.verify().is_err());
        assert!(InclusionProof::from_json(&p.to_json().replace("v1", "v9")).is_err());
        assert!(InclusionProof::from_json(r#"{"format":1}"#).is_err());
    }
}
