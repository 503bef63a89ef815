//! The keyring of key-encryption keys, and wrapping data keys with them.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::Nonce;
use aes_gcm::aead::{Aead as _, Payload};

use super::{DataKey, NONCE_LEN, WrappedDek, check_kek_id, cipher, kek_check};
use crate::CryptoError;
use crate::error::fill_random;
use crate::secret::{Secret, decode_key_bytes};

/// Key-encryption keys by id, plus the id new data keys are wrapped with.
#[derive(Default)]
pub struct Keyring {
    keks: BTreeMap<String, Secret<[u8; 32]>>,
    primary: Option<String>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("kek_ids", &self.keks.keys().collect::<Vec<_>>())
            .field("primary", &self.primary)
            .finish()
    }
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh random 256-bit KEK (for `rampart keys generate`).
    pub fn generate_kek() -> Result<Secret<[u8; 32]>, CryptoError> {
        let mut k = Secret::new([0u8; 32]);
        fill_random(k.expose_mut())?;
        Ok(k)
    }

    /// Adds (or replaces) the KEK `id`. The first KEK added becomes the primary.
    pub fn insert(&mut self, id: &str, kek: Secret<[u8; 32]>) -> Result<(), CryptoError> {
        check_kek_id(id)?;
        self.keks.insert(id.to_owned(), kek);
        if self.primary.is_none() {
            self.primary = Some(id.to_owned());
        }
        Ok(())
    }

    /// Adds the KEK `id` from text: 64 hex digits or base64 of 32 bytes.
    pub fn insert_text(&mut self, id: &str, text: &Secret<String>) -> Result<(), CryptoError> {
        let kek = decode_key_bytes::<32>(text)?;
        self.insert(id, kek)
    }

    /// Makes `id` the KEK that new data keys are wrapped with.
    pub fn set_primary(&mut self, id: &str) -> Result<(), CryptoError> {
        if !self.keks.contains_key(id) {
            return Err(CryptoError::UnknownKek {
                kek_id: id.to_owned(),
            });
        }
        self.primary = Some(id.to_owned());
        Ok(())
    }

    /// The id new data keys are wrapped with, if any KEK is loaded.
    pub fn primary_id(&self) -> Option<&str> {
        self.primary.as_deref()
    }

    /// Ids of every loaded KEK, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keks.keys().map(String::as_str)
    }

    pub(super) fn kek(&self, id: &str) -> Result<&Secret<[u8; 32]>, CryptoError> {
        self.keks.get(id).ok_or_else(|| CryptoError::UnknownKek {
            kek_id: id.to_owned(),
        })
    }

    /// Starts a batch: a fresh data key and its wrapped form under the primary KEK.
    pub fn new_batch(&self) -> Result<(DataKey, WrappedDek), CryptoError> {
        let dek = DataKey::generate()?;
        let wrapped = self.wrap(&dek)?;
        Ok((dek, wrapped))
    }

    /// Wraps `dek` with the primary KEK.
    pub fn wrap(&self, dek: &DataKey) -> Result<WrappedDek, CryptoError> {
        let id = self.primary.as_deref().ok_or_else(|| {
            CryptoError::InvalidArgument(
                "the keyring holds no key-encryption key; load one first".to_owned(),
            )
        })?;
        self.wrap_with(id, dek)
    }

    /// Wraps `dek` with the KEK `kek_id`.
    pub fn wrap_with(&self, kek_id: &str, dek: &DataKey) -> Result<WrappedDek, CryptoError> {
        let kek = self.kek(kek_id)?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut w = WrappedDek {
            dek_id: dek.id,
            kek_id: kek_id.to_owned(),
            kek_check: kek_check(kek),
            nonce,
            ciphertext: [0u8; 48],
        };
        let aad = w.associated_data();
        let cipher = cipher(kek)?;
        let ct = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: dek.key.expose(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::InvalidArgument("AES-GCM refused to encrypt".to_owned()))?;
        w.ciphertext = ct
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Truncated {
                needed: 48,
                got: ct.len(),
            })?;
        Ok(w)
    }

    /// Recovers the data key from its wrapped form.
    pub fn unwrap(&self, wrapped: &WrappedDek) -> Result<DataKey, CryptoError> {
        let kek = self.kek(&wrapped.kek_id)?;
        if kek_check(kek) != wrapped.kek_check {
            return Err(CryptoError::WrongKey(format!(
                "key-encryption key `{}` in the keyring is not the one that wrapped data key `{}`",
                wrapped.kek_id, wrapped.dek_id
            )));
        }
        let aad = wrapped.associated_data();
        let plain = Secret::new(
            cipher(kek)?
                .decrypt(
                    &Nonce::from(wrapped.nonce),
                    Payload {
                        msg: &wrapped.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| CryptoError::TagMismatch)?,
        );
        let mut key = Secret::new([0u8; 32]);
        if plain.expose().len() != 32 {
            return Err(CryptoError::TagMismatch);
        }
        key.expose_mut().copy_from_slice(plain.expose());
        DataKey::from_parts(wrapped.dek_id, key)
    }

    /// Re-wraps a data key under `new_kek_id` (KEK rotation). Field ciphertexts are unaffected:
    /// they name the DEK id, which does not change.
    pub fn rewrap(
        &self,
        wrapped: &WrappedDek,
        new_kek_id: &str,
    ) -> Result<WrappedDek, CryptoError> {
        let dek = self.unwrap(wrapped)?;
        self.wrap_with(new_kek_id, &dek)
    }
}
