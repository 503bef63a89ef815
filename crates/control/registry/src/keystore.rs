//! The local signing key and trust policy in the data directory, created on
//! first use so that training signs and run/eval verify with no setup.
//!
//! Layout:
//!
//! ```text
//! DATA_DIR/keys/signing-key.pem      PKCS#8 private key, mode 0600
//! DATA_DIR/keys/signing-key.pub.pem  its public key
//! DATA_DIR/trust.toml                trust policy; trusts the local key for `*`
//! ```

use std::path::{Path, PathBuf};

use rampart_crypto::ecdsa::{EcdsaSigningKey, EcdsaVerifyingKey};

use crate::error::{RegistryError, Result};
use crate::keys::{KeyId, load_public_key, load_signing_key};
use crate::trust::TrustPolicy;

/// Name under which the local key is trusted.
pub const LOCAL_KEY_NAME: &str = "local";

/// The local signing key and the trust policy of one data directory.
#[derive(Debug)]
pub struct KeyStore {
    data_dir: PathBuf,
    signing_key: EcdsaSigningKey,
    public_key: EcdsaVerifyingKey,
    key_id: KeyId,
    trust: TrustPolicy,
}

impl KeyStore {
    /// Path of the private key inside `data_dir`.
    pub fn signing_key_path(data_dir: &Path) -> PathBuf {
        data_dir.join("keys").join("signing-key.pem")
    }

    /// Path of the public key inside `data_dir`.
    pub fn public_key_path(data_dir: &Path) -> PathBuf {
        data_dir.join("keys").join("signing-key.pub.pem")
    }

    /// Opens the key store, creating the key pair and a trust policy that
    /// trusts it for every model when they do not exist yet.
    pub fn open_or_init(data_dir: &Path) -> Result<Self> {
        let keys_dir = data_dir.join("keys");
        create_private_dir(&keys_dir)?;
        let key_path = Self::signing_key_path(data_dir);
        let (signing_key, created) = if key_path.exists() {
            check_private_mode(&key_path)?;
            (load_signing_key(&key_path)?, false)
        } else {
            let key = EcdsaSigningKey::generate().map_err(|e| RegistryError::Key(e.to_string()))?;
            key.write_pem_file(&key_path)
                .map_err(|e| RegistryError::Key(e.to_string()))?;
            (key, true)
        };
        let public_key = signing_key.verifying_key();
        let key_id = KeyId::of(&public_key);

        let pub_path = Self::public_key_path(data_dir);
        if pub_path.exists() {
            let on_disk = load_public_key(&pub_path)?;
            if on_disk != public_key {
                return Err(RegistryError::Key(format!(
                    "`{}` does not belong to `{}`; delete the public key file to have it rewritten",
                    pub_path.display(),
                    key_path.display()
                )));
            }
        } else {
            public_key
                .write_pem_file(&pub_path)
                .map_err(|e| RegistryError::Key(e.to_string()))?;
        }

        let policy_path = TrustPolicy::path_in(data_dir);
        let policy_exists = policy_path.exists();
        let mut trust = if policy_exists {
            TrustPolicy::load(&policy_path)?
        } else {
            TrustPolicy::empty()
        };
        // A fresh key is trusted for everything; an existing one keeps whatever
        // the operator decided, including having been removed from the policy.
        if created || !policy_exists {
            trust.add_verifying_key(public_key.clone(), LOCAL_KEY_NAME, &["*"])?;
            trust.save(&policy_path)?;
        }
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            signing_key,
            public_key,
            key_id,
            trust,
        })
    }

    /// The local signing key.
    pub fn signing_key(&self) -> &EcdsaSigningKey {
        &self.signing_key
    }

    /// Its public key.
    pub fn public_key(&self) -> &EcdsaVerifyingKey {
        &self.public_key
    }

    /// Its key id.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The trust policy.
    pub fn trust(&self) -> &TrustPolicy {
        &self.trust
    }

    /// Trusts another key (see [`TrustPolicy::add_key`]) and saves the policy.
    pub fn trust_key(&mut self, pem: &str, name: &str, model_globs: &[&str]) -> Result<KeyId> {
        let mut updated = self.trust.clone();
        let id = updated.add_key(pem, name, model_globs)?;
        updated.save(&TrustPolicy::path_in(&self.data_dir))?;
        self.trust = updated;
        Ok(id)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| RegistryError::io(dir, e))
}

/// Refuses a private key that others can read, as ssh does.
fn check_private_mode(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| RegistryError::io(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(RegistryError::Key(format!(
                "`{}` is readable by other users (mode {:o}); run `chmod 600` on it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_open_creates_key_and_policy_second_open_reuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyStore::open_or_init(dir.path()).unwrap();
        assert!(KeyStore::signing_key_path(dir.path()).exists());
        assert_eq!(first.trust().keys().len(), 1);
        assert!(first.trust().keys()[0].covers("any-model"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(KeyStore::signing_key_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = KeyStore::open_or_init(dir.path()).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        assert_eq!(second.trust(), first.trust());
    }

    #[test]
    fn removing_local_trust_sticks() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open_or_init(dir.path()).unwrap();
        let mut policy = store.trust().clone();
        policy.remove_key(LOCAL_KEY_NAME).unwrap();
        policy.save(&TrustPolicy::path_in(dir.path())).unwrap();
        let reopened = KeyStore::open_or_init(dir.path()).unwrap();
        assert!(reopened.trust().keys().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_key_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        KeyStore::open_or_init(dir.path()).unwrap();
        let path = KeyStore::signing_key_path(dir.path());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyStore::open_or_init(dir.path()).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
