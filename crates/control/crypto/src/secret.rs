//! Secret values that never print and are wiped from memory when dropped.

use std::fmt;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroize;

use crate::CryptoError;

/// Largest key file or environment value accepted as key material (PEM keys are < 1 KiB).
pub const MAX_KEY_MATERIAL_BYTES: usize = 64 * 1024;

/// A secret value: `Debug` and `Display` print `***`, and the value is zeroized on drop.
///
/// The only way to read the value is [`Secret::expose`], which keeps every use of secret
/// material greppable.
///
/// ```
/// use rampart_crypto::Secret;
/// let s = Secret::new(String::from("hunter2"));
/// assert_eq!(format!("{s:?} {s}"), "*** ***");
/// assert_eq!(s.expose(), "hunter2");
/// ```
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps a value; from now on it is wiped when dropped.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret value. Keep the borrow short and never log it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Mutably borrows the secret value (for filling a buffer in place).
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl Secret<String> {
    /// Reads key material (for example a PEM file) into a secret string.
    ///
    /// Files larger than [`MAX_KEY_MATERIAL_BYTES`] are refused; the read buffer is wiped
    /// even if decoding fails.
    pub fn load_file(path: &Path) -> Result<Self, CryptoError> {
        let file = std::fs::File::open(path).map_err(|e| CryptoError::io(path, e))?;
        let mut bytes = Secret::new(Vec::new());
        let limit = u64::try_from(MAX_KEY_MATERIAL_BYTES).unwrap_or(u64::MAX);
        file.take(limit.saturating_add(1))
            .read_to_end(bytes.expose_mut())
            .map_err(|e| CryptoError::io(path, e))?;
        if bytes.expose().len() > MAX_KEY_MATERIAL_BYTES {
            return Err(CryptoError::KeyTooLarge {
                source_name: path.display().to_string(),
                limit: MAX_KEY_MATERIAL_BYTES,
            });
        }
        let taken = std::mem::take(bytes.expose_mut());
        match String::from_utf8(taken) {
            Ok(text) => Ok(Self::new(text)),
            Err(err) => {
                // Wipe the rejected bytes too.
                let _wiped = Secret::new(err.into_bytes());
                Err(CryptoError::InvalidKey(format!(
                    "`{}` is not UTF-8 text; expected a PEM file",
                    path.display()
                )))
            }
        }
    }

    /// Reads key material from the environment variable `name`.
    ///
    /// The process environment keeps its own copy, which this crate cannot wipe: prefer key
    /// files (mode 0600) in production and use variables for containers and tests.
    pub fn load_from_env(name: &str) -> Result<Self, CryptoError> {
        let value = std::env::var(name).map_err(|_| CryptoError::MissingEnv {
            name: name.to_owned(),
        })?;
        let value = Self::new(value);
        if value.expose().len() > MAX_KEY_MATERIAL_BYTES {
            return Err(CryptoError::KeyTooLarge {
                source_name: name.to_owned(),
                limit: MAX_KEY_MATERIAL_BYTES,
            });
        }
        Ok(value)
    }
}

/// Decodes standard base64 (padding optional) or hex key material into exactly `N` secret bytes.
///
/// Used for symmetric keys (KEKs, pseudonymisation master keys) given as text.
pub fn decode_key_bytes<const N: usize>(
    text: &Secret<String>,
) -> Result<Secret<[u8; N]>, CryptoError> {
    use base64::Engine as _;
    let trimmed = text.expose().trim();
    let decoded = if trimmed.len() == 2 * N && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(trimmed).ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
            .ok()
    };
    let decoded = Secret::new(decoded.ok_or_else(|| {
        CryptoError::InvalidKey(format!("key is neither {N}-byte hex nor base64"))
    })?);
    let mut out = Secret::new([0u8; N]);
    if decoded.expose().len() != N {
        return Err(CryptoError::InvalidKey(format!(
            "key decodes to {} bytes, expected {N}",
            decoded.expose().len()
        )));
    }
    out.expose_mut().copy_from_slice(decoded.expose());
    Ok(out)
}

/// Creates `path` (never overwriting) and writes `contents`; private key files get mode 0600.
pub(crate) fn write_new_file(
    path: &Path,
    contents: &[u8],
    private: bool,
) -> Result<(), CryptoError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CryptoError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            CryptoError::io(path, e)
        }
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| CryptoError::io(path, e))
}

/// Finds the first PEM block whose label is in `labels` and returns `(label, block text)`.
///
/// Files written by `openssl ecparam -genkey` start with an `EC PARAMETERS` block before the key,
/// so the first block is not necessarily the key.
pub(crate) fn find_pem_block<'a>(text: &'a str, labels: &[&'a str]) -> Option<(&'a str, &'a str)> {
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = rest.get(start..)?;
        let label_end = block.get(11..)?.find("-----")? + 11;
        let label = block.get(11..label_end)?;
        let end_marker = format!("-----END {label}-----");
        let end = block.find(&end_marker)? + end_marker.len();
        if let Some(found) = labels.iter().find(|l| **l == label) {
            return Some((found, block.get(..end)?));
        }
        rest = block.get(end..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new(vec![1u8, 2, 3]);
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:#?}", Some(&s)), "Some(\n    ***,\n)");
    }

    #[test]
    fn load_file_reads_and_caps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pem");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(Secret::load_file(&p).unwrap().expose(), "abc");
        std::fs::write(&p, vec![b'a'; MAX_KEY_MATERIAL_BYTES + 1]).unwrap();
        assert!(matches!(
            Secret::load_file(&p),
            Err(CryptoError::KeyTooLarge { .. })
        ));
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            Secret::load_file(&p),
            Err(CryptoError::InvalidKey(_))
        ));
    }

    #[test]
    fn missing_env_is_a_clear_error() {
        let err = Secret::load_from_env("RAMPART_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(
            err.to_string()
                .contains("RAMPART_TEST_SURELY_UNSET_VARIABLE")
        );
    }

    #[test]
    fn decode_key_bytes_accepts_hex_and_base64() {
        let hex_key = Secret::new("00".repeat(32));
        assert_eq!(
            decode_key_bytes::<32>(&hex_key).unwrap().expose(),
            &[0u8; 32]
        );
        let b64 = Secret::new("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned());
        assert_eq!(decode_key_bytes::<32>(&b64).unwrap().expose(), &[0u8; 32]);
        let short = Secret::new("AAAA".to_owned());
        assert!(decode_key_bytes::<32>(&short).is_err());
        let err = decode_key_bytes::<32>(&Secret::new("not a key!".to_owned())).unwrap_err();
        assert!(
            !err.to_string().contains("not a key"),
            "must not echo key material"
        );
    }
}
