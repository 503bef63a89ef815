//! Caps that keep hostile input from exhausting memory or time.

use serde::{Deserialize, Serialize};

/// Limits applied while reading untrusted input. Exceeding one turns the offending record
/// into a dead letter (or, for archives, the offending member), never a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longest record (line, array element, CSV row) in bytes. Default 1 MiB.
    pub max_record_bytes: usize,
    /// Deepest JSON nesting. Default 64.
    pub max_json_depth: usize,
    /// Most fields in one record (JSON keys counted recursively, CSV/TSV columns). Default 4,096.
    pub max_fields: usize,
    /// Most bytes one archive may expand to, over all its members. Default 4 GiB.
    pub max_archive_bytes: u64,
    /// Largest expansion ratio of a compressed stream before it is treated as a bomb. Default 200.
    pub max_compression_ratio: u64,
    /// Most members one archive may hold. Default 100,000.
    pub max_archive_members: usize,
    /// Largest single JSON document read whole (a STIX bundle). Default 256 MiB.
    pub max_document_bytes: usize,
    /// Records per batch handed to parse workers. Default 1,024.
    pub batch_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: 1 << 20,
            max_json_depth: 64,
            max_fields: 4096,
            max_archive_bytes: 4 << 30,
            max_compression_ratio: 200,
            max_archive_members: 100_000,
            max_document_bytes: 256 << 20,
            batch_records: 1024,
        }
    }
}
