//! Where a record came from: the source, its position there, the parser, and a content hash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::Format;

/// The position of a record inside its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// A 1-based line number (line-oriented formats: NDJSON, TSV, CSV).
    Line(u64),
    /// A 0-based byte offset (JSON arrays and other framed formats).
    Offset(u64),
    /// The 0-based index of an element in a container (objects in a STIX bundle).
    Index(u64),
    /// A record number assigned by the source itself (EVTX event record ids).
    Record(u64),
}

impl Position {
    /// A stable byte encoding used when deriving ids.
    pub fn id_bytes(&self) -> [u8; 9] {
        let (tag, value) = match *self {
            Self::Line(n) => (b'l', n),
            Self::Offset(n) => (b'o', n),
            Self::Index(n) => (b'i', n),
            Self::Record(n) => (b'r', n),
        };
        let mut out = [0u8; 9];
        out[0] = tag;
        for (dst, src) in out.iter_mut().skip(1).zip(value.to_le_bytes()) {
            *dst = src;
        }
        out
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Offset(n) => write!(f, "byte {n}"),
            Self::Index(n) => write!(f, "element {n}"),
            Self::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// A SHA-256 digest of a record's raw bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(#[serde(with = "hex_array")] pub [u8; 32]);

impl ContentHash {
    /// Hashes raw record bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl std::fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl std::fmt::Display for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// Where an ingested record came from. Kept with every event, intel object and dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The source: an absolute file path, `archive!member` for archive members, or a stream name.
    pub source: String,
    /// Where in the source the record starts.
    pub position: Position,
    /// The format whose reader parsed it; `None` when no reader recognised the input.
    pub format: Option<Format>,
    /// The reader's name and version, e.g. `suricata-eve/1`.
    pub parser: String,
    /// When Rampart ingested it (not part of the record's identity).
    pub ingested_at: DateTime<Utc>,
    /// SHA-256 of the record's raw bytes.
    pub content_hash: ContentHash,
}

impl Provenance {
    /// The identity-bearing bytes: source, position and content hash. Ingest time and parser
    /// version are deliberately left out so that re-ingesting the same bytes is idempotent.
    pub fn identity_parts(&self) -> [Vec<u8>; 3] {
        [
            self.source.as_bytes().to_vec(),
            self.position.id_bytes().to_vec(),
            self.content_hash.0.to_vec(),
        ]
    }
}
