//! DSSE (Dead Simple Signing Envelope) v1: the signed wrapper around an
//! in-toto statement, in the model signature bundle and in `provenance.json`.
//!
//! The signature covers the pre-authentication encoding (PAE) of the exact
//! payload bytes, so no JSON canonicalisation is involved: a verifier checks
//! the bytes it decoded and only then parses them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rampart_crypto::ecdsa::{EcdsaSigningKey, EcdsaVerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::keys::KeyId;

/// Cap on signatures in one envelope; each is tried against every candidate key.
pub const MAX_SIGNATURES: usize = 16;

/// Cap on a DER ECDSA signature after base64 decoding (P-521 needs 139 bytes).
const MAX_SIGNATURE_BYTES: usize = 256;

/// A DSSE envelope as JSON (`payload` and `sig` are standard base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Base64 of the payload bytes.
    pub payload: String,
    /// Media type of the payload.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// One or more signatures over the PAE.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// Base64 of the DER ECDSA signature.
    pub sig: String,
    /// Optional hint naming the key; never trusted, only used to pick a key.
    #[serde(default)]
    pub keyid: Option<String>,
}

/// The DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let header = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    );
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// Signs `payload` with `key`; the key id goes into `keyid`.
    pub fn sign(payload_type: &str, payload: &[u8], key: &EcdsaSigningKey) -> Self {
        let sig = key.sign(&pae(payload_type, payload));
        Self {
            payload: STANDARD.encode(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                sig: STANDARD.encode(sig),
                keyid: Some(KeyId::of(&key.verifying_key()).as_str().to_owned()),
            }],
        }
    }

    /// Decodes the payload bytes without checking any signature.
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        STANDARD.decode(self.payload.as_bytes()).map_err(|e| {
            RegistryError::malformed("DSSE envelope", format!("payload is not base64: {e}"))
        })
    }

    /// Checks the envelope against `key` and returns the payload bytes if any
    /// signature verifies. `subject` only labels the error.
    pub fn verify(&self, key: &EcdsaVerifyingKey, subject: &str) -> Result<Vec<u8>> {
        if self.signatures.is_empty() || self.signatures.len() > MAX_SIGNATURES {
            return Err(RegistryError::malformed(
                "DSSE envelope",
                format!(
                    "has {} signatures, expected 1 to {MAX_SIGNATURES}",
                    self.signatures.len()
                ),
            ));
        }
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        for signature in &self.signatures {
            if signature.sig.len() > MAX_SIGNATURE_BYTES * 2 {
                continue;
            }
            let Ok(der) = STANDARD.decode(signature.sig.as_bytes()) else {
                continue;
            };
            if key.verify(&message, &der).is_ok() {
                return Ok(payload);
            }
        }
        Err(RegistryError::BadSignature {
            subject: subject.to_owned(),
            reason: format!(
                "no signature verifies with key `{}`",
                KeyId::of(key).short()
            ),
        })
    }

    /// The `keyid` hints of the signatures that carry one.
    pub fn key_hints(&self) -> impl Iterator<Item = &str> {
        self.signatures
            .iter()
            .filter_map(|s| s.keyid.as_deref())
            .filter(|k| !k.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE v1 protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn sign_verify_and_tamper() {
        let key = EcdsaSigningKey::generate().unwrap();
        let env = Envelope::sign("application/x", b"{\"a\":1}", &key);
        let vk = key.verifying_key();
        assert_eq!(env.verify(&vk, "m").unwrap(), b"{\"a\":1}");

        let mut tampered = env.clone();
        tampered.payload = STANDARD.encode(b"{\"a\":2}");
        assert!(matches!(
            tampered.verify(&vk, "m"),
            Err(RegistryError::BadSignature { .. })
        ));

        let mut retyped = env.clone();
        retyped.payload_type = "application/y".to_owned();
        assert!(retyped.verify(&vk, "m").is_err());

        let other = EcdsaSigningKey::generate().unwrap().verifying_key();
        assert!(env.verify(&other, "m").is_err());

        let mut none = env;
        none.signatures.clear();
        assert!(matches!(
            none.verify(&vk, "m"),
            Err(RegistryError::Malformed { .. })
        ));
    }
}
