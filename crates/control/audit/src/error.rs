//! The crate's one error type, and the tamper report that verification returns.

use std::fmt;

use rampart_crypto::CryptoError;

/// Everything that can go wrong in `rampart-audit`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The storage backend failed (I/O, database).
    #[error("audit storage failed: {0}")]
    Storage(String),

    /// An event is too large or too deeply nested to be logged.
    #[error("audit event rejected: {0}")]
    EventRejected(String),

    /// An entry index or tree size is outside the log.
    #[error("entry `{index}` is outside the log of {size} entries")]
    IndexOutOfRange {
        /// The requested index or size.
        index: u64,
        /// The log size.
        size: u64,
    },

    /// No signed checkpoint covers the entry yet.
    #[error(
        "entry `{index}` is not covered by a signed checkpoint yet; run `rampart audit checkpoint` first"
    )]
    NotCovered {
        /// The entry.
        index: u64,
    },

    /// A signed note is malformed or its signatures do not verify.
    #[error("invalid signed note: {0}")]
    InvalidNote(String),

    /// A checkpoint body is malformed.
    #[error("invalid checkpoint: {0}")]
    InvalidCheckpoint(String),

    /// A proof document is malformed.
    #[error("invalid proof: {0}")]
    InvalidProof(String),

    /// A well-formed proof does not verify.
    #[error("proof does not verify: {0}")]
    ProofFailed(String),

    /// The log was changed after it was written; the report names where.
    #[error("{0}")]
    Tampered(Box<Tamper>),

    /// The log was opened for verification only and cannot append or sign.
    #[error(
        "the audit log was opened read-only (verifier key only); open it with the signing key to append or sign"
    )]
    ReadOnly,

    /// A key or signature operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Where verification found the log altered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TamperLocation {
    /// This entry (zero-based) is the first one that is wrong.
    Entry(u64),
    /// The signed checkpoint for this tree size is wrong.
    Checkpoint(u64),
    /// The stored hash of a complete subtree is wrong (entries intact; proofs through it fail).
    TreeNode {
        /// Height above the leaves.
        level: u8,
        /// Position within the level.
        index: u64,
    },
    /// Some entry in `start..end` was changed, but the stored data was rewritten consistently,
    /// so only the signed checkpoint at `end` exposes it.
    EntriesBetween {
        /// First entry that may be wrong.
        start: u64,
        /// Size of the checkpoint that no longer matches.
        end: u64,
    },
}

impl fmt::Display for TamperLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Entry(i) => write!(f, "entry `{i}`"),
            Self::Checkpoint(s) => write!(f, "checkpoint at size `{s}`"),
            Self::TreeNode { level, index } => write!(
                f,
                "the stored tree hash over entries `{}..{}`",
                index << level,
                (index + 1) << level
            ),
            Self::EntriesBetween { start, end } => write!(f, "an entry in `{start}..{end}`"),
        }
    }
}

/// What verification found wrong, and where first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    /// The first position that is wrong.
    pub location: TamperLocation,
    /// What is wrong there.
    pub reason: String,
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit log tampered at {}: {}",
            self.location, self.reason
        )
    }
}

impl AuditError {
    pub(crate) fn tampered(location: TamperLocation, reason: impl Into<String>) -> Self {
        Self::Tampered(Box::new(Tamper {
            location,
            reason: reason.into(),
        }))
    }

    /// The tamper report, if this error is one.
    pub fn tamper(&self) -> Option<&Tamper> {
        match self {
            Self::Tampered(t) => Some(t),
            _ => None,
        }
    }
}
