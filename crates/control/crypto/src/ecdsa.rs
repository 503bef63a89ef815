//! ECDSA P-256 with SHA-256: keys in PEM, DER signatures (the `OpenSSF` model-signing key method).

use std::path::Path;

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
    LineEnding,
};

use crate::CryptoError;
use crate::digest::{Sha256Digest, sha256};
use crate::secret::{Secret, find_pem_block, write_new_file};

const PKCS8_LABEL: &str = "PRIVATE KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";
const SPKI_LABEL: &str = "PUBLIC KEY";

/// An ECDSA P-256 private key. Zeroized on drop; `Debug` prints `***`.
#[derive(Clone)]
pub struct EcdsaSigningKey {
    inner: p256::ecdsa::SigningKey,
}

impl std::fmt::Debug for EcdsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EcdsaSigningKey(***)")
    }
}

impl EcdsaSigningKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, CryptoError> {
        // A random 32-byte string is a valid scalar unless it is zero or >= n, which
        // happens with probability ~2^-32; retry instead of biasing.
        for _ in 0..64 {
            let mut bytes = Secret::new([0u8; 32]);
            crate::error::fill_random(bytes.expose_mut())?;
            if let Ok(secret) = p256::SecretKey::from_slice(bytes.expose()) {
                return Ok(Self {
                    inner: secret.into(),
                });
            }
        }
        Err(CryptoError::Random(
            "no valid P-256 scalar after 64 draws".to_owned(),
        ))
    }

    /// Parses a PEM private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    ///
    /// Other blocks in the text (such as `EC PARAMETERS`) are skipped. Encrypted keys are refused.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let Some((label, block)) = find_pem_block(pem, &[PKCS8_LABEL, SEC1_LABEL, ENCRYPTED_LABEL])
        else {
            return Err(CryptoError::InvalidKey(
                "no `PRIVATE KEY` or `EC PRIVATE KEY` PEM block found".to_owned(),
            ));
        };
        let secret = match label {
            PKCS8_LABEL => p256::SecretKey::from_pkcs8_pem(block).map_err(|e| {
                CryptoError::InvalidKey(format!("not a P-256 PKCS#8 private key: {e}"))
            })?,
            SEC1_LABEL => p256::SecretKey::from_sec1_pem(block).map_err(|e| {
                CryptoError::InvalidKey(format!("not a P-256 SEC1 private key: {e}"))
            })?,
            _ => {
                return Err(CryptoError::InvalidKey(
                    "encrypted private keys are not supported; decrypt with `openssl pkcs8 -in key.pem -out plain.pem` and protect the file with mode 0600".to_owned(),
                ));
            }
        };
        Ok(Self {
            inner: secret.into(),
        })
    }

    /// Reads and parses a PEM private key file (see [`Self::from_pem`]).
    pub fn load_pem_file(path: &Path) -> Result<Self, CryptoError> {
        let text = Secret::load_file(path)?;
        Self::from_pem(text.expose()).map_err(|e| e.in_key_file(path))
    }

    /// The private key as PKCS#8 PEM text with LF line endings.
    pub fn to_pkcs8_pem(&self) -> Result<Secret<String>, CryptoError> {
        let pem = self
            .inner
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode private key: {e}")))?;
        Ok(Secret::new(pem.as_str().to_owned()))
    }

    /// Writes the private key as PKCS#8 PEM to a new file created with mode 0600.
    ///
    /// Refuses to overwrite an existing file.
    pub fn write_pem_file(&self, path: &Path) -> Result<(), CryptoError> {
        let pem = self.to_pkcs8_pem()?;
        write_new_file(path, pem.expose().as_bytes(), true)
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> EcdsaVerifyingKey {
        EcdsaVerifyingKey::from_inner(*self.inner.verifying_key())
    }

    /// Signs `message` (hashed with SHA-256) and returns the ASN.1 DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.inner.sign(message);
        sig.to_der().as_bytes().to_vec()
    }
}

/// An ECDSA P-256 public key with its canonical PEM SPKI text.
#[derive(Clone, PartialEq, Eq)]
pub struct EcdsaVerifyingKey {
    inner: p256::ecdsa::VerifyingKey,
    /// INVARIANT: the canonical encoding of `inner` (`-----BEGIN PUBLIC KEY-----`, 64-column
    /// base64, LF line endings, final newline), i.e. the bytes OpenSSL and Python
    /// `cryptography` produce for the same key.
    pem: String,
}

impl std::fmt::Debug for EcdsaVerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcdsaVerifyingKey({})", self.pem_sha256())
    }
}

impl EcdsaVerifyingKey {
    fn from_inner(inner: p256::ecdsa::VerifyingKey) -> Self {
        // Encoding a valid point cannot fail; fall back to an empty string rather than panic.
        let pem = inner.to_public_key_pem(LineEnding::LF).unwrap_or_default();
        Self { inner, pem }
    }

    /// Parses a PEM `PUBLIC KEY` (`SubjectPublicKeyInfo`) block; other blocks are skipped.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let (_, block) = find_pem_block(pem, &[SPKI_LABEL])
            .ok_or_else(|| CryptoError::InvalidKey("no `PUBLIC KEY` PEM block found".to_owned()))?;
        let inner = p256::ecdsa::VerifyingKey::from_public_key_pem(block)
            .map_err(|e| CryptoError::InvalidKey(format!("not a P-256 public key: {e}")))?;
        Ok(Self::from_inner(inner))
    }

    /// Reads and parses a PEM public key file.
    pub fn load_pem_file(path: &Path) -> Result<Self, CryptoError> {
        let text = std::fs::read(path).map_err(|e| CryptoError::io(path, e))?;
        let text = std::str::from_utf8(&text).map_err(|_| {
            CryptoError::InvalidKey(format!(
                "`{}` is not UTF-8 text; expected a PEM file",
                path.display()
            ))
        })?;
        Self::from_pem(text)
    }

    /// Parses a DER `SubjectPublicKeyInfo`.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        let inner = p256::ecdsa::VerifyingKey::from_public_key_der(der)
            .map_err(|e| CryptoError::InvalidKey(format!("not a P-256 public key: {e}")))?;
        Ok(Self::from_inner(inner))
    }

    /// The canonical PEM SPKI text (see the field invariant); hash this for the OMS key hint.
    pub fn public_key_pem(&self) -> &str {
        &self.pem
    }

    /// SHA-256 of [`Self::public_key_pem`]: the `OpenSSF` model-signing `publicKey.hint` (hex).
    pub fn pem_sha256(&self) -> Sha256Digest {
        sha256(self.pem.as_bytes())
    }

    /// The DER `SubjectPublicKeyInfo` bytes.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.inner
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// Writes the PEM SPKI text to a new file (mode 0644); refuses to overwrite.
    pub fn write_pem_file(&self, path: &Path) -> Result<(), CryptoError> {
        write_new_file(path, self.pem.as_bytes(), false)
    }

    /// Verifies a DER ECDSA signature over `message` (hashed with SHA-256).
    pub fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), CryptoError> {
        let sig = p256::ecdsa::DerSignature::from_bytes(der_signature).map_err(|_| {
            CryptoError::BadSignature("signature is not a DER ECDSA P-256 signature".to_owned())
        })?;
        self.inner.verify(message, &sig).map_err(|_| {
            CryptoError::BadSignature(
                "ECDSA P-256 signature does not match the message and key".to_owned(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6979 A.2.5 P-256 key, written by Python `cryptography` in both private key formats.
    const SEC1: &str = include_str!("../tests/fixtures/p256-sec1.pem");
    const PKCS8: &str = include_str!("../tests/fixtures/p256-pkcs8.pem");
    const PUB: &str = include_str!("../tests/fixtures/p256-pub.pem");

    #[test]
    fn sign_verify_round_trip() {
        let key = EcdsaSigningKey::generate().unwrap();
        let sig = key.sign(b"hello");
        let vk = key.verifying_key();
        vk.verify(b"hello", &sig).unwrap();
        assert!(matches!(
            vk.verify(b"hellO", &sig),
            Err(CryptoError::BadSignature(_))
        ));
        assert!(vk.verify(b"hello", &sig[..sig.len() - 1]).is_err());
        let other = EcdsaSigningKey::generate().unwrap().verifying_key();
        assert!(other.verify(b"hello", &sig).is_err());
    }

    #[test]
    fn loads_both_private_formats_and_matches_public_pem() {
        let a = EcdsaSigningKey::from_pem(SEC1).unwrap();
        let b = EcdsaSigningKey::from_pem(PKCS8).unwrap();
        assert_eq!(a.verifying_key(), b.verifying_key());
        let vk = EcdsaVerifyingKey::from_pem(PUB).unwrap();
        assert_eq!(vk, a.verifying_key());
        // Canonical text equals what OpenSSL wrote, byte for byte.
        assert_eq!(vk.public_key_pem(), PUB);
        assert_eq!(
            EcdsaVerifyingKey::from_der(&vk.public_key_der()).unwrap(),
            vk
        );
    }

    #[test]
    fn rfc6979_a_2_5_deterministic_signature_of_sample() {
        // RFC 6979 A.2.5, P-256 with SHA-256, message "sample".
        let key = EcdsaSigningKey::from_pem(PKCS8).unwrap();
        let der = key.sign(b"sample");
        let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
        let (r, s) = sig.split_bytes();
        assert_eq!(
            hex::encode_upper(r),
            "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
        );
        assert_eq!(
            hex::encode_upper(s),
            "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
        );
        key.verifying_key().verify(b"sample", &der).unwrap();
    }

    #[test]
    fn pem_with_parameters_block_first_is_accepted() {
        let text = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{SEC1}"
        );
        assert!(EcdsaSigningKey::from_pem(&text).is_ok());
    }

    #[test]
    fn bad_pem_is_a_clear_error() {
        assert!(matches!(
            EcdsaSigningKey::from_pem("nothing"),
            Err(CryptoError::InvalidKey(_))
        ));
        assert!(EcdsaSigningKey::from_pem(PUB).is_err());
        assert!(EcdsaVerifyingKey::from_pem(PKCS8).is_err());
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = EcdsaSigningKey::from_pem(enc).unwrap_err().to_string();
        assert!(err.contains("encrypted"), "{err}");
        let garbled = PKCS8.replace('A', "B");
        assert!(EcdsaSigningKey::from_pem(&garbled).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn private_key_file_is_0600_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.pem");
        let key = EcdsaSigningKey::generate().unwrap();
        key.write_pem_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            key.write_pem_file(&path),
            Err(CryptoError::AlreadyExists { .. })
        ));
        let loaded = EcdsaSigningKey::load_pem_file(&path).unwrap();
        assert_eq!(loaded.verifying_key(), key.verifying_key());
        let pub_path = dir.path().join("signing.pub");
        key.verifying_key().write_pem_file(&pub_path).unwrap();
        assert_eq!(
            EcdsaVerifyingKey::load_pem_file(&pub_path).unwrap(),
            key.verifying_key()
        );
    }

    #[test]
    fn debug_hides_private_key() {
        let key = EcdsaSigningKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "EcdsaSigningKey(***)");
        assert_eq!(format!("{:?}", key.to_pkcs8_pem().unwrap()), "***");
    }
}
