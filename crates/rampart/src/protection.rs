//! Encryption at rest of sensitive event fields: the store's [`FieldProtector`] and its keys.
//!
//! Detection runs on plaintext in memory; only what reaches disk is protected. For every
//! sensitive field present in an event (`[protection].sensitive_fields`: typed ECS paths such
//! as `user.name`, or attribute paths such as `winlog.event_data.CommandLine`), the protector
//!
//! 1. seals the plaintext with AES-256-GCM under the current data key (DEK), the associated
//!    data binding it to the event id and the field path, and stores the sealed bytes, base64,
//!    under the attribute `rampart.sealed.<path>`;
//! 2. replaces the field's value with a keyed pseudonym (`ps:` and 32 hex digits of
//!    HMAC-SHA256 under the tenant's key), so that joins and equality searches on the stored
//!    value still work: the same user name always gets the same pseudonym within a tenant.
//!    User-name fields share one pseudonym domain (`user`) and command-line fields another
//!    (`command_line`), so `user.name` joins `winlog.event_data.TargetUserName`.
//!
//! The raw original is sealed as `rampart.sealed.raw` and stored as an empty string. Dead
//! letters have no attributes: their raw bytes are sealed and stored as
//! `rampart.sealed:v1:<base64>` in place. Event and dead-letter ids never change.
//! [`FieldProtector::reveal_event`] reverses all of it exactly.
//!
//! # Keys (`DATA_DIR/keys/`, directory mode 0700, files mode 0600)
//!
//! - `kek-<id>.key`: a key-encryption key (KEK), 64 hex digits; `kek.primary` names the one
//!   new data keys are wrapped with. Created on first use.
//! - `pseudonym.key`: the pseudonymisation master key, 64 hex digits; tenant keys derive from
//!   it with HKDF.
//! - `deks/<dek id>.dek`: one wrapped DEK per file (the crypto crate's version-1 form). A new
//!   DEK is made every [`DEK_EVENTS`] protected records and written (and synced) before it
//!   seals anything, so no ciphertext ever exists whose key is not on disk.
//!
//! Main design decision: field ciphertexts name their DEK, not the KEK, so `rampart keys
//! rotate` rewraps the small DEK files under a new KEK and never rewrites the store. Any
//! failure to unwrap or open (missing or wrong KEK, tampered data) fails closed: the read
//! returns an error naming the key, never a pseudonym in place of the plaintext.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rampart_core::{DeadLetter, Event};
use rampart_crypto::Secret;
use rampart_crypto::envelope::{DataKey, DekId, Keyring, SealedField, WrappedDek};
use rampart_crypto::pseudonym::Pseudonymizer;
use rampart_store::{FieldProtector, StoreError};
use serde::{Deserialize, Serialize};

/// Records sealed under one data key before a new one is made (about one store batch).
pub const DEK_EVENTS: u64 = 4096;
/// Prefix of the attributes that hold sealed fields.
pub const SEALED_PREFIX: &str = "rampart.sealed.";
/// The pseudo-path of the raw original.
const RAW_PATH: &str = "raw";
/// Marks a dead letter's sealed raw bytes.
const DEAD_LETTER_MARKER: &str = "rampart.sealed:v1:";
/// Unwrapped data keys kept in memory; the cache is emptied when it grows past this.
const DEK_CACHE_CAP: usize = 1024;
/// Largest key or wrapped-key file read (they are tens of bytes).
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// `[protection]`: encryption at rest of sensitive fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtectionConfig {
    /// Seal sensitive fields and the raw original before they are stored. Default true.
    pub enabled: bool,
    /// Dotted paths of the fields to seal and pseudonymise: typed ECS paths (`user.name`,
    /// `process.command_line`, `process.parent.command_line`) or attribute paths. Default: those
    /// three plus the Windows event-data fields carrying the same data.
    pub sensitive_fields: Vec<String>,
    /// Tenant whose pseudonymisation key is used. Default `default`.
    pub tenant: String,
}

impl Default for ProtectionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            sensitive_fields: [
                "user.name",
                "process.command_line",
                "process.parent.command_line",
                "winlog.event_data.CommandLine",
                "winlog.event_data.ParentCommandLine",
                "winlog.event_data.User",
                "winlog.event_data.TargetUserName",
                "winlog.event_data.SubjectUserName",
            ]
            .map(str::to_owned)
            .to_vec(),
            tenant: "default".to_owned(),
        }
    }
}

impl ProtectionConfig {
    /// Checks the section; called when the configuration is loaded.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.tenant.is_empty(),
            "`protection.tenant` must not be empty"
        );
        for path in &self.sensitive_fields {
            anyhow::ensure!(
                !path.is_empty() && path != RAW_PATH && !path.starts_with("rampart."),
                "`protection.sensitive_fields` entry `{path}` is reserved or empty; the raw original is always sealed"
            );
        }
        Ok(())
    }
}

/// The key files of one data dir.
#[derive(Debug, Clone)]
pub struct KeyDir {
    root: PathBuf,
}

impl KeyDir {
    /// The key folder of `data_dir` (not created until needed).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("keys"),
        }
    }

    /// The folder of wrapped data keys.
    pub fn deks_dir(&self) -> PathBuf {
        self.root.join("deks")
    }

    /// The file of KEK `id`.
    pub fn kek_path(&self, id: &str) -> PathBuf {
        self.root.join(format!("kek-{id}.key"))
    }

    fn primary_path(&self) -> PathBuf {
        self.root.join("kek.primary")
    }

    fn pseudonym_path(&self) -> PathBuf {
        self.root.join("pseudonym.key")
    }

    fn dek_path(&self, id: DekId) -> PathBuf {
        self.deks_dir().join(format!("{id}.dek"))
    }

    /// Creates the folders (mode 0700), a first KEK and the pseudonym key when missing.
    pub fn ensure(&self) -> anyhow::Result<()> {
        for dir in [&self.root, &self.deks_dir()] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            restrict_dir(dir)?;
        }
        // Another process may be creating the keys at the same moment: each file is created
        // only if absent, so exactly one primary and one pseudonym key win.
        if !self.primary_path().exists() {
            let id = new_kek_id()?;
            self.write_kek(&id, &Keyring::generate_kek()?)?;
            if create_new(&self.primary_path(), id.as_bytes())? {
                tracing::info!(kek = %id, "created the key-encryption key");
            } else {
                std::fs::remove_file(self.kek_path(&id))
                    .with_context(|| format!("cannot delete `{}`", self.kek_path(&id).display()))?;
            }
        }
        if !self.pseudonym_path().exists() {
            let key = Keyring::generate_kek()?;
            let text = Secret::new(hex::encode(key.expose()));
            create_new(&self.pseudonym_path(), text.expose().as_bytes())?;
        }
        Ok(())
    }

    /// Writes KEK `id` (mode 0600).
    pub fn write_kek(&self, id: &str, kek: &Secret<[u8; 32]>) -> anyhow::Result<()> {
        write_secret_file(&self.kek_path(id), kek)
    }

    /// Makes `id` the primary KEK.
    pub fn set_primary(&self, id: &str) -> anyhow::Result<()> {
        write_atomic(&self.primary_path(), id.as_bytes())
    }

    /// Ids of the KEK files present, sorted.
    pub fn kek_ids(&self) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::new();
        let entries = std::fs::read_dir(&self.root)
            .with_context(|| format!("cannot list `{}`", self.root.display()))?;
        for entry in entries {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name
                .strip_prefix("kek-")
                .and_then(|rest| rest.strip_suffix(".key"))
            {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Loads every KEK file into a keyring whose primary is `kek.primary`.
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        let mut ring = Keyring::new();
        for id in self.kek_ids()? {
            let path = self.kek_path(&id);
            let text = Secret::<String>::load_file(&path)
                .with_context(|| format!("cannot read key-encryption key `{}`", path.display()))?;
            let trimmed = Secret::new(text.expose().trim().to_owned());
            ring.insert_text(&id, &trimmed)
                .with_context(|| format!("invalid key-encryption key `{}`", path.display()))?;
        }
        let primary = std::fs::read_to_string(self.primary_path())
            .with_context(|| format!("cannot read `{}`", self.primary_path().display()))?;
        ring.set_primary(primary.trim()).with_context(|| {
            format!(
                "the primary key-encryption key `{}` is missing from `{}`; restore it from a backup",
                primary.trim(),
                self.root.display()
            )
        })?;
        Ok(ring)
    }

    fn pseudonym_key(&self) -> anyhow::Result<Secret<[u8; 32]>> {
        let path = self.pseudonym_path();
        let text = Secret::<String>::load_file(&path)
            .with_context(|| format!("cannot read the pseudonym key `{}`", path.display()))?;
        let trimmed = Secret::new(text.expose().trim().to_owned());
        rampart_crypto::secret::decode_key_bytes::<32>(&trimmed)
            .with_context(|| format!("invalid pseudonym key `{}`", path.display()))
    }

    /// Every stored wrapped data key.
    pub fn wrapped_deks(&self) -> anyhow::Result<Vec<WrappedDek>> {
        let dir = self.deks_dir();
        let mut out = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list `{}`", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "dek") {
                out.push(read_wrapped(&path)?);
            }
        }
        Ok(out)
    }

    /// Stores a wrapped data key (atomically, synced).
    pub fn write_dek(&self, wrapped: &WrappedDek) -> anyhow::Result<()> {
        write_atomic(&self.dek_path(wrapped.dek_id), &wrapped.to_bytes())
    }

    fn read_dek(&self, id: DekId) -> anyhow::Result<WrappedDek> {
        read_wrapped(&self.dek_path(id))
    }
}

fn read_wrapped(path: &Path) -> anyhow::Result<WrappedDek> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE_BYTES).read_to_end(&mut bytes))
        .with_context(|| format!("cannot read wrapped data key `{}`", path.display()))?;
    WrappedDek::from_bytes(&bytes)
        .with_context(|| format!("wrapped data key `{}` is damaged", path.display()))
}

/// A fresh KEK id: `k` and 16 random hex digits.
pub fn new_kek_id() -> anyhow::Result<String> {
    let bytes = Keyring::generate_kek()?;
    Ok(format!(
        "k{}",
        hex::encode(bytes.expose().get(..8).unwrap_or_default())
    ))
}

fn write_secret_file(path: &Path, key: &Secret<[u8; 32]>) -> anyhow::Result<()> {
    let text = Secret::new(hex::encode(key.expose()));
    write_atomic(path, text.expose().as_bytes())
}

/// Writes `path` complete and synced only if it does not exist yet; false if it did.
fn create_new(path: &Path, bytes: &[u8]) -> anyhow::Result<bool> {
    let tmp = write_temporary(path, bytes)?;
    // A hard link fails if the target exists, so readers never see a partial file and a
    // concurrent creator never overwrites the winner.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot write `{}`", path.display())),
    }
}

/// Writes via a temporary file (mode 0600), syncs, then renames over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = write_temporary(path, bytes)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` unique to this process, mode 0600.
fn write_temporary(path: &Path, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("cannot write `{}`", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", tmp.display()))?;
    Ok(tmp)
}

fn restrict_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict `{}` to its owner", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The data key in use for sealing and how many records it has sealed.
struct CurrentDek {
    key: Arc<DataKey>,
    uses: u64,
}

/// Seals sensitive fields on the way to disk and opens them on the way back.
pub struct EventProtector {
    keys: KeyDir,
    keyring: Keyring,
    pseudonyms: Pseudonymizer,
    fields: Vec<String>,
    current: Mutex<Option<CurrentDek>>,
    cache: Mutex<HashMap<DekId, Arc<DataKey>>>,
}

impl fmt::Debug for EventProtector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventProtector")
            .field("keys", &self.keys.root)
            .field("keyring", &self.keyring)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

fn protection_error(context: &str, error: impl fmt::Display) -> StoreError {
    StoreError::Protection(format!("{context}: {error}"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl EventProtector {
    /// Opens (creating on first use) the keys of `data_dir`.
    pub fn open(data_dir: &Path, config: &ProtectionConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let keys = KeyDir::new(data_dir);
        keys.ensure()?;
        let keyring = keys.keyring()?;
        let pseudonyms = Pseudonymizer::for_tenant(&keys.pseudonym_key()?, &config.tenant)?;
        Ok(Self {
            keys,
            keyring,
            pseudonyms,
            fields: config.sensitive_fields.clone(),
            current: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The pseudonym stored in place of `value` of field `path`.
    pub fn pseudonym(&self, path: &str, value: &[u8]) -> String {
        format!("ps:{}", self.pseudonyms.token(pseudonym_kind(path), value))
    }

    /// The data key for the next record, making (and storing) a new one every
    /// [`DEK_EVENTS`] records.
    fn sealing_key(&self) -> Result<Arc<DataKey>, StoreError> {
        let mut current = lock(&self.current);
        if let Some(c) = current.as_mut().filter(|c| c.uses < DEK_EVENTS) {
            c.uses += 1;
            return Ok(Arc::clone(&c.key));
        }
        let (dek, wrapped) = self
            .keyring
            .new_batch()
            .map_err(|e| protection_error("cannot make a data key", e))?;
        self.keys
            .write_dek(&wrapped)
            .map_err(|e| protection_error("cannot store a data key", format!("{e:#}")))?;
        let key = Arc::new(dek);
        *current = Some(CurrentDek {
            key: Arc::clone(&key),
            uses: 1,
        });
        Ok(key)
    }

    /// The data key `id`, unwrapped from its file (cached).
    fn opening_key(&self, id: DekId) -> Result<Arc<DataKey>, StoreError> {
        if let Some(key) = lock(&self.cache).get(&id) {
            return Ok(Arc::clone(key));
        }
        let wrapped = self
            .keys
            .read_dek(id)
            .map_err(|e| protection_error("cannot load a data key", format!("{e:#}")))?;
        let key = Arc::new(self.keyring.unwrap(&wrapped).map_err(|e| {
            protection_error(
                &format!("cannot unwrap data key `{id}`"),
                format!(
                    "{e}; the keys in `{}` do not match this store, restore them from a backup",
                    self.keys.root.display()
                ),
            )
        })?);
        let mut cache = lock(&self.cache);
        if cache.len() >= DEK_CACHE_CAP {
            cache.clear();
        }
        cache.insert(id, Arc::clone(&key));
        Ok(key)
    }

    fn open_sealed(
        &self,
        record: &str,
        path: &str,
        text: &str,
    ) -> Result<Secret<Vec<u8>>, StoreError> {
        let what = format!("cannot open sealed `{path}` of record `{record}`");
        let bytes = BASE64
            .decode(text)
            .map_err(|e| protection_error(&what, e))?;
        let dek_id = SealedField::parse(&bytes)
            .map_err(|e| protection_error(&what, e))?
            .dek_id;
        self.opening_key(dek_id)?
            .open(record, path, &bytes)
            .map_err(|e| protection_error(&what, e))
    }
}

/// Seals `value` as field `path` of `record`, base64 for a JSON string.
fn seal(dek: &DataKey, record: &str, path: &str, value: &[u8]) -> Result<String, StoreError> {
    dek.seal(record, path, value)
        .map(|sealed| BASE64.encode(sealed))
        .map_err(|e| protection_error(&format!("cannot seal `{path}`"), e))
}

/// Pseudonym domain of a field: user names share one, command lines another.
fn pseudonym_kind(path: &str) -> &str {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    if path == "user.name" || matches!(leaf, "User" | "TargetUserName" | "SubjectUserName") {
        "user"
    } else if matches!(leaf, "command_line" | "CommandLine" | "ParentCommandLine") {
        "command_line"
    } else {
        path
    }
}

/// The typed ECS slot of `path`, if it is one the protector knows.
fn typed_slot<'a>(event: &'a mut Event, path: &str) -> Option<&'a mut Option<String>> {
    match path {
        "user.name" => Some(&mut event.ecs.user.name),
        "process.command_line" => Some(&mut event.ecs.process.command_line),
        "process.parent.command_line" => Some(&mut event.ecs.process.parent.command_line),
        _ => None,
    }
}

fn text_error(path: &str) -> StoreError {
    StoreError::Protection(format!("sealed `{path}` is not UTF-8 text"))
}

impl FieldProtector for EventProtector {
    fn protect_event<'a>(&self, event: &'a Event) -> Result<Cow<'a, Event>, StoreError> {
        let mut out = event.clone();
        let record = event.id.to_string();
        let dek = self.sealing_key()?;
        for path in &self.fields {
            if let Some(slot) = typed_slot(&mut out, path) {
                if let Some(value) = slot.take() {
                    let sealed = seal(&dek, &record, path, value.as_bytes())?;
                    *slot = Some(self.pseudonym(path, value.as_bytes()));
                    out.attributes
                        .insert(format!("{SEALED_PREFIX}{path}"), sealed.into());
                }
            } else if let Some(value) = out.attributes.get(path) {
                let plain = serde_json::to_vec(value)
                    .map_err(|e| protection_error(&format!("cannot encode `{path}`"), e))?;
                let token_input = value.as_str().map_or(plain.as_slice(), str::as_bytes);
                let pseudonym = self.pseudonym(path, token_input);
                let sealed = seal(&dek, &record, path, &plain)?;
                out.attributes.insert(path.clone(), pseudonym.into());
                out.attributes
                    .insert(format!("{SEALED_PREFIX}{path}"), sealed.into());
            }
        }
        if !out.raw.is_empty() {
            let sealed = seal(&dek, &record, RAW_PATH, out.raw.as_bytes())?;
            out.raw = String::new();
            out.attributes
                .insert(format!("{SEALED_PREFIX}{RAW_PATH}"), sealed.into());
        }
        Ok(Cow::Owned(out))
    }

    fn reveal_event(&self, mut event: Event) -> Result<Event, StoreError> {
        let sealed: Vec<String> = event
            .attributes
            .keys()
            .filter(|k| k.starts_with(SEALED_PREFIX))
            .cloned()
            .collect();
        let record = event.id.to_string();
        for key in sealed {
            let path = key.get(SEALED_PREFIX.len()..).unwrap_or_default();
            let Some(text) = event.attributes.remove(&key) else {
                continue;
            };
            let text = text.as_str().ok_or_else(|| text_error(path))?.to_owned();
            let plain = self.open_sealed(&record, path, &text)?;
            if path == RAW_PATH {
                event.raw =
                    String::from_utf8(plain.expose().clone()).map_err(|_| text_error(path))?;
            } else if let Some(slot) = typed_slot(&mut event, path) {
                *slot =
                    Some(String::from_utf8(plain.expose().clone()).map_err(|_| text_error(path))?);
            } else {
                let value = serde_json::from_slice(plain.expose())
                    .map_err(|e| protection_error(&format!("sealed `{path}` is not JSON"), e))?;
                event.attributes.insert(path.to_owned(), value);
            }
        }
        Ok(event)
    }

    fn protect_dead_letter<'a>(
        &self,
        dead_letter: &'a DeadLetter,
    ) -> Result<Cow<'a, DeadLetter>, StoreError> {
        let dek = self.sealing_key()?;
        let sealed = seal(
            &dek,
            &dead_letter.id.to_string(),
            RAW_PATH,
            dead_letter.raw.as_bytes(),
        )?;
        let mut out = dead_letter.clone();
        out.raw = format!("{DEAD_LETTER_MARKER}{sealed}");
        Ok(Cow::Owned(out))
    }

    fn reveal_dead_letter(&self, mut dead_letter: DeadLetter) -> Result<DeadLetter, StoreError> {
        if let Some(text) = dead_letter.raw.strip_prefix(DEAD_LETTER_MARKER) {
            let plain = self.open_sealed(&dead_letter.id.to_string(), RAW_PATH, text)?;
            dead_letter.raw =
                String::from_utf8(plain.expose().clone()).map_err(|_| text_error(RAW_PATH))?;
        }
        Ok(dead_letter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::{ContentHash, Ecs, Position, Provenance};

    fn provenance(raw: &str) -> Provenance {
        Provenance {
            source: "test.ndjson".to_owned(),
            position: Position::Line(raw.len() as u64),
            format: None,
            parser: "test/1".to_owned(),
            ingested_at: chrono::Utc::now(),
            content_hash: ContentHash::of(raw.as_bytes()),
        }
    }

    fn event(user: &str, command: &str) -> Event {
        let mut ecs = Ecs::default();
        ecs.user.name = Some(user.to_owned());
        ecs.process.command_line = Some(command.to_owned());
        let raw = format!(r#"{{"User":"{user}","CommandLine":"{command}"}}"#);
        let mut e = Event::new(ecs, raw.clone(), provenance(&raw));
        e.attributes.insert(
            "winlog.event_data.TargetUserName".to_owned(),
            user.to_owned().into(),
        );
        e.attributes
            .insert("winlog.event_data.User".to_owned(), serde_json::json!(42));
        e
    }

    fn protector(dir: &Path) -> EventProtector {
        EventProtector::open(dir, &ProtectionConfig::default()).unwrap()
    }

    #[test]
    fn reveal_undoes_protect_and_keeps_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = protector(dir.path());
        let original = event("alice", "cmd.exe /c whoami");
        let stored = p.protect_event(&original).unwrap().into_owned();
        assert_eq!(stored.id, original.id);
        assert!(stored.raw.is_empty());
        let text = serde_json::to_string(&stored).unwrap();
        assert!(
            !text.contains("alice") && !text.contains("whoami"),
            "{text}"
        );
        let name = stored.ecs.user.name.clone().unwrap();
        assert!(name.starts_with("ps:"));
        assert_eq!(
            stored.attributes["winlog.event_data.TargetUserName"],
            name.as_str()
        );
        assert_eq!(p.reveal_event(stored).unwrap(), original);
        // A fresh protector over the same keys reads it back too.
        let again = protector(dir.path());
        let stored = p.protect_event(&original).unwrap().into_owned();
        assert_eq!(again.reveal_event(stored).unwrap(), original);
    }

    #[test]
    fn same_value_same_pseudonym_across_events() {
        let dir = tempfile::tempdir().unwrap();
        let p = protector(dir.path());
        let a = p.protect_event(&event("bob", "a")).unwrap().into_owned();
        let b = p.protect_event(&event("bob", "b")).unwrap().into_owned();
        assert_ne!(a.id, b.id);
        assert_eq!(a.ecs.user.name, b.ecs.user.name);
        assert_ne!(a.ecs.process.command_line, b.ecs.process.command_line);
        let other_tenant = EventProtector::open(
            dir.path(),
            &ProtectionConfig {
                tenant: "other".to_owned(),
                ..ProtectionConfig::default()
            },
        )
        .unwrap();
        assert_ne!(
            other_tenant.pseudonym("user.name", b"bob"),
            p.pseudonym("user.name", b"bob")
        );
    }

    #[test]
    fn a_sealed_field_moved_to_another_event_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let p = protector(dir.path());
        let a = p.protect_event(&event("carol", "x")).unwrap().into_owned();
        let mut b = p.protect_event(&event("dave", "y")).unwrap().into_owned();
        let key = format!("{SEALED_PREFIX}user.name");
        b.attributes.insert(key.clone(), a.attributes[&key].clone());
        let error = p.reveal_event(b).unwrap_err().to_string();
        assert!(error.contains("user.name"), "{error}");
    }

    #[test]
    fn dead_letters_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = protector(dir.path());
        let letter = DeadLetter::new(provenance("x"), "bad json", b"{\"secret\": 1");
        let stored = p.protect_dead_letter(&letter).unwrap().into_owned();
        assert!(stored.raw.starts_with(DEAD_LETTER_MARKER));
        assert!(!stored.raw.contains("secret"));
        assert_eq!(stored.id, letter.id);
        assert_eq!(p.reveal_dead_letter(stored).unwrap(), letter);
    }

    #[test]
    fn a_new_data_key_every_batch_stored_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = protector(dir.path());
        let keys = KeyDir::new(dir.path());
        let e = event("erin", "z");
        let _ = p.protect_event(&e).unwrap();
        assert_eq!(keys.wrapped_deks().unwrap().len(), 1);
        for _ in 1..DEK_EVENTS {
            let _ = p.sealing_key().unwrap();
        }
        assert_eq!(keys.wrapped_deks().unwrap().len(), 1);
        let _ = p.protect_event(&e).unwrap();
        assert_eq!(keys.wrapped_deks().unwrap().len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = protector(dir.path());
        let _ = p.protect_event(&event("f", "g")).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let keys = KeyDir::new(dir.path());
        assert_eq!(mode(&keys.root), 0o700);
        assert_eq!(mode(&keys.deks_dir()), 0o700);
        for id in keys.kek_ids().unwrap() {
            assert_eq!(mode(&keys.kek_path(&id)), 0o600);
        }
        assert_eq!(mode(&keys.pseudonym_path()), 0o600);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let p = protector(dir.path());
        let debug = format!("{p:?}");
        let pseudonym_key =
            std::fs::read_to_string(KeyDir::new(dir.path()).pseudonym_path()).unwrap();
        assert!(!debug.contains(pseudonym_key.trim()), "{debug}");
        for id in KeyDir::new(dir.path()).kek_ids().unwrap() {
            let kek = std::fs::read_to_string(KeyDir::new(dir.path()).kek_path(&id)).unwrap();
            assert!(!debug.contains(kek.trim()), "{debug}");
        }
    }

    #[test]
    fn reserved_fields_are_rejected() {
        for bad in ["raw", "rampart.sealed.x", ""] {
            let config = ProtectionConfig {
                sensitive_fields: vec![bad.to_owned()],
                ..ProtectionConfig::default()
            };
            assert!(config.validate().is_err(), "{bad}");
        }
    }
}
