//! Enumerating and hashing the files of a model directory the way OMS `files`
//! serialization does: every regular file, relative POSIX names, ignore paths
//! matched as whole-component prefixes, symlinks and special files refused.
//!
//! Hashing is the slow part of signing and verifying, so files are hashed on
//! all cores at once, largest first, so one big weights file does not end up
//! alone at the tail of the queue.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{RegistryError, Result};
use crate::manifest::{MAX_RESOURCES, Manifest, ResourceName};

/// Deepest directory nesting accepted inside a model directory.
pub const MAX_DEPTH: usize = 64;

/// Read buffer per hashing worker.
const CHUNK: usize = 1 << 20;

/// Root-relative paths that are left out of a manifest. An entry ignores the
/// path itself and, when it is a directory, everything below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreSet {
    paths: Vec<String>,
}

impl IgnoreSet {
    /// Builds the set; `./` prefixes and trailing `/` are dropped, duplicates
    /// and empty entries removed.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out: Vec<String> = paths
            .into_iter()
            .map(|p| {
                let p = p.as_ref().trim_end_matches('/');
                p.strip_prefix("./").unwrap_or(p).to_owned()
            })
            .filter(|p| !p.is_empty() && p != ".")
            .collect();
        out.sort();
        out.dedup();
        Self { paths: out }
    }

    /// Adds one path.
    pub fn insert(&mut self, path: &str) {
        let mut all = std::mem::take(&mut self.paths);
        all.push(path.to_owned());
        *self = Self::new(all);
    }

    /// Whether `rel` (a root-relative POSIX path) is ignored.
    pub fn contains(&self, rel: &str) -> bool {
        self.paths.iter().any(|p| {
            rel.strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// The sorted paths, as recorded in `serialization.ignore_paths`.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }
}

/// One regular file found in a model directory.
#[derive(Debug, Clone)]
pub(crate) struct ModelFile {
    pub name: ResourceName,
    pub path: PathBuf,
    pub size: u64,
}

/// Lists every regular file under `root` that `ignore` does not exclude.
pub(crate) fn list_files(root: &Path, ignore: &IgnoreSet) -> Result<Vec<ModelFile>> {
    let meta = fs::symlink_metadata(root).map_err(|e| RegistryError::io(root, e))?;
    if meta.file_type().is_symlink() {
        return Err(RegistryError::UnsupportedPath {
            path: root.to_path_buf(),
            reason: "the model directory is a symlink; pass the real directory",
        });
    }
    if !meta.is_dir() {
        return Err(RegistryError::UnsupportedPath {
            path: root.to_path_buf(),
            reason: "not a directory; a model is a directory of files",
        });
    }
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, prefix, depth)) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| RegistryError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| RegistryError::io(&dir, e))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(RegistryError::UnsupportedPath {
                    path,
                    reason: "file name is not UTF-8",
                });
            };
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if ignore.contains(&rel) {
                continue;
            }
            let file_type = entry.file_type().map_err(|e| RegistryError::io(&path, e))?;
            if file_type.is_symlink() {
                return Err(RegistryError::UnsupportedPath {
                    path,
                    reason: "symbolic links are not signed; replace the link with the file",
                });
            } else if file_type.is_dir() {
                if depth + 1 >= MAX_DEPTH {
                    return Err(RegistryError::UnsupportedPath {
                        path,
                        reason: "directory nesting is deeper than 64 levels",
                    });
                }
                stack.push((path, rel, depth + 1));
            } else if file_type.is_file() {
                if files.len() >= MAX_RESOURCES {
                    return Err(RegistryError::UnsupportedPath {
                        path: root.to_path_buf(),
                        reason: "the model directory holds more than 200000 files",
                    });
                }
                let size = entry
                    .metadata()
                    .map_err(|e| RegistryError::io(&path, e))?
                    .len();
                let name = ResourceName::new(&rel).map_err(|_| RegistryError::UnsupportedPath {
                    path: path.clone(),
                    reason: "file name cannot be written as an OMS resource name",
                })?;
                files.push(ModelFile { name, path, size });
            } else {
                return Err(RegistryError::UnsupportedPath {
                    path,
                    reason: "not a regular file (socket, pipe or device)",
                });
            }
        }
    }
    Ok(files)
}

/// Hashes every listed file with SHA-256, in parallel, and builds the manifest.
pub(crate) fn hash_files(files: &[ModelFile]) -> Result<Manifest> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files.get(i).map_or(0, |f| f.size)));
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(files.len())
        .clamp(1, 16);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<RegistryError>> = Mutex::new(None);
    let digests: Vec<Mutex<Option<[u8; 32]>>> = files.iter().map(|_| Mutex::new(None)).collect();

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                while !failed.load(Ordering::Relaxed) {
                    let slot = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&index) = order.get(slot) else { break };
                    let (Some(file), Some(out)) = (files.get(index), digests.get(index)) else {
                        break;
                    };
                    match sha256_file_with(&file.path, &mut buf) {
                        Ok(digest) => {
                            if let Ok(mut guard) = out.lock() {
                                *guard = Some(digest);
                            }
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut guard) = first_error.lock() {
                                guard.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });

    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut entries = Vec::with_capacity(files.len());
    for (file, digest) in files.iter().zip(digests) {
        let digest = digest.into_inner().ok().flatten().ok_or_else(|| {
            RegistryError::io(
                &file.path,
                std::io::Error::other("hashing worker stopped before this file"),
            )
        })?;
        entries.push((file.name.clone(), digest));
    }
    Manifest::from_files(entries)
}

/// Lists and hashes a model directory.
pub fn hash_model_dir(root: &Path, ignore: &IgnoreSet) -> Result<Manifest> {
    let files = list_files(root, ignore)?;
    hash_files(&files)
}

/// Streams one file through SHA-256.
pub fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    let mut buf = vec![0u8; CHUNK];
    sha256_file_with(path, &mut buf)
}

fn sha256_file_with(path: &Path, buf: &mut [u8]) -> Result<[u8; 32]> {
    let mut file = fs::File::open(path).map_err(|e| RegistryError::io(path, e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(RegistryError::io(path, e)),
        };
        ctx.update(buf.get(..n).unwrap_or_default());
    }
    Ok(finish(ctx))
}

/// SHA-256 of bytes already in memory.
pub fn sha256_bytes(bytes: &[u8]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(bytes);
    finish(ctx)
}

fn finish(ctx: ring::digest::Context) -> [u8; 32] {
    // A SHA-256 context always yields 32 bytes; copying element-wise keeps this
    // infallible without an unreachable error path.
    let digest = ctx.finish();
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(digest.as_ref()) {
        *o = *b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_matches_whole_components_only() {
        let set = IgnoreSet::new([".git/", "./model.sig", "sub/skip"]);
        assert!(set.contains(".git"));
        assert!(set.contains(".git/config"));
        assert!(!set.contains(".gitx"));
        assert!(set.contains("model.sig"));
        assert!(!set.contains("sub/model.sig"));
        assert!(set.contains("sub/skip/a"));
        assert!(!set.contains("sub/skipped"));
        assert_eq!(set.paths(), [".git", "model.sig", "sub/skip"]);
    }

    #[test]
    fn lists_nested_files_and_skips_ignored() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::create_dir_all(dir.path().join(".git")).unwrap();
        fs::write(dir.path().join("a/b/w.bin"), b"w").unwrap();
        fs::write(dir.path().join("top"), b"").unwrap();
        fs::write(dir.path().join(".git/HEAD"), b"x").unwrap();
        let manifest = hash_model_dir(dir.path(), &IgnoreSet::new([".git"])).unwrap();
        let names: Vec<_> = manifest.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a/b/w.bin", "top"]);
        assert_eq!(
            hex::encode(manifest.digest("top").unwrap()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("real"), b"r").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        let err = hash_model_dir(dir.path(), &IgnoreSet::default()).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn parallel_hash_matches_sequential() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40u8 {
            fs::write(
                dir.path().join(format!("f{i}")),
                vec![i; usize::from(i) * 5000],
            )
            .unwrap();
        }
        let manifest = hash_model_dir(dir.path(), &IgnoreSet::default()).unwrap();
        for (name, digest) in manifest.iter() {
            assert_eq!(*digest, sha256_file(&dir.path().join(name)).unwrap());
        }
        assert_eq!(manifest.len(), 40);
    }
}
