//! Key identity and bounded key loading on top of `rampart-crypto`'s ECDSA P-256 keys.

use std::fmt;
use std::path::Path;

use rampart_crypto::ecdsa::{EcdsaSigningKey, EcdsaVerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::fsio::{MAX_KEY_BYTES, read_capped_text};

/// Identifies a public key: lowercase hex SHA-256 of its canonical PEM SPKI
/// text. This is exactly the OMS `verificationMaterial.publicKey.hint`, so a
/// bundle names its signer without carrying the key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// The key id of a public key.
    pub fn of(key: &EcdsaVerifyingKey) -> Self {
        Self(key.pem_sha256().to_hex())
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 16 hex digits, enough to tell keys apart in listings.
    pub fn short(&self) -> &str {
        self.0.get(..16).unwrap_or(&self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses PEM public key text into a key, refusing anything but P-256.
pub fn public_key_from_pem(pem: &str) -> Result<EcdsaVerifyingKey> {
    EcdsaVerifyingKey::from_pem(pem).map_err(|e| RegistryError::Key(e.to_string()))
}

/// Reads a PEM public key file, capped at 64 KiB.
pub fn load_public_key(path: &Path) -> Result<EcdsaVerifyingKey> {
    let text = read_capped_text(path, MAX_KEY_BYTES, "public key")?;
    EcdsaVerifyingKey::from_pem(&text)
        .map_err(|e| RegistryError::Key(format!("`{}`: {e}", path.display())))
}

/// Reads a PEM private key file (PKCS#8 or SEC1); the text never leaves a
/// zeroizing wrapper.
pub fn load_signing_key(path: &Path) -> Result<EcdsaSigningKey> {
    EcdsaSigningKey::load_pem_file(path).map_err(|e| RegistryError::Key(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_sha256_of_pem_text() {
        let key = EcdsaSigningKey::generate().unwrap().verifying_key();
        let id = KeyId::of(&key);
        let expected = hex::encode(crate::model_dir::sha256_bytes(
            key.public_key_pem().as_bytes(),
        ));
        assert_eq!(id.as_str(), expected);
        assert_eq!(id.short().len(), 16);
    }
}
