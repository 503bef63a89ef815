//! Ed25519 keys and signatures (RFC 8032), used to sign audit-log checkpoints.
//!
//! Storage formats, chosen because standard tools read them:
//! - private keys: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 8410), file mode 0600;
//!   `openssl pkey -in key.pem -noout -text` reads it;
//! - public keys: SPKI PEM (`-----BEGIN PUBLIC KEY-----`), or the C2SP signed-note verifier key
//!   string `<name>+<hex key id>+<base64(0x01 || 32-byte public key)>` ([`NoteVerifierKey`]),
//!   which is how checkpoint verifiers are configured.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
    spki::der::pem::LineEnding,
};

use crate::CryptoError;
use crate::digest::sha256_parts;
use crate::secret::{Secret, find_pem_block, write_new_file};

/// Signature type byte of Ed25519 in the C2SP signed-note registry.
pub const NOTE_ALG_ED25519: u8 = 0x01;

/// Longest key name accepted in a verifier key string.
pub const MAX_NOTE_KEY_NAME: usize = 256;

/// An Ed25519 private key. Zeroized on drop; `Debug` prints `***`.
#[derive(Clone)]
pub struct Ed25519SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519SigningKey(***)")
    }
}

impl Ed25519SigningKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = Secret::new([0u8; 32]);
        crate::error::fill_random(seed.expose_mut())?;
        Ok(Self::from_seed(&seed))
    }

    /// Builds a key from its 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &Secret<[u8; 32]>) -> Self {
        Self {
            inner: ed25519_dalek::SigningKey::from_bytes(seed.expose()),
        }
    }

    /// Parses a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let (_, block) = find_pem_block(pem, &["PRIVATE KEY"]).ok_or_else(|| {
            CryptoError::InvalidKey("no `PRIVATE KEY` PEM block found".to_owned())
        })?;
        let inner = ed25519_dalek::SigningKey::from_pkcs8_pem(block).map_err(|e| {
            CryptoError::InvalidKey(format!("not an Ed25519 PKCS#8 private key: {e}"))
        })?;
        Ok(Self { inner })
    }

    /// Reads and parses a PKCS#8 PEM private key file.
    pub fn load_pem_file(path: &Path) -> Result<Self, CryptoError> {
        let text = Secret::load_file(path)?;
        Self::from_pem(text.expose()).map_err(|e| e.in_key_file(path))
    }

    /// The private key as PKCS#8 PEM text.
    pub fn to_pkcs8_pem(&self) -> Result<Secret<String>, CryptoError> {
        let pem = self
            .inner
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode private key: {e}")))?;
        Ok(Secret::new(pem.as_str().to_owned()))
    }

    /// Writes the private key as PKCS#8 PEM to a new file with mode 0600; never overwrites.
    pub fn write_pem_file(&self, path: &Path) -> Result<(), CryptoError> {
        let pem = self.to_pkcs8_pem()?;
        write_new_file(path, pem.expose().as_bytes(), true)
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> Ed25519VerifyingKey {
        Ed25519VerifyingKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// Signs `message` (pure Ed25519, no prehash) and returns the 64-byte signature.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.inner.sign(message).to_bytes()
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519VerifyingKey {
    inner: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for Ed25519VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ed25519VerifyingKey({})",
            hex::encode(self.inner.as_bytes())
        )
    }
}

impl Ed25519VerifyingKey {
    /// Parses the 32-byte compressed point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(|inner| Self { inner })
            .map_err(|_| CryptoError::InvalidKey("not a valid Ed25519 public key".to_owned()))
    }

    /// The 32-byte compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// Parses a PEM `PUBLIC KEY` (SPKI) block.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let (_, block) = find_pem_block(pem, &["PUBLIC KEY"])
            .ok_or_else(|| CryptoError::InvalidKey("no `PUBLIC KEY` PEM block found".to_owned()))?;
        ed25519_dalek::VerifyingKey::from_public_key_pem(block)
            .map(|inner| Self { inner })
            .map_err(|e| CryptoError::InvalidKey(format!("not an Ed25519 public key: {e}")))
    }

    /// The public key as SPKI PEM text.
    pub fn to_pem(&self) -> String {
        self.inner
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Verifies a 64-byte signature over `message` with RFC 8032 strict checks
    /// (canonical encodings, no small-order keys).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| {
            CryptoError::BadSignature(format!(
                "Ed25519 signature must be 64 bytes, got {}",
                signature.len()
            ))
        })?;
        self.inner.verify_strict(message, &sig).map_err(|_| {
            CryptoError::BadSignature(
                "Ed25519 signature does not match the message and key".to_owned(),
            )
        })
    }

    /// The C2SP signed-note key id for this key under `name`:
    /// the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`.
    pub fn note_key_id(&self, name: &str) -> [u8; 4] {
        let h = sha256_parts(&[
            name.as_bytes(),
            b"\n",
            &[NOTE_ALG_ED25519],
            self.inner.as_bytes(),
        ]);
        let mut id = [0u8; 4];
        id.copy_from_slice(h.as_bytes().get(..4).unwrap_or(&[0; 4]));
        id
    }
}

/// A named Ed25519 verifier key in the C2SP signed-note text form
/// `<name>+<8 hex digits key id>+<base64(0x01 || public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifierKey {
    /// Key name as it appears on signature lines (no spaces, no `+`).
    pub name: String,
    /// Key id, checked against the name and key on parse.
    pub key_id: [u8; 4],
    /// The public key.
    pub key: Ed25519VerifyingKey,
}

impl NoteVerifierKey {
    /// Names `key`; fails if the name is empty or contains whitespace or `+`.
    pub fn new(name: &str, key: Ed25519VerifyingKey) -> Result<Self, CryptoError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key.note_key_id(name),
            key,
        })
    }

    /// Parses `<name>+<hex id>+<base64>`; rejects other algorithms and ids that do not match.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let bad = |reason: &str| CryptoError::Decode {
            value: text.chars().take(120).collect(),
            reason: reason.to_owned(),
        };
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected `<name>+<hex key id>+<base64 key>`"));
        };
        check_key_name(name)?;
        let mut key_id = [0u8; 4];
        if id_hex.len() != 8 {
            return Err(bad("key id must be 8 hex digits"));
        }
        hex::decode_to_slice(id_hex, &mut key_id)
            .map_err(|_| bad("key id must be 8 hex digits"))?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| bad("key is not standard base64"))?;
        let (Some(&alg), Some(point)) = (raw.first(), raw.get(1..)) else {
            return Err(bad("key is empty"));
        };
        if alg != NOTE_ALG_ED25519 {
            return Err(CryptoError::UnsupportedFormat(format!(
                "verifier key algorithm `0x{alg:02x}` is not supported; only Ed25519 (0x01) is"
            )));
        }
        let point: [u8; 32] = point
            .try_into()
            .map_err(|_| bad("Ed25519 key must be 32 bytes"))?;
        let key = Ed25519VerifyingKey::from_bytes(&point)?;
        if key.note_key_id(name) != key_id {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key,
        })
    }
}

impl fmt::Display for NoteVerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(NOTE_ALG_ED25519);
        raw.extend_from_slice(&self.key.to_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Key names are non-empty, at most [`MAX_NOTE_KEY_NAME`] bytes, with no whitespace and no `+`.
pub fn check_key_name(name: &str) -> Result<(), CryptoError> {
    if name.is_empty()
        || name.len() > MAX_NOTE_KEY_NAME
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(CryptoError::InvalidArgument(format!(
            "key name `{}` must be 1..={MAX_NOTE_KEY_NAME} bytes without spaces or `+`",
            name.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Rfc8032Vector {
        name: String,
        secret_key: String,
        public_key: String,
        message: String,
        signature: String,
    }

    #[test]
    fn rfc8032_section_7_1_vectors() {
        let vectors: Vec<Rfc8032Vector> =
            serde_json::from_str(include_str!("../tests/fixtures/ed25519-rfc8032.json")).unwrap();
        assert_eq!(vectors.len(), 3);
        for v in vectors {
            let seed: [u8; 32] = hex::decode(&v.secret_key).unwrap().try_into().unwrap();
            let key = Ed25519SigningKey::from_seed(&Secret::new(seed));
            assert_eq!(
                hex::encode(key.verifying_key().to_bytes()),
                v.public_key,
                "{}",
                v.name
            );
            let msg = hex::decode(&v.message).unwrap();
            let sig = key.sign(&msg);
            assert_eq!(hex::encode(sig), v.signature, "{}", v.name);
            key.verifying_key().verify(&msg, &sig).unwrap();
            let mut bad = sig;
            bad[0] ^= 1;
            assert!(key.verifying_key().verify(&msg, &bad).is_err());
        }
    }

    #[test]
    fn pem_round_trip_and_file_mode() {
        let key = Ed25519SigningKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let again = Ed25519SigningKey::from_pem(pem.expose()).unwrap();
        assert_eq!(again.verifying_key(), key.verifying_key());
        let pub_pem = key.verifying_key().to_pem();
        assert_eq!(
            Ed25519VerifyingKey::from_pem(&pub_pem).unwrap(),
            key.verifying_key()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        key.write_pem_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(
            Ed25519SigningKey::load_pem_file(&path)
                .unwrap()
                .verifying_key(),
            key.verifying_key()
        );
        assert!(Ed25519SigningKey::from_pem(&pub_pem).is_err());
    }

    #[test]
    fn c2sp_signed_note_example_verifier_key() {
        // From C2SP signed-note.md.
        let text = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        let vkey = NoteVerifierKey::parse(text).unwrap();
        assert_eq!(vkey.name, "example.com/foo");
        assert_eq!(hex::encode(vkey.key_id), "530d903a");
        assert_eq!(vkey.to_string(), text);
        assert!(
            NoteVerifierKey::parse(
                "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
            )
            .is_err()
        );
        assert!(
            NoteVerifierKey::parse(
                "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
            )
            .is_err()
        );
        assert!(NoteVerifierKey::parse("a+b").is_err());
        assert!(NoteVerifierKey::parse("").is_err());
    }

    #[test]
    fn key_names_are_checked() {
        let key = Ed25519SigningKey::generate().unwrap().verifying_key();
        assert!(NoteVerifierKey::new("log.example/a", key).is_ok());
        for bad in ["", "a b", "a+b", "a\nb"] {
            assert!(NoteVerifierKey::new(bad, key).is_err(), "{bad:?}");
        }
    }
}
