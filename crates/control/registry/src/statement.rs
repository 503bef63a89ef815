//! in-toto Statement v1: the signed payload of both the model signature and
//! the provenance attestation.
//!
//! Parsing follows the in-toto rule that consumers ignore fields they do not
//! recognise, so no `deny_unknown_fields` here: this is an interchange format,
//! not our configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};

/// `_type` of every in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// DSSE `payloadType` of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Cap on the number of subjects a statement may carry (one per model file
/// for provenance, exactly one for a model signature).
pub const MAX_SUBJECTS: usize = 200_000;

/// An in-toto Statement v1 whose predicate is still untyped JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What the statement is about, matched by digest.
    pub subject: Vec<ResourceDescriptor>,
    /// Identifies the shape of `predicate`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The claim itself; absent means empty.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// An in-toto `ResourceDescriptor`: a named artifact and its digests.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// Name of the artifact (a path relative to the model directory here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the artifact can be found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Algorithm name (`sha256`) to lowercase hex digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Where the artifact was downloaded from.
    #[serde(
        default,
        rename = "downloadLocation",
        skip_serializing_if = "Option::is_none"
    )]
    pub download_location: Option<String>,
    /// IANA media type of the artifact.
    #[serde(default, rename = "mediaType", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

impl ResourceDescriptor {
    /// A descriptor with a name and a SHA-256 digest.
    pub fn sha256(name: impl Into<String>, digest: &[u8; 32]) -> Self {
        let mut map = BTreeMap::new();
        map.insert("sha256".to_owned(), hex::encode(digest));
        Self {
            name: Some(name.into()),
            digest: map,
            ..Self::default()
        }
    }

    /// The SHA-256 digest, if present and well formed.
    pub fn sha256_digest(&self) -> Option<[u8; 32]> {
        self.digest.get("sha256").and_then(|h| parse_sha256_hex(h))
    }
}

impl Statement {
    /// Parses statement bytes (already size-capped by the envelope parser) and
    /// checks `_type` and the expected predicate type.
    pub fn parse(bytes: &[u8], expected_predicate: &str) -> Result<Self> {
        let statement: Self = serde_json::from_slice(bytes)
            .map_err(|e| RegistryError::malformed("in-toto statement", e.to_string()))?;
        if statement.statement_type != STATEMENT_TYPE {
            return Err(RegistryError::malformed(
                "in-toto statement",
                format!(
                    "`_type` is `{}`, expected `{STATEMENT_TYPE}`",
                    statement.statement_type
                ),
            ));
        }
        if statement.predicate_type != expected_predicate {
            return Err(RegistryError::Unsupported {
                what: "predicate type",
                value: statement.predicate_type,
                hint: "expected the OMS v1.0 signature or SLSA provenance v1 predicate",
            });
        }
        if statement.subject.is_empty() || statement.subject.len() > MAX_SUBJECTS {
            return Err(RegistryError::malformed(
                "in-toto statement",
                format!(
                    "`subject` has {} entries, expected 1 to {MAX_SUBJECTS}",
                    statement.subject.len()
                ),
            ));
        }
        Ok(statement)
    }
}

/// Parses 64 hex digits (either case) into a SHA-256 digest.
pub fn parse_sha256_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_ignored_and_types_checked() {
        let json = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":"00"},"extra":1}],"predicateType":"p","predicate":{},"future":true}"#;
        let st = Statement::parse(json, "p").unwrap();
        assert_eq!(st.subject[0].name.as_deref(), Some("m"));
        assert!(matches!(
            Statement::parse(json, "q"),
            Err(RegistryError::Unsupported { .. })
        ));
        let wrong = br#"{"_type":"x","subject":[{"digest":{}}],"predicateType":"p"}"#;
        assert!(Statement::parse(wrong, "p").is_err());
        let empty =
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#;
        assert!(Statement::parse(empty, "p").is_err());
    }

    #[test]
    fn sha256_hex_accepts_both_cases_and_rejects_bad_lengths() {
        let lower = "ab".repeat(32);
        assert_eq!(parse_sha256_hex(&lower), Some([0xab; 32]));
        assert_eq!(parse_sha256_hex(&lower.to_uppercase()), Some([0xab; 32]));
        assert_eq!(parse_sha256_hex("abc"), None);
        assert_eq!(parse_sha256_hex(&"zz".repeat(32)), None);
    }
}
