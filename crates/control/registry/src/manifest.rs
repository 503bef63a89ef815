//! The OMS v1.0 predicate and the manifest it describes: every file of a model
//! directory with its SHA-256 digest.
//!
//! Resource order follows `model_signing`: names compare path component by
//! path component (`a/b` sorts before `a-b`), which is how Python's
//! `PurePosixPath` orders them, so a manifest we produce lists resources in the
//! same order as one produced by the reference implementation. Verification does
//! not depend on the order: the root digest is recomputed in the listed order
//! and files are matched by name.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{RegistryError, Result};
use crate::statement::{ResourceDescriptor, Statement, parse_sha256_hex};

/// Predicate type of an OMS v1.0 model signature.
pub const OMS_PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";

/// The only serialization method this crate produces and verifies.
pub const METHOD_FILES: &str = "files";

/// The only hash this crate produces and verifies (the one OMS requires).
pub const HASH_SHA256: &str = "sha256";

/// Cap on the number of resources in one manifest.
pub const MAX_RESOURCES: usize = 200_000;

/// Cap on the length of one resource name or ignore path, in bytes.
pub const MAX_NAME_BYTES: usize = 4096;

/// Paths `model_signing` ignores by default at the top of a model directory.
pub const GIT_IGNORE_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// How the model was turned into resources (`predicate.serialization`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serialization {
    /// `files` (one resource per file) or `shards` (not supported here).
    pub method: String,
    /// Digest algorithm of every resource.
    pub hash_type: String,
    /// Whether symlinks were followed; always `false` when we sign.
    pub allow_symlinks: bool,
    /// Root-relative paths left out of the manifest (prefix match on components).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_paths: Vec<String>,
    /// Shard size for the `shards` method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_size: Option<u64>,
}

/// One entry of `predicate.resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// POSIX path relative to the model directory.
    pub name: String,
    /// Digest algorithm, equal to `serialization.hash_type`.
    pub algorithm: String,
    /// Lowercase hex digest.
    pub digest: String,
}

/// The OMS v1.0 predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OmsPredicate {
    /// How the directory was serialized.
    pub serialization: Serialization,
    /// Every signed file, in manifest order.
    pub resources: Vec<Resource>,
}

/// A resource name ordered component by component, as `model_signing` orders it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceName(String);

impl ResourceName {
    /// Validates a root-relative POSIX path: not empty, not absolute, no `.`,
    /// `..` or empty components, no NUL, no backslash.
    pub fn new(name: &str) -> Result<Self> {
        let bad = |why: &str| {
            RegistryError::malformed(
                "manifest",
                format!("resource name `{}` {why}", name.escape_debug()),
            )
        };
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(bad("is empty or too long"));
        }
        if name.contains('\0') || name.contains('\\') {
            return Err(bad("contains NUL or a backslash"));
        }
        if name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(bad("is not a plain relative path"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for ResourceName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.split('/').cmp(other.0.split('/'))
    }
}

impl PartialOrd for ResourceName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The files of a model and their SHA-256 digests, in manifest order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    files: BTreeMap<ResourceName, [u8; 32]>,
}

impl Manifest {
    /// Builds a manifest from `(name, digest)` pairs; names must be unique.
    pub fn from_files<I>(files: I) -> Result<Self>
    where
        I: IntoIterator<Item = (ResourceName, [u8; 32])>,
    {
        let mut map = BTreeMap::new();
        for (name, digest) in files {
            if map.len() >= MAX_RESOURCES {
                return Err(RegistryError::malformed(
                    "manifest",
                    format!("more than {MAX_RESOURCES} resources"),
                ));
            }
            if map.insert(name.clone(), digest).is_some() {
                return Err(RegistryError::malformed(
                    "manifest",
                    format!("resource `{name}` is listed twice"),
                ));
            }
        }
        Ok(Self { files: map })
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the manifest lists no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The digest of one file.
    pub fn digest(&self, name: &str) -> Option<&[u8; 32]> {
        // Lookups by plain string: build the key without validation, since a
        // name that would fail validation is simply not present.
        self.files.get(&ResourceName(name.to_owned()))
    }

    /// Files and digests in manifest order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8; 32])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// SHA-256 over the concatenated raw digests in manifest order: the OMS
    /// subject digest that names the whole model.
    pub fn root_digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for digest in self.files.values() {
            hasher.update(digest);
        }
        hasher.finalize().into()
    }

    /// The OMS resources for this manifest.
    pub fn resources(&self) -> Vec<Resource> {
        self.files
            .iter()
            .map(|(name, digest)| Resource {
                name: name.0.clone(),
                algorithm: HASH_SHA256.to_owned(),
                digest: hex::encode(digest),
            })
            .collect()
    }

    /// One in-toto subject per file (used by provenance).
    pub fn subjects(&self) -> Vec<ResourceDescriptor> {
        self.files
            .iter()
            .map(|(name, digest)| ResourceDescriptor::sha256(name.as_str(), digest))
            .collect()
    }

    /// What differs between this expected manifest and the `actual` directory.
    pub fn diff(&self, actual: &Self) -> Option<ManifestDiff> {
        let mut diff = ManifestDiff::default();
        for (name, digest) in &self.files {
            match actual.files.get(name) {
                None => diff.missing.push(name.0.clone()),
                Some(found) if found != digest => diff.changed.push(name.0.clone()),
                Some(_) => {}
            }
        }
        for name in actual.files.keys() {
            if !self.files.contains_key(name) {
                diff.extra.push(name.0.clone());
            }
        }
        (!diff.is_empty()).then_some(diff)
    }
}

/// Parses OMS statement bytes (a DSSE payload) into the signed model name, the
/// serialization and the manifest, checking types and the root digest. Does not
/// check any signature: call it only on a verified payload, or to inspect one.
pub fn parse_oms_statement(payload: &[u8]) -> Result<(String, Serialization, Manifest)> {
    let statement = Statement::parse(payload, OMS_PREDICATE_TYPE)?;
    manifest_from_statement(&statement)
}

/// Like [`parse_oms_statement`] on an already parsed statement.
pub(crate) fn manifest_from_statement(
    statement: &Statement,
) -> Result<(String, Serialization, Manifest)> {
    let [subject] = statement.subject.as_slice() else {
        return Err(RegistryError::malformed(
            "model signature",
            format!(
                "expected exactly one subject, found {}",
                statement.subject.len()
            ),
        ));
    };
    let model_name = subject.name.clone().unwrap_or_default();
    let expected_root = subject.sha256_digest().ok_or_else(|| {
        RegistryError::malformed("model signature", "subject has no valid `sha256` digest")
    })?;
    let predicate: OmsPredicate = serde_json::from_value(statement.predicate.clone())
        .map_err(|e| RegistryError::malformed("OMS predicate", e.to_string()))?;
    let serialization = predicate.serialization;
    if serialization.method != METHOD_FILES {
        return Err(RegistryError::Unsupported {
            what: "serialization method",
            value: serialization.method,
            hint: "only `files` is supported; re-sign without sharding",
        });
    }
    if serialization.hash_type != HASH_SHA256 {
        return Err(RegistryError::Unsupported {
            what: "hash type",
            value: serialization.hash_type,
            hint: "only `sha256` is supported",
        });
    }
    if serialization.allow_symlinks {
        return Err(RegistryError::Unsupported {
            what: "allow_symlinks",
            value: "true".to_owned(),
            hint: "models with symlinks are refused",
        });
    }
    if serialization.ignore_paths.len() > MAX_RESOURCES {
        return Err(RegistryError::malformed(
            "OMS predicate",
            "too many ignore paths",
        ));
    }
    for path in &serialization.ignore_paths {
        ResourceName::new(path.trim_end_matches('/'))?;
    }
    if predicate.resources.is_empty() || predicate.resources.len() > MAX_RESOURCES {
        return Err(RegistryError::malformed(
            "OMS predicate",
            format!(
                "`resources` has {} entries, expected 1 to {MAX_RESOURCES}",
                predicate.resources.len()
            ),
        ));
    }
    let mut root = Sha256::new();
    let mut files = Vec::with_capacity(predicate.resources.len());
    for resource in &predicate.resources {
        if resource.algorithm != HASH_SHA256 {
            return Err(RegistryError::Unsupported {
                what: "resource algorithm",
                value: resource.algorithm.clone(),
                hint: "only `sha256` is supported",
            });
        }
        let digest = parse_sha256_hex(&resource.digest).ok_or_else(|| {
            RegistryError::malformed(
                "OMS predicate",
                format!("digest of `{}` is not 64 hex digits", resource.name),
            )
        })?;
        root.update(digest);
        files.push((ResourceName::new(&resource.name)?, digest));
    }
    let actual_root: [u8; 32] = root.finalize().into();
    if actual_root != expected_root {
        return Err(RegistryError::malformed(
            "model signature",
            "subject digest does not match the resources (manifest is inconsistent)",
        ));
    }
    Ok((model_name, serialization, Manifest::from_files(files)?))
}

/// Files that differ between a signed manifest and a model directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestDiff {
    /// Files present in both whose digests differ.
    pub changed: Vec<String>,
    /// Signed files absent from the directory.
    pub missing: Vec<String>,
    /// Files in the directory that the signature does not cover.
    pub extra: Vec<String>,
}

impl ManifestDiff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

impl fmt::Display for ManifestDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Long lists are cut so one error line stays readable; the counts stay exact.
        const SHOWN: usize = 10;
        let mut first = true;
        for (label, names) in [
            ("changed", &self.changed),
            ("missing", &self.missing),
            ("unsigned extra", &self.extra),
        ] {
            if names.is_empty() {
                continue;
            }
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{} {label} file(s): ", names.len())?;
            for (i, name) in names.iter().take(SHOWN).enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "`{}`", name.escape_debug())?;
            }
            if names.len() > SHOWN {
                write!(f, " and {} more", names.len() - SHOWN)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ResourceName {
        ResourceName::new(s).unwrap()
    }

    #[test]
    fn names_sort_by_component_like_model_signing() {
        let mut names = [name("a-b"), name("a/b"), name("B"), name("a")];
        names.sort();
        let sorted: Vec<_> = names.iter().map(ResourceName::as_str).collect();
        assert_eq!(sorted, ["B", "a", "a/b", "a-b"]);
    }

    #[test]
    fn bad_names_are_rejected() {
        for bad in ["", "/abs", "a/../b", "./a", "a//b", "a/", "a\\b", "a\0b"] {
            assert!(ResourceName::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn diff_reports_every_kind() {
        let expected = Manifest::from_files([(name("a"), [1; 32]), (name("b"), [2; 32])]).unwrap();
        let actual = Manifest::from_files([(name("a"), [9; 32]), (name("c"), [3; 32])]).unwrap();
        let diff = expected.diff(&actual).unwrap();
        assert_eq!(diff.changed, ["a"]);
        assert_eq!(diff.missing, ["b"]);
        assert_eq!(diff.extra, ["c"]);
        assert_eq!(
            diff.to_string(),
            "1 changed file(s): `a`; 1 missing file(s): `b`; 1 unsigned extra file(s): `c`"
        );
        assert!(expected.diff(&expected).is_none());
    }

    fn statement_bytes(files: &[(String, [u8; 32])], root: [u8; 32]) -> Vec<u8> {
        let resources: Vec<_> = files
            .iter()
            .map(|(n, d)| serde_json::json!({"name": n, "algorithm": "sha256", "digest": hex::encode(d)}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "_type": crate::statement::STATEMENT_TYPE,
            "subject": [{"name": "m", "digest": {"sha256": hex::encode(root)}}],
            "predicateType": OMS_PREDICATE_TYPE,
            "predicate": {
                "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false},
                "resources": resources,
            },
        }))
        .unwrap()
    }

    proptest::proptest! {
        #[test]
        fn statement_parser_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = parse_oms_statement(&bytes);
        }

        #[test]
        fn statements_round_trip_and_root_digest_is_checked(
            files in proptest::collection::btree_map("[a-z]{1,3}(/[a-z]{1,3}){0,2}", proptest::prelude::any::<[u8; 32]>(), 1..8),
            flip in proptest::prelude::any::<u8>(),
        ) {
            let files: Vec<(String, [u8; 32])> = files.into_iter().collect();
            let manifest = Manifest::from_files(
                files.iter().map(|(n, d)| (ResourceName::new(n).unwrap(), *d)),
            );
            // Names such as `a` and `a/b` can both be generated; both are valid resources.
            let manifest = manifest.unwrap();
            let mut root = Sha256::new();
            for (_, d) in &files {
                root.update(d);
            }
            let root: [u8; 32] = root.finalize().into();
            let (name, _, parsed) = parse_oms_statement(&statement_bytes(&files, root)).unwrap();
            proptest::prop_assert_eq!(name, "m");
            proptest::prop_assert_eq!(&parsed, &manifest);

            let mut wrong = root;
            wrong[usize::from(flip) % 32] ^= 1;
            proptest::prop_assert!(parse_oms_statement(&statement_bytes(&files, wrong)).is_err());
        }
    }

    #[test]
    fn duplicate_names_are_rejected() {
        assert!(Manifest::from_files([(name("a"), [1; 32]), (name("a"), [1; 32])]).is_err());
    }
}
