//! Audit events, their canonical byte form, and the [`AuditSink`] contract.
//!
//! # Canonical entry bytes (version 1)
//!
//! Every entry is stored and hashed as compact JSON with keys sorted by their UTF-8 bytes and no
//! whitespace:
//!
//! ```text
//! {"actor":"…","details":…,"index":7,"kind":"decision","subject":"…","time":"2026-11-28T22:09:00.123456Z","v":1}
//! ```
//!
//! - `index`: zero-based position in the log (binds the entry to its place);
//! - `time`: UTC, RFC 3339 with microseconds, added by the log;
//! - `kind`: one of the [`AuditKind`] names (`model_signed`, `decision`, …);
//! - `details`: any JSON value, with the same rules applied recursively (objects sorted by key);
//! - strings use JSON escapes for `"`, `\` and control characters only (`\n`, `\u001f`, …);
//!   other characters are written as UTF-8;
//! - numbers: integers in decimal; floats in the shortest form that reads back exactly.
//!
//! For string and integer values this is what Python's
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes, so a third
//! party can rebuild the bytes; proofs also carry the exact bytes, so nobody has to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::AuditError;

/// Version written in the `v` field.
pub const ENTRY_FORMAT_VERSION: u64 = 1;
/// Largest canonical entry, in bytes.
pub const MAX_ENTRY_BYTES: usize = 1 << 20;
/// Deepest nesting of `details`.
pub const MAX_DETAILS_DEPTH: usize = 32;
/// Longest `actor` or `subject`, in bytes.
pub const MAX_NAME_BYTES: usize = 4096;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A model was signed.
    ModelSigned,
    /// A verified model was loaded.
    ModelLoaded,
    /// A model failed verification and was refused.
    ModelRefused,
    /// A policy decision was made.
    Decision,
    /// A human approved or rejected an action.
    Approval,
    /// A decided action ran (or was reverted) through an executor.
    ActionExecuted,
    /// A policy was added, changed or removed.
    PolicyChange,
    /// A key was created, rotated or retired.
    KeyChange,
    /// A prompt was sent to an LLM.
    LlmPrompt,
    /// An LLM answered.
    LlmResponse,
    /// A pipeline run started.
    RunStarted,
    /// A pipeline run finished.
    RunFinished,
}

impl AuditKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 12] = [
        Self::ModelSigned,
        Self::ModelLoaded,
        Self::ModelRefused,
        Self::Decision,
        Self::Approval,
        Self::ActionExecuted,
        Self::PolicyChange,
        Self::KeyChange,
        Self::LlmPrompt,
        Self::LlmResponse,
        Self::RunStarted,
        Self::RunFinished,
    ];

    /// The `snake_case` name used in entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ModelSigned => "model_signed",
            Self::ModelLoaded => "model_loaded",
            Self::ModelRefused => "model_refused",
            Self::Decision => "decision",
            Self::Approval => "approval",
            Self::ActionExecuted => "action_executed",
            Self::PolicyChange => "policy_change",
            Self::KeyChange => "key_change",
            Self::LlmPrompt => "llm_prompt",
            Self::LlmResponse => "llm_response",
            Self::RunStarted => "run_started",
            Self::RunFinished => "run_finished",
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditKind {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                AuditError::EventRejected(format!(
                    "unknown audit kind `{}`",
                    s.chars().take(40).collect::<String>()
                ))
            })
    }
}

/// An event to record. The log adds the index and the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// Who did it (user, service, `system`).
    pub actor: String,
    /// What it happened to (model digest, incident id, policy id).
    pub subject: String,
    /// Anything else worth keeping (scores, reasons, digests).
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// Builds an event.
    pub fn new(
        kind: AuditKind,
        actor: impl Into<String>,
        subject: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            kind,
            actor: actor.into(),
            subject: subject.into(),
            details,
        }
    }
}

/// Proof of recording: where the entry sits and the leaf hash it was committed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReceipt {
    /// Zero-based position in the log.
    pub index: u64,
    /// `SHA-256(0x00 || canonical entry bytes)`.
    pub leaf_hash: [u8; 32],
}

/// Where audit events go. Stages hold an `Arc<dyn AuditSink>`; a decision cannot be made
/// without one.
pub trait AuditSink: Send + Sync {
    /// Appends one event and returns its receipt once it is stored.
    fn record(&self, event: AuditEvent) -> Result<AuditReceipt, AuditError>;

    /// Appends several events in order. The default records them one by one;
    /// [`crate::TransparencyLog`] writes the batch in one atomic storage call.
    fn record_batch(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditReceipt>, AuditError> {
        events.into_iter().map(|e| self.record(e)).collect()
    }
}

/// A logged entry, decoded from its canonical bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Event actor.
    pub actor: String,
    /// Event details.
    pub details: serde_json::Value,
    /// Position in the log.
    pub index: u64,
    /// Event kind.
    pub kind: AuditKind,
    /// Event subject.
    pub subject: String,
    /// When the log recorded it (RFC 3339 UTC).
    pub time: String,
    /// Entry format version.
    pub v: u64,
}

impl LogEntry {
    /// Decodes canonical entry bytes (untrusted: size-capped).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(AuditError::EventRejected(format!(
                "entry is {} bytes, at most {MAX_ENTRY_BYTES}",
                bytes.len()
            )));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            AuditError::EventRejected(format!("entry is not a valid audit entry: {e}"))
        })
    }
}

/// Writes the canonical bytes of `event` recorded at `index` and `time`.
pub fn canonical_entry(event: &AuditEvent, index: u64, time: &str) -> Result<Vec<u8>, AuditError> {
    for (what, s) in [("actor", &event.actor), ("subject", &event.subject)] {
        if s.len() > MAX_NAME_BYTES {
            return Err(AuditError::EventRejected(format!(
                "{what} is {} bytes, at most {MAX_NAME_BYTES}",
                s.len()
            )));
        }
    }
    let mut out = Vec::with_capacity(128 + event.actor.len() + event.subject.len());
    out.extend_from_slice(b"{\"actor\":");
    write_str(&mut out, &event.actor);
    out.extend_from_slice(b",\"details\":");
    write_value(&mut out, &event.details, 0)?;
    out.extend_from_slice(b",\"index\":");
    out.extend_from_slice(index.to_string().as_bytes());
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(event.kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"subject\":");
    write_str(&mut out, &event.subject);
    out.extend_from_slice(b",\"time\":");
    write_str(&mut out, time);
    out.extend_from_slice(b",\"v\":");
    out.extend_from_slice(ENTRY_FORMAT_VERSION.to_string().as_bytes());
    out.push(b'}');
    if out.len() > MAX_ENTRY_BYTES {
        return Err(AuditError::EventRejected(format!(
            "entry is {} bytes, at most {MAX_ENTRY_BYTES}; store large evidence elsewhere and log its digest",
            out.len()
        )));
    }
    Ok(out)
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly `"`, `\` and control characters; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Canonical JSON of a value: object keys sorted by UTF-8 bytes whatever the map's own order
/// (the `preserve_order` feature of `serde_json` feature may be enabled elsewhere in a build).
pub fn write_value(
    out: &mut Vec<u8>,
    v: &serde_json::Value,
    depth: usize,
) -> Result<(), AuditError> {
    use serde_json::Value;
    if depth > MAX_DETAILS_DEPTH {
        return Err(AuditError::EventRejected(format!(
            "details nest deeper than {MAX_DETAILS_DEPTH} levels"
        )));
    }
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, depth + 1)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                if let Some(item) = map.get(k) {
                    write_value(out, item, depth + 1)?;
                }
            }
            out.push(b'}');
        }
    }
    if out.len() > MAX_ENTRY_BYTES {
        return Err(AuditError::EventRejected(format!(
            "details are larger than {MAX_ENTRY_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn canonical_bytes_are_sorted_and_compact() {
        let e = AuditEvent::new(
            AuditKind::Decision,
            "analyst:ana",
            "incident-7",
            json!({"z": 1, "a": {"y": [true, null, "é\n"], "b": -2}, "m": 1.5}),
        );
        let bytes = canonical_entry(&e, 7, "2026-11-28T22:09:00.000000Z").unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"actor":"analyst:ana","details":{"a":{"b":-2,"y":[true,null,"é\n"]},"m":1.5,"z":1},"index":7,"kind":"decision","subject":"incident-7","time":"2026-11-28T22:09:00.000000Z","v":1}"#
        );
        let back = LogEntry::from_bytes(&bytes).unwrap();
        assert_eq!(back.index, 7);
        assert_eq!(back.kind, AuditKind::Decision);
        assert_eq!(back.details, e.details);
    }

    #[test]
    fn kinds_round_trip_through_names() {
        for k in AuditKind::ALL {
            assert_eq!(k.as_str().parse::<AuditKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!("nope".parse::<AuditKind>().is_err());
    }

    #[test]
    fn oversized_and_deep_events_are_rejected() {
        let big = AuditEvent::new(
            AuditKind::LlmPrompt,
            "a",
            "b",
            json!("x".repeat(MAX_ENTRY_BYTES)),
        );
        assert!(canonical_entry(&big, 0, "t").is_err());
        let mut deep = json!(1);
        for _ in 0..=MAX_DETAILS_DEPTH + 1 {
            deep = json!([deep]);
        }
        let e = AuditEvent::new(AuditKind::LlmPrompt, "a", "b", deep);
        assert!(canonical_entry(&e, 0, "t").is_err());
        let long_actor = AuditEvent::new(
            AuditKind::Approval,
            "a".repeat(MAX_NAME_BYTES + 1),
            "b",
            json!(null),
        );
        assert!(canonical_entry(&long_actor, 0, "t").is_err());
    }

    proptest! {
        #[test]
        fn canonical_bytes_parse_back(actor in ".{0,20}", subject in ".{0,20}", keys in proptest::collection::vec("[a-zA-Z_é]{0,6}", 0..6), n in any::<i64>()) {
            let mut map = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                map.insert(k.clone(), json!([i, n, k]));
            }
            let e = AuditEvent::new(AuditKind::PolicyChange, actor, subject, serde_json::Value::Object(map));
            let bytes = canonical_entry(&e, 3, "t").unwrap();
            let back = LogEntry::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&back.details, &e.details);
            prop_assert_eq!(&back.actor, &e.actor);
            // Re-encoding the decoded entry gives the same bytes.
            let again = AuditEvent::new(back.kind, back.actor, back.subject, back.details);
            prop_assert_eq!(canonical_entry(&again, back.index, &back.time).unwrap(), bytes);
        }
    }
}
