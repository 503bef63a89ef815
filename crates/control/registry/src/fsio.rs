//! Bounded reads of untrusted files and atomic writes of the files we produce.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{RegistryError, Result};

/// Cap on a signature bundle: a manifest of 100 000 files is about 20 MB.
pub const MAX_BUNDLE_BYTES: u64 = 32 * 1024 * 1024;
/// Cap on a provenance envelope.
pub const MAX_PROVENANCE_BYTES: u64 = 16 * 1024 * 1024;
/// Cap on a PEM key file.
pub const MAX_KEY_BYTES: u64 = 64 * 1024;
/// Cap on the trust policy file.
pub const MAX_TRUST_POLICY_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a whole file, refusing before reading when it is larger than `limit`.
///
/// The size is checked on the open handle and the read is bounded again, so a
/// file that grows between the check and the read still cannot exceed the cap.
pub(crate) fn read_capped(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>> {
    let file = fs::File::open(path).map_err(|e| RegistryError::io(path, e))?;
    let size = file
        .metadata()
        .map_err(|e| RegistryError::io(path, e))?
        .len();
    if size > limit {
        return Err(RegistryError::TooLarge {
            what,
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| RegistryError::io(path, e))?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > limit {
        return Err(RegistryError::TooLarge {
            what,
            path: path.to_path_buf(),
            size: read,
            limit,
        });
    }
    Ok(bytes)
}

/// Reads a capped file that must be UTF-8 text.
pub(crate) fn read_capped_text(path: &Path, limit: u64, what: &'static str) -> Result<String> {
    let bytes = read_capped(path, limit, what)?;
    String::from_utf8(bytes).map_err(|_| {
        RegistryError::malformed(what, format!("`{}` is not UTF-8 text", path.display()))
    })
}

/// Writes `bytes` to `path` through a temporary sibling and a rename, so a
/// reader never sees a half-written signature, policy or key.
///
/// `private` restricts the file to its owner (mode 0600) from the moment it is
/// created, which matters for private keys.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let file_name = path
        .file_name()
        .ok_or_else(|| RegistryError::Policy(format!("`{}` is not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = match dir {
        Some(d) => d.join(&tmp_name),
        None => Path::new(&tmp_name).to_path_buf(),
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    // A stale temporary from a crashed writer could carry a wider mode; start clean.
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(RegistryError::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_capped_refuses_large_files_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, vec![b'x'; 100]).unwrap();
        assert!(read_capped(&path, 100, "test").is_ok());
        let err = read_capped(&path, 99, "test").unwrap_err();
        assert!(
            matches!(err, RegistryError::TooLarge { size: 100, .. }),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn private_writes_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write_atomic(&path, b"secret", true).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"secret");
    }
}
