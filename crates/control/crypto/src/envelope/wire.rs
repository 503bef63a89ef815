//! Byte layouts of wrapped data keys and sealed fields (documented in the parent module).

use std::fmt;

use super::{
    CHECK_LEN, DEK_ID_LEN, DekId, ENVELOPE_VERSION, FORM_FIELD, FORM_WRAPPED_DEK,
    MIN_SEALED_FIELD_LEN, NONCE_LEN, TAG_LEN, check_kek_id,
};
use crate::CryptoError;

pub(super) fn len_prefix(s: &str) -> Result<[u8; 4], CryptoError> {
    u32::try_from(s.len()).map(u32::to_be_bytes).map_err(|_| {
        CryptoError::InvalidArgument("record id or field name longer than 4 GiB".to_owned())
    })
}

pub(super) fn field_aad(
    header: &[u8],
    record_id: &str,
    field: &str,
) -> Result<Vec<u8>, CryptoError> {
    let mut aad = Vec::with_capacity(header.len() + 8 + record_id.len() + field.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(&len_prefix(record_id)?);
    aad.extend_from_slice(record_id.as_bytes());
    aad.extend_from_slice(&len_prefix(field)?);
    aad.extend_from_slice(field.as_bytes());
    Ok(aad)
}

/// The parsed header of a sealed field (no decryption).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedField<'a> {
    /// The data key that opens this field; look its wrapped form up by this id.
    pub dek_id: DekId,
    pub(super) nonce: [u8; NONCE_LEN],
    pub(super) binding_check: [u8; CHECK_LEN],
    pub(super) ciphertext: &'a [u8],
}

impl<'a> SealedField<'a> {
    /// Parses the header of a sealed field (untrusted bytes; never panics).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CryptoError> {
        if bytes.len() < MIN_SEALED_FIELD_LEN {
            return Err(CryptoError::Truncated {
                needed: MIN_SEALED_FIELD_LEN,
                got: bytes.len(),
            });
        }
        let mut r = ByteReader(bytes);
        let version = r.u8()?;
        let form = r.u8()?;
        if version != ENVELOPE_VERSION || form != FORM_FIELD {
            return Err(CryptoError::UnsupportedFormat(format!(
                "sealed field version `{version}` form `0x{form:02x}`; expected version {ENVELOPE_VERSION} form `F`"
            )));
        }
        let dek_id = DekId(r.array()?);
        let nonce = r.array()?;
        let value_len = usize::try_from(u32::from_be_bytes(r.array()?)).unwrap_or(usize::MAX);
        let binding_check = r.array()?;
        let needed = value_len.saturating_add(TAG_LEN);
        if r.0.len() < needed {
            return Err(CryptoError::Truncated {
                needed: bytes.len() - r.0.len() + needed,
                got: bytes.len(),
            });
        }
        if r.0.len() > needed {
            return Err(CryptoError::UnsupportedFormat(format!(
                "{} trailing bytes after the sealed value",
                r.0.len() - needed
            )));
        }
        Ok(Self {
            dek_id,
            nonce,
            binding_check,
            ciphertext: r.0,
        })
    }
}

/// A data key encrypted under a KEK; safe to store next to the data.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedDek {
    /// The data key's id (fields name it).
    pub dek_id: DekId,
    /// The KEK that wrapped it.
    pub kek_id: String,
    pub(super) kek_check: [u8; CHECK_LEN],
    pub(super) nonce: [u8; NONCE_LEN],
    pub(super) ciphertext: [u8; 48],
}

impl fmt::Debug for WrappedDek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedDek({} under `{}`)", self.dek_id, self.kek_id)
    }
}

impl WrappedDek {
    fn header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(27 + self.kek_id.len());
        h.push(ENVELOPE_VERSION);
        h.push(FORM_WRAPPED_DEK);
        h.extend_from_slice(&self.dek_id.0);
        // INVARIANT: kek ids are checked to be 1..=64 bytes when inserted into a keyring and
        // when parsed, so the length fits in one byte.
        h.push(u8::try_from(self.kek_id.len()).unwrap_or(u8::MAX));
        h.extend_from_slice(self.kek_id.as_bytes());
        h.extend_from_slice(&self.kek_check);
        h
    }

    pub(super) fn associated_data(&self) -> Vec<u8> {
        self.header()
    }

    /// The serialized form (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header();
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses the serialized form (untrusted bytes; never panics).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let min = 2 + DEK_ID_LEN + 1 + 1 + CHECK_LEN + NONCE_LEN + 48;
        if bytes.len() < min {
            return Err(CryptoError::Truncated {
                needed: min,
                got: bytes.len(),
            });
        }
        let mut r = ByteReader(bytes);
        let version = r.u8()?;
        let form = r.u8()?;
        if version != ENVELOPE_VERSION || form != FORM_WRAPPED_DEK {
            return Err(CryptoError::UnsupportedFormat(format!(
                "wrapped key version `{version}` form `0x{form:02x}`; expected version {ENVELOPE_VERSION} form `K`"
            )));
        }
        let dek_id = DekId(r.array()?);
        let id_len = usize::from(r.u8()?);
        let kek_id = std::str::from_utf8(r.take(id_len)?)
            .map_err(|_| {
                CryptoError::UnsupportedFormat("key-encryption key id is not UTF-8".to_owned())
            })?
            .to_owned();
        check_kek_id(&kek_id)?;
        let w = Self {
            dek_id,
            kek_id,
            kek_check: r.array()?,
            nonce: r.array()?,
            ciphertext: r.array()?,
        };
        if !r.0.is_empty() {
            return Err(CryptoError::UnsupportedFormat(format!(
                "{} trailing bytes after the wrapped key",
                r.0.len()
            )));
        }
        Ok(w)
    }
}

/// A cursor over untrusted bytes whose reads fail with `Truncated` instead of panicking.
struct ByteReader<'a>(&'a [u8]);

impl<'a> ByteReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CryptoError> {
        if self.0.len() < n {
            return Err(CryptoError::Truncated {
                needed: n,
                got: self.0.len(),
            });
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, CryptoError> {
        self.take(1)?
            .first()
            .copied()
            .ok_or(CryptoError::Truncated { needed: 1, got: 0 })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CryptoError> {
        let s = self.take(N)?;
        s.try_into().map_err(|_| CryptoError::Truncated {
            needed: N,
            got: s.len(),
        })
    }
}
