//! The trust policy: which public keys may sign which models.
//!
//! Persisted as `trust.toml` in the data directory. Each entry holds the full
//! PEM public key (not just its id), so verification never depends on another
//! file, and a list of model-name globs the key is trusted for. The stored key
//! id is re-derived on load; an entry whose id and key disagree is refused
//! rather than silently fixed, because it means someone edited the file by hand.

use std::path::{Path, PathBuf};

use rampart_crypto::ecdsa::EcdsaVerifyingKey;
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::fsio::{MAX_TRUST_POLICY_BYTES, read_capped_text, write_atomic};
use crate::glob::ModelGlob;
use crate::keys::{KeyId, public_key_from_pem};

/// File name of the trust policy inside the data directory.
pub const TRUST_POLICY_FILE: &str = "trust.toml";

/// Current format version of `trust.toml`.
pub const TRUST_POLICY_VERSION: u32 = 1;

/// Cap on trusted keys.
pub const MAX_TRUSTED_KEYS: usize = 1024;

/// Cap on globs per key.
pub const MAX_GLOBS_PER_KEY: usize = 256;

/// A public key the policy trusts, and for which models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    name: String,
    key_id: KeyId,
    models: Vec<ModelGlob>,
    key: EcdsaVerifyingKey,
}

impl TrustedKey {
    /// Human name given at `trust add`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (OMS `publicKey.hint`).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// Model-name globs this key may sign.
    pub fn models(&self) -> &[ModelGlob] {
        &self.models
    }

    /// The public key.
    pub fn public_key(&self) -> &EcdsaVerifyingKey {
        &self.key
    }

    /// Whether this key may sign the model called `model`.
    pub fn covers(&self, model: &str) -> bool {
        self.models.iter().any(|g| g.matches(model))
    }
}

/// The set of trusted keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    keys: Vec<TrustedKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    key_id: String,
    models: Vec<ModelGlob>,
    public_key: String,
}

impl TrustPolicy {
    /// A policy that trusts nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A policy trusting one key for the given globs (handy for one-off checks
    /// such as `rampart model verify --public-key`).
    pub fn single(key: EcdsaVerifyingKey, name: &str, globs: &[&str]) -> Result<Self> {
        let mut policy = Self::empty();
        policy.add_verifying_key(key, name, globs)?;
        Ok(policy)
    }

    /// Path of the policy file inside `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(TRUST_POLICY_FILE)
    }

    /// Parses policy text (TOML), validating every entry.
    pub fn from_toml(text: &str) -> Result<Self> {
        let file: PolicyFile = toml::from_str(text)
            .map_err(|e| RegistryError::malformed("trust policy", e.to_string()))?;
        if file.version != TRUST_POLICY_VERSION {
            return Err(RegistryError::Unsupported {
                what: "trust policy version",
                value: file.version.to_string(),
                hint: "this build reads version 1",
            });
        }
        if file.keys.len() > MAX_TRUSTED_KEYS {
            return Err(RegistryError::malformed(
                "trust policy",
                format!("more than {MAX_TRUSTED_KEYS} keys"),
            ));
        }
        let mut policy = Self::empty();
        for entry in file.keys {
            let key = public_key_from_pem(&entry.public_key)?;
            let key_id = KeyId::of(&key);
            if key_id.as_str() != entry.key_id {
                return Err(RegistryError::malformed(
                    "trust policy",
                    format!(
                        "entry `{}` says key id `{}` but its public key has id `{key_id}`; \
                         remove the entry and add the key again with `rampart trust add`",
                        entry.name, entry.key_id
                    ),
                ));
            }
            let globs: Vec<&str> = entry.models.iter().map(ModelGlob::as_str).collect();
            policy.add_verifying_key(key, &entry.name, &globs)?;
        }
        Ok(policy)
    }

    /// Renders the policy as TOML.
    pub fn to_toml(&self) -> Result<String> {
        let file = PolicyFile {
            version: TRUST_POLICY_VERSION,
            keys: self
                .keys
                .iter()
                .map(|k| KeyEntry {
                    name: k.name.clone(),
                    key_id: k.key_id.as_str().to_owned(),
                    models: k.models.clone(),
                    public_key: k.key.public_key_pem().to_owned(),
                })
                .collect(),
        };
        let body = toml::to_string(&file)
            .map_err(|e| RegistryError::Policy(format!("cannot render trust policy: {e}")))?;
        Ok(format!(
            "# Keys trusted to sign models. Edit with `rampart trust add` / `rampart trust list`.\n{body}"
        ))
    }

    /// Reads a policy file (capped at 4 MiB).
    pub fn load(path: &Path) -> Result<Self> {
        let text = read_capped_text(path, MAX_TRUST_POLICY_BYTES, "trust policy")?;
        Self::from_toml(&text).map_err(|e| match e {
            RegistryError::Malformed { what, reason } => RegistryError::Malformed {
                what,
                reason: format!("`{}`: {reason}", path.display()),
            },
            other => other,
        })
    }

    /// Reads the policy in `data_dir`, or an empty policy when there is none yet.
    pub fn load_or_empty(data_dir: &Path) -> Result<Self> {
        let path = Self::path_in(data_dir);
        if path.exists() {
            Self::load(&path)
        } else {
            Ok(Self::empty())
        }
    }

    /// Writes the policy atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| RegistryError::io(parent, e))?;
        }
        write_atomic(path, self.to_toml()?.as_bytes(), false)
    }

    /// Trusts the PEM public key `pem` under `name` for models matching any of
    /// `model_globs` (`*` when empty). Adding a key that is already trusted
    /// merges the globs; reusing a name for a different key is refused.
    pub fn add_key(&mut self, pem: &str, name: &str, model_globs: &[&str]) -> Result<KeyId> {
        let key = public_key_from_pem(pem)?;
        self.add_verifying_key(key, name, model_globs)
    }

    /// Like [`Self::add_key`] with an already parsed key.
    pub fn add_verifying_key(
        &mut self,
        key: EcdsaVerifyingKey,
        name: &str,
        model_globs: &[&str],
    ) -> Result<KeyId> {
        let name = name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(RegistryError::Policy(format!(
                "key name `{}` must have 1 to 128 printable characters",
                name.escape_debug()
            )));
        }
        let globs = if model_globs.is_empty() {
            vec![ModelGlob::new("*")?]
        } else {
            model_globs
                .iter()
                .map(|g| ModelGlob::new(g))
                .collect::<Result<Vec<_>>>()?
        };
        let key_id = KeyId::of(&key);
        if let Some(clash) = self
            .keys
            .iter()
            .find(|k| k.name == name && k.key_id != key_id)
        {
            return Err(RegistryError::Policy(format!(
                "name `{name}` already belongs to key `{}`; choose another name",
                clash.key_id.short()
            )));
        }
        if let Some(existing) = self.keys.iter_mut().find(|k| k.key_id == key_id) {
            for glob in globs {
                if !existing.models.contains(&glob) {
                    existing.models.push(glob);
                }
            }
            if existing.models.len() > MAX_GLOBS_PER_KEY {
                return Err(RegistryError::Policy(format!(
                    "key `{name}` would have more than {MAX_GLOBS_PER_KEY} model globs"
                )));
            }
            name.clone_into(&mut existing.name);
            return Ok(key_id);
        }
        if self.keys.len() >= MAX_TRUSTED_KEYS || globs.len() > MAX_GLOBS_PER_KEY {
            return Err(RegistryError::Policy(format!(
                "at most {MAX_TRUSTED_KEYS} keys with {MAX_GLOBS_PER_KEY} globs each"
            )));
        }
        self.keys.push(TrustedKey {
            name: name.to_owned(),
            key_id: key_id.clone(),
            models: globs,
            key,
        });
        Ok(key_id)
    }

    /// Stops trusting the key with this name or key id (full or 16-digit prefix).
    pub fn remove_key(&mut self, name_or_id: &str) -> Result<TrustedKey> {
        let position = self
            .keys
            .iter()
            .position(|k| {
                k.name == name_or_id
                    || k.key_id.as_str() == name_or_id
                    || (name_or_id.len() >= 16 && k.key_id.as_str().starts_with(name_or_id))
            })
            .ok_or_else(|| {
                RegistryError::Policy(format!("no trusted key is called `{name_or_id}`"))
            })?;
        Ok(self.keys.remove(position))
    }

    /// Every trusted key.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The key with this id, whatever models it covers.
    pub fn find(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key_id.as_str() == key_id)
    }

    /// Keys allowed to sign the model called `model`.
    pub fn keys_for_model<'a>(&'a self, model: &'a str) -> impl Iterator<Item = &'a TrustedKey> {
        self.keys.iter().filter(move |k| k.covers(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_crypto::ecdsa::EcdsaSigningKey;

    fn pem() -> String {
        EcdsaSigningKey::generate()
            .unwrap()
            .verifying_key()
            .public_key_pem()
            .to_owned()
    }

    #[test]
    fn add_save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut policy = TrustPolicy::empty();
        let a = policy.add_key(&pem(), "team-a", &["scorer-*"]).unwrap();
        let b = policy.add_key(&pem(), "team-b", &[]).unwrap();
        let path = TrustPolicy::path_in(dir.path());
        policy.save(&path).unwrap();
        let loaded = TrustPolicy::load(&path).unwrap();
        assert_eq!(loaded, policy);
        let for_scorer: Vec<_> = loaded
            .keys_for_model("scorer-v1")
            .map(TrustedKey::key_id)
            .collect();
        assert_eq!(for_scorer, [&a, &b]);
        let for_other: Vec<_> = loaded
            .keys_for_model("other")
            .map(TrustedKey::key_id)
            .collect();
        assert_eq!(for_other, [&b]);
    }

    #[test]
    fn same_key_merges_globs_and_name_clash_is_refused() {
        let key = pem();
        let mut policy = TrustPolicy::empty();
        policy.add_key(&key, "k", &["a"]).unwrap();
        policy.add_key(&key, "k", &["b", "a"]).unwrap();
        assert_eq!(policy.keys().len(), 1);
        let globs: Vec<_> = policy.keys()[0]
            .models()
            .iter()
            .map(ModelGlob::as_str)
            .collect();
        assert_eq!(globs, ["a", "b"]);
        assert!(policy.add_key(&pem(), "k", &[]).is_err());
        policy.remove_key("k").unwrap();
        assert!(policy.keys().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn policy_parser_never_panics(text in "\\PC{0,400}") {
            let _ = TrustPolicy::from_toml(&text);
        }
    }

    #[test]
    fn edited_key_id_and_unknown_fields_are_refused() {
        let mut policy = TrustPolicy::empty();
        policy.add_key(&pem(), "k", &[]).unwrap();
        let text = policy.to_toml().unwrap();
        let id = policy.keys()[0].key_id().as_str().to_owned();
        let edited = text.replace(&id, &"0".repeat(64));
        assert!(TrustPolicy::from_toml(&edited).is_err());
        let extra = format!("{text}\nsurprise = 1\n");
        assert!(TrustPolicy::from_toml(&extra).is_err());
        assert!(TrustPolicy::from_toml("version = 2").is_err());
        assert!(TrustPolicy::from_toml("not toml [").is_err());
        assert!(policy.add_key("garbage", "x", &[]).is_err());
    }
}
