//! AES-256-GCM envelope encryption of sensitive fields.
//!
//! Each batch of records gets a random 256-bit data key (DEK). Every sensitive field is sealed
//! with the DEK, its associated data binding it to its record id and field name, so a ciphertext
//! moved to another record or field fails to open. The DEK is stored only wrapped (encrypted)
//! by a key-encryption key (KEK) that lives in a [`Keyring`] under a short id. Rotating a KEK
//! ([`Keyring::rewrap`]) re-encrypts the small (87 bytes plus the KEK id) wrapped DEKs and leaves every field ciphertext
//! untouched, which is why the KEK id lives in the wrapped DEK and not in each field.
//!
//! # Serialized forms (version 1, all integers big-endian)
//!
//! Wrapped data key, [`WrappedDek::to_bytes`]:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 1 | version `0x01` |
//! | 1 | 1 | form `0x4B` (`K`) |
//! | 2 | 16 | DEK id (random) |
//! | 18 | 1 | KEK id length `L`, 1..=64 |
//! | 19 | L | KEK id (ASCII `[A-Za-z0-9._:-]`) |
//! | 19+L | 8 | KEK check value: `HMAC-SHA256(KEK, "rampart/kek-check/v1")[..8]` |
//! | 27+L | 12 | nonce (random) |
//! | 39+L | 48 | AES-256-GCM(KEK) of the 32-byte DEK, then the 16-byte tag |
//!
//! The wrap's associated data is bytes 0..27+L (everything before the nonce).
//!
//! Sealed field, [`DataKey::seal`]:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 1 | version `0x01` |
//! | 1 | 1 | form `0x46` (`F`) |
//! | 2 | 16 | DEK id: which wrapped DEK opens this field |
//! | 18 | 12 | nonce (random) |
//! | 30 | 4 | value length `n` (so truncation is recognised as such) |
//! | 34 | 8 | binding check: `HMAC-SHA256(HKDF(DEK, "rampart/field-binding/v1"), B)[..8]` |
//! | 42 | n+16 | AES-256-GCM(DEK) ciphertext of the n-byte value, then the 16-byte tag |
//!
//! where the binding `B = u32(len(record id)) || record id || u32(len(field)) || field`, and the
//! field's associated data is bytes 0..34 followed by `B`.
//!
//! # Failing closed, with distinct errors
//!
//! AES-GCM alone reports every failure as one "authentication failed". The two short check
//! values tell the cases apart before decryption: a KEK check mismatch means the wrong KEK
//! ([`CryptoError::WrongKey`]); a binding check mismatch means the wrong record or field
//! ([`CryptoError::AssociatedDataMismatch`]); a DEK id mismatch means the wrong data key
//! ([`CryptoError::WrongKey`]); if all match and GCM still fails, the ciphertext or tag was
//! altered ([`CryptoError::TagMismatch`]). Input shorter than its header and length field say is
//! [`CryptoError::Truncated`]. The checks are PRF outputs under secret keys, so they reveal
//! nothing about keys or plaintexts.
//!
//! Nonces are random 96-bit values; a DEK protects one batch, far below the 2^32 messages per
//! key that random GCM nonces allow.

mod keyring;
mod wire;

use std::fmt;

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::CryptoError;
use crate::error::fill_random;
use crate::secret::Secret;

pub use keyring::Keyring;
pub use wire::{SealedField, WrappedDek};
use wire::{field_aad, len_prefix};

/// Version byte of both serialized forms.
pub const ENVELOPE_VERSION: u8 = 1;
const FORM_WRAPPED_DEK: u8 = b'K';
const FORM_FIELD: u8 = b'F';
/// Longest KEK id.
pub const MAX_KEK_ID_LEN: usize = 64;
const DEK_ID_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const CHECK_LEN: usize = 8;
const TAG_LEN: usize = 16;
const FIELD_HEADER_LEN: usize = 2 + DEK_ID_LEN + NONCE_LEN + 4;
/// Smallest sealed field: header, binding check and tag (an empty value).
pub const MIN_SEALED_FIELD_LEN: usize = FIELD_HEADER_LEN + CHECK_LEN + TAG_LEN;

/// Identifier of a data key, random, printed as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DekId(pub [u8; DEK_ID_LEN]);

impl fmt::Display for DekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for DekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DekId({self})")
    }
}

fn check_kek_id(id: &str) -> Result<(), CryptoError> {
    if id.is_empty()
        || id.len() > MAX_KEK_ID_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
    {
        return Err(CryptoError::InvalidArgument(format!(
            "key-encryption key id `{}` must be 1..={MAX_KEK_ID_LEN} characters of [A-Za-z0-9._:-]",
            id.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

fn cipher(key: &Secret<[u8; 32]>) -> Result<Aes256Gcm, CryptoError> {
    Aes256Gcm::new_from_slice(key.expose())
        .map_err(|_| CryptoError::InvalidKey("AES-256 key must be 32 bytes".to_owned()))
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; an empty tag would fail closed.
    let Ok(mut mac) = <Hmac<Sha256>>::new_from_slice(key) else {
        return [0u8; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn kek_check(kek: &Secret<[u8; 32]>) -> [u8; CHECK_LEN] {
    let full = hmac_sha256(kek.expose(), &[b"rampart/kek-check/v1"]);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(full.get(..CHECK_LEN).unwrap_or(&[0; CHECK_LEN]));
    out
}

/// A data key in the clear, for sealing and opening the fields of one batch.
pub struct DataKey {
    id: DekId,
    key: Secret<[u8; 32]>,
    binding_key: Secret<[u8; 32]>,
    cipher: Aes256Gcm,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({}, ***)", self.id)
    }
}

impl DataKey {
    /// A fresh random data key with a random id.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut id = [0u8; DEK_ID_LEN];
        fill_random(&mut id)?;
        let mut key = Secret::new([0u8; 32]);
        fill_random(key.expose_mut())?;
        Self::from_parts(DekId(id), key)
    }

    fn from_parts(id: DekId, key: Secret<[u8; 32]>) -> Result<Self, CryptoError> {
        let mut binding_key = Secret::new([0u8; 32]);
        hkdf::Hkdf::<Sha256>::new(None, key.expose())
            .expand(b"rampart/field-binding/v1", binding_key.expose_mut())
            .map_err(|_| CryptoError::InvalidArgument("HKDF output length".to_owned()))?;
        let cipher = cipher(&key)?;
        Ok(Self {
            id,
            key,
            binding_key,
            cipher,
        })
    }

    /// This key's id, as written into every field it seals.
    pub fn id(&self) -> DekId {
        self.id
    }

    fn binding_check(&self, record_id: &str, field: &str) -> Result<[u8; CHECK_LEN], CryptoError> {
        let (r, f) = (len_prefix(record_id)?, len_prefix(field)?);
        let full = hmac_sha256(
            self.binding_key.expose(),
            &[&r, record_id.as_bytes(), &f, field.as_bytes()],
        );
        let mut out = [0u8; CHECK_LEN];
        out.copy_from_slice(full.get(..CHECK_LEN).unwrap_or(&[0; CHECK_LEN]));
        Ok(out)
    }

    /// Encrypts `plaintext` as field `field` of record `record_id` (see the module docs).
    pub fn seal(
        &self,
        record_id: &str,
        field: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut out = Vec::with_capacity(MIN_SEALED_FIELD_LEN + plaintext.len());
        out.push(ENVELOPE_VERSION);
        out.push(FORM_FIELD);
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&nonce);
        let len = u32::try_from(plaintext.len()).map_err(|_| {
            CryptoError::InvalidArgument("a sealed value must be smaller than 4 GiB".to_owned())
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        let aad = field_aad(&out, record_id, field)?;
        out.extend_from_slice(&self.binding_check(record_id, field)?);
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::InvalidArgument("value too large for AES-GCM".to_owned()))?;
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a sealed field, checking that it belongs to `record_id` / `field`.
    pub fn open(
        &self,
        record_id: &str,
        field: &str,
        sealed: &[u8],
    ) -> Result<Secret<Vec<u8>>, CryptoError> {
        let parsed = SealedField::parse(sealed)?;
        if parsed.dek_id != self.id {
            return Err(CryptoError::WrongKey(format!(
                "field was sealed with data key `{}`, not `{}`",
                parsed.dek_id, self.id
            )));
        }
        let header = sealed
            .get(..FIELD_HEADER_LEN)
            .ok_or(CryptoError::Truncated {
                needed: MIN_SEALED_FIELD_LEN,
                got: sealed.len(),
            })?;
        if self.binding_check(record_id, field)? != parsed.binding_check {
            return Err(CryptoError::AssociatedDataMismatch {
                record_id: record_id.to_owned(),
                field: field.to_owned(),
            });
        }
        let aad = field_aad(header, record_id, field)?;
        self.cipher
            .decrypt(
                &Nonce::from(parsed.nonce),
                Payload {
                    msg: parsed.ciphertext,
                    aad: &aad,
                },
            )
            .map(Secret::new)
            .map_err(|_| CryptoError::TagMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keyring() -> Keyring {
        let mut k = Keyring::new();
        k.insert("kek-2026", Keyring::generate_kek().unwrap())
            .unwrap();
        k
    }

    #[test]
    fn seal_open_round_trip_through_wrapped_key() {
        let ring = keyring();
        let (dek, wrapped) = ring.new_batch().unwrap();
        let sealed = dek.seal("evt-1", "user.name", b"alice").unwrap();
        assert_eq!(SealedField::parse(&sealed).unwrap().dek_id, dek.id());
        let stored = WrappedDek::from_bytes(&wrapped.to_bytes()).unwrap();
        assert_eq!(stored, wrapped);
        let dek2 = ring.unwrap(&stored).unwrap();
        assert_eq!(
            dek2.open("evt-1", "user.name", &sealed).unwrap().expose(),
            b"alice"
        );
        assert_eq!(sealed.len(), MIN_SEALED_FIELD_LEN + 5);
        assert_eq!(
            wrapped.to_bytes().len(),
            19 + "kek-2026".len() + 8 + 12 + 48
        );
    }

    #[test]
    fn wrong_associated_data_is_named() {
        let (dek, _) = keyring().new_batch().unwrap();
        let sealed = dek.seal("evt-1", "user.name", b"alice").unwrap();
        for (r, f) in [
            ("evt-2", "user.name"),
            ("evt-1", "host.name"),
            ("evt-1user.name", ""),
        ] {
            assert!(matches!(
                dek.open(r, f, &sealed),
                Err(CryptoError::AssociatedDataMismatch { .. })
            ));
        }
    }

    #[test]
    fn flipped_tag_or_ciphertext_is_a_tag_mismatch() {
        let (dek, _) = keyring().new_batch().unwrap();
        let sealed = dek.seal("evt-1", "f", b"secret value").unwrap();
        for i in [sealed.len() - 1, MIN_SEALED_FIELD_LEN - TAG_LEN, 18, 29] {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                matches!(dek.open("evt-1", "f", &bad), Err(CryptoError::TagMismatch)),
                "byte {i}"
            );
        }
    }

    #[test]
    fn truncated_input_is_named() {
        let (dek, _) = keyring().new_batch().unwrap();
        let sealed = dek.seal("evt-1", "f", b"a longer value").unwrap();
        for cut in [
            10,
            MIN_SEALED_FIELD_LEN - 1,
            sealed.len() - 1,
            sealed.len() - 17,
        ] {
            assert!(
                matches!(
                    dek.open("evt-1", "f", &sealed[..cut]),
                    Err(CryptoError::Truncated { .. })
                ),
                "cut at {cut}"
            );
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(matches!(
            dek.open("evt-1", "f", &longer),
            Err(CryptoError::UnsupportedFormat(_))
        ));
        assert!(matches!(
            WrappedDek::from_bytes(&[1, b'K', 0]),
            Err(CryptoError::Truncated { .. })
        ));
    }

    #[test]
    fn wrong_keys_are_named() {
        let ring = keyring();
        let (dek, wrapped) = ring.new_batch().unwrap();
        let (other_dek, _) = ring.new_batch().unwrap();
        let sealed = dek.seal("r", "f", b"v").unwrap();
        assert!(matches!(
            other_dek.open("r", "f", &sealed),
            Err(CryptoError::WrongKey(_))
        ));

        let mut impostor = Keyring::new();
        impostor
            .insert("kek-2026", Keyring::generate_kek().unwrap())
            .unwrap();
        assert!(matches!(
            impostor.unwrap(&wrapped),
            Err(CryptoError::WrongKey(_))
        ));
        let empty = Keyring::new();
        assert!(matches!(
            empty.unwrap(&wrapped),
            Err(CryptoError::UnknownKek { .. })
        ));

        let mut bytes = wrapped.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x80;
        let tampered = WrappedDek::from_bytes(&bytes).unwrap();
        assert!(matches!(
            ring.unwrap(&tampered),
            Err(CryptoError::TagMismatch)
        ));
    }

    #[test]
    fn rewrap_moves_keys_without_touching_fields() {
        let mut ring = keyring();
        let (dek, wrapped) = ring.new_batch().unwrap();
        let sealed = dek.seal("r", "f", b"payload").unwrap();
        ring.insert("kek-2027", Keyring::generate_kek().unwrap())
            .unwrap();
        ring.set_primary("kek-2027").unwrap();
        let rewrapped = ring.rewrap(&wrapped, "kek-2027").unwrap();
        assert_eq!(rewrapped.kek_id, "kek-2027");
        assert_eq!(rewrapped.dek_id, wrapped.dek_id);
        // The old KEK can now be retired.
        let mut new_only = Keyring::new();
        let new_kek = ring.kek("kek-2027").unwrap().clone();
        new_only.insert("kek-2027", new_kek).unwrap();
        let dek2 = new_only.unwrap(&rewrapped).unwrap();
        assert_eq!(dek2.open("r", "f", &sealed).unwrap().expose(), b"payload");
        assert!(matches!(
            new_only.unwrap(&wrapped),
            Err(CryptoError::UnknownKek { .. })
        ));
    }

    #[test]
    fn kek_ids_and_text_keys_are_validated() {
        let mut ring = Keyring::new();
        assert!(ring.insert("", Keyring::generate_kek().unwrap()).is_err());
        assert!(
            ring.insert("a b", Keyring::generate_kek().unwrap())
                .is_err()
        );
        assert!(
            ring.insert(&"x".repeat(65), Keyring::generate_kek().unwrap())
                .is_err()
        );
        ring.insert_text("k1", &Secret::new("11".repeat(32)))
            .unwrap();
        assert_eq!(ring.primary_id(), Some("k1"));
        assert!(ring.set_primary("nope").is_err());
        assert!(format!("{ring:?}").contains("k1"));
        assert!(Keyring::new().new_batch().is_err());
    }

    #[test]
    fn debug_output_hides_keys() {
        let (dek, wrapped) = keyring().new_batch().unwrap();
        assert!(format!("{dek:?}").ends_with("***)"));
        assert!(format!("{wrapped:?}").starts_with("WrappedDek("));
    }

    proptest! {
        #[test]
        fn round_trip_any_value(record in ".{0,40}", field in "[a-z._]{0,20}", value in proptest::collection::vec(any::<u8>(), 0..300)) {
            let (dek, _) = keyring().new_batch().unwrap();
            let sealed = dek.seal(&record, &field, &value).unwrap();
            let opened = dek.open(&record, &field, &sealed).unwrap();
            prop_assert_eq!(opened.expose(), &value);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SealedField::parse(&bytes);
            let _ = WrappedDek::from_bytes(&bytes);
            let (dek, _) = keyring().new_batch().unwrap();
            prop_assert!(dek.open("r", "f", &bytes).is_err());
        }
    }
}
