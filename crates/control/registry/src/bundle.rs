//! The Sigstore bundle v0.3 JSON that carries an OMS model signature
//! (`model.sig`), key method: a public-key hint, no transparency-log entries and
//! a DSSE envelope around the in-toto statement.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;
use crate::error::{RegistryError, Result};
use crate::fsio::{MAX_BUNDLE_BYTES, read_capped, write_atomic};

/// The only media type `model_signing` accepts for key-signed bundles.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Cap on transparency-log entries we are willing to carry through.
const MAX_TLOG_ENTRIES: usize = 64;

/// A Sigstore bundle holding a DSSE envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Always [`BUNDLE_MEDIA_TYPE`].
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Identifies the signing key (or certificate, which we refuse).
    #[serde(rename = "verificationMaterial")]
    pub verification_material: VerificationMaterial,
    /// The signed statement; bundles with a bare message signature are refused.
    #[serde(
        rename = "dsseEnvelope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dsse_envelope: Option<Envelope>,
}

/// `verificationMaterial` of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationMaterial {
    /// Set by the key method.
    #[serde(rename = "publicKey", default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyHint>,
    /// Rekor entries; empty for the key method. Kept as JSON, never interpreted.
    #[serde(rename = "tlogEntries", default)]
    pub tlog_entries: Vec<serde_json::Value>,
    /// Certificate chain (certificate method); present means "not a key bundle".
    #[serde(
        rename = "x509CertificateChain",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub x509_certificate_chain: Option<serde_json::Value>,
    /// Leaf certificate (Sigstore keyless); present means "not a key bundle".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<serde_json::Value>,
}

/// `verificationMaterial.publicKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyHint {
    /// Hex SHA-256 of the signer's PEM SPKI text; `None` in pre-1.1 bundles.
    #[serde(default)]
    pub hint: Option<String>,
}

impl Bundle {
    /// A key-method bundle around `envelope`, signed by the key with `key_hint`.
    pub fn new(envelope: Envelope, key_hint: &str) -> Self {
        Self {
            media_type: BUNDLE_MEDIA_TYPE.to_owned(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyHint {
                    hint: Some(key_hint.to_owned()),
                }),
                tlog_entries: Vec::new(),
                x509_certificate_chain: None,
                certificate: None,
            },
            dsse_envelope: Some(envelope),
        }
    }

    /// Parses untrusted bundle bytes; the caller caps their size.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_BUNDLE_BYTES {
            return Err(RegistryError::malformed(
                "signature bundle",
                format!("larger than {MAX_BUNDLE_BYTES} bytes"),
            ));
        }
        let bundle: Self = serde_json::from_slice(bytes)
            .map_err(|e| RegistryError::malformed("signature bundle", e.to_string()))?;
        if bundle.media_type != BUNDLE_MEDIA_TYPE {
            return Err(RegistryError::Unsupported {
                what: "bundle media type",
                value: bundle.media_type,
                hint: "expected `application/vnd.dev.sigstore.bundle.v0.3+json`",
            });
        }
        let material = &bundle.verification_material;
        if material.x509_certificate_chain.is_some() || material.certificate.is_some() {
            return Err(RegistryError::Unsupported {
                what: "verification material",
                value: "certificate".to_owned(),
                hint: "only key-signed bundles (`model_signing sign key`) are supported",
            });
        }
        if material.tlog_entries.len() > MAX_TLOG_ENTRIES {
            return Err(RegistryError::malformed(
                "signature bundle",
                format!("more than {MAX_TLOG_ENTRIES} transparency-log entries"),
            ));
        }
        if bundle.dsse_envelope.is_none() {
            return Err(RegistryError::malformed(
                "signature bundle",
                "no `dsseEnvelope`; OMS signatures are DSSE envelopes",
            ));
        }
        Ok(bundle)
    }

    /// Reads and parses a bundle file, refusing files over the size cap before reading.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = read_capped(path, MAX_BUNDLE_BYTES, "signature bundle")?;
        Self::parse(&bytes).map_err(|e| match e {
            RegistryError::Malformed { what, reason } => RegistryError::Malformed {
                what,
                reason: format!("`{}`: {reason}", path.display()),
            },
            other => other,
        })
    }

    /// The envelope (always present in a parsed bundle).
    pub fn envelope(&self) -> Result<&Envelope> {
        self.dsse_envelope
            .as_ref()
            .ok_or_else(|| RegistryError::malformed("signature bundle", "no `dsseEnvelope`"))
    }

    /// The signer hint, if the bundle carries a non-empty one.
    pub fn key_hint(&self) -> Option<&str> {
        self.verification_material
            .public_key
            .as_ref()
            .and_then(|k| k.hint.as_deref())
            .filter(|h| !h.is_empty())
    }

    /// Compact JSON, as `model_signing` writes it.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| RegistryError::malformed("signature bundle", e.to_string()))
    }

    /// Writes the bundle atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json()?.as_bytes(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_media_type_and_certificates() {
        let ok = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"ab"},"tlogEntries":[]},"dsseEnvelope":{"payload":"","payloadType":"t","signatures":[]}}"#;
        let bundle = Bundle::parse(ok).unwrap();
        assert_eq!(bundle.key_hint(), Some("ab"));

        let text = std::str::from_utf8(ok).unwrap();
        let wrong = text.replace("v0.3", "v0.2");
        assert!(matches!(
            Bundle::parse(wrong.as_bytes()),
            Err(RegistryError::Unsupported { .. })
        ));
        let cert = text.replace(
            r#""publicKey":{"hint":"ab"}"#,
            r#""x509CertificateChain":{"certificates":[]}"#,
        );
        assert!(matches!(
            Bundle::parse(cert.as_bytes()),
            Err(RegistryError::Unsupported { .. })
        ));
        let no_envelope = text.replace(
            r#","dsseEnvelope":{"payload":"","payloadType":"t","signatures":[]}"#,
            "",
        );
        assert!(Bundle::parse(no_envelope.as_bytes()).is_err());
        assert!(Bundle::parse(b"[").is_err());
        assert!(Bundle::parse(b"").is_err());
    }

    const VALID: &str = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"ab"},"tlogEntries":[]},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUCIQ==","keyid":""}]}}"#;

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            if let Ok(bundle) = Bundle::parse(&bytes) {
                let _ = bundle.envelope().and_then(crate::dsse::Envelope::payload_bytes);
            }
        }

        #[test]
        fn mutated_valid_bundles_never_panic(position in 0usize..VALID.len(), byte in proptest::prelude::any::<u8>()) {
            let mut bytes = VALID.as_bytes().to_vec();
            bytes[position] = byte;
            if let Ok(bundle) = Bundle::parse(&bytes) {
                let payload = bundle.envelope().and_then(crate::dsse::Envelope::payload_bytes);
                if let Ok(payload) = payload {
                    let _ = crate::manifest::parse_oms_statement(&payload);
                }
                let again = Bundle::parse(bundle.to_json().unwrap().as_bytes()).unwrap();
                proptest::prop_assert_eq!(again, bundle);
            }
        }
    }

    #[test]
    fn null_hint_is_accepted_as_absent() {
        let old = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":null}},"dsseEnvelope":{"payload":"","payloadType":"t","signatures":[{"sig":"","keyid":null}]}}"#;
        assert_eq!(Bundle::parse(old).unwrap().key_hint(), None);
    }
}
