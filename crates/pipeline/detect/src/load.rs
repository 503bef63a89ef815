//! Reading rule files from a directory, a `.tar.gz` archive or a single file, with caps.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::DetectError;

/// Largest rule file read, in bytes (the largest `SigmaHQ` rule is under 100 KiB).
pub(crate) const MAX_RULE_BYTES: u64 = 1024 * 1024;
/// Most bytes unpacked from one archive.
const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;
/// Most members read from one archive.
const MAX_ARCHIVE_MEMBERS: usize = 200_000;
/// Deepest directory recursion.
const MAX_DIR_DEPTH: usize = 32;

fn is_rule_file(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml"))
}

fn is_archive(name: &str) -> bool {
    let path = Path::new(name);
    let tgz = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("tgz"));
    let gz = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    let tar = path
        .file_stem()
        .map(Path::new)
        .and_then(Path::extension)
        .is_some_and(|ext| ext.eq_ignore_ascii_case("tar"));
    tgz || (gz && tar)
}

/// Receives each rule file: its name and its bytes, or why they were not read.
pub(crate) type Sink<'a> = dyn FnMut(&str, Result<&[u8], String>) + 'a;

/// Hands every rule file under `path` to `sink`.
pub(crate) fn read_path(path: &Path, sink: &mut Sink<'_>) -> Result<(), DetectError> {
    let read_error = |source: std::io::Error| DetectError::Read {
        path: path.to_path_buf(),
        source,
    };
    let metadata = fs::metadata(path).map_err(read_error)?;
    if metadata.is_dir() {
        walk(path, 0, sink)
    } else if is_archive(&path.to_string_lossy()) {
        let file = fs::File::open(path).map_err(read_error)?;
        read_archive(path, file, sink)
    } else {
        read_file(path, sink)
    }
}

fn read_file(path: &Path, sink: &mut Sink<'_>) -> Result<(), DetectError> {
    let name = path.display().to_string();
    let file = fs::File::open(path).map_err(|source| DetectError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_RULE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| DetectError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    deliver(&name, &bytes, sink);
    Ok(())
}

fn deliver(name: &str, bytes: &[u8], sink: &mut Sink<'_>) {
    if bytes.len() as u64 > MAX_RULE_BYTES {
        sink(
            name,
            Err(format!(
                "the file is too large: over {MAX_RULE_BYTES} bytes"
            )),
        );
    } else {
        sink(name, Ok(bytes));
    }
}

fn walk(dir: &Path, depth: usize, sink: &mut Sink<'_>) -> Result<(), DetectError> {
    if depth > MAX_DIR_DEPTH {
        return Ok(());
    }
    let entries = fs::read_dir(dir).map_err(|source| DetectError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(metadata) = fs::symlink_metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            walk(&path, depth + 1, sink)?;
        } else if metadata.is_file() && is_rule_file(&name) {
            read_file(&path, sink)?;
        } else if metadata.is_file() && is_archive(&name) {
            let file = fs::File::open(&path).map_err(|source| DetectError::Read {
                path: path.clone(),
                source,
            })?;
            read_archive(&path, file, sink)?;
        }
    }
    Ok(())
}

fn read_archive(path: &Path, file: fs::File, sink: &mut Sink<'_>) -> Result<(), DetectError> {
    let archive_error = |reason: String| DetectError::Archive {
        path: path.to_path_buf(),
        reason,
    };
    let decoder = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut archive = tar::Archive::new(decoder.take(MAX_ARCHIVE_BYTES));
    let entries = archive
        .entries()
        .map_err(|error| archive_error(error.to_string()))?;
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|error| archive_error(error.to_string()))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|error| archive_error(error.to_string()))?;
        if !is_rule_file(&member) {
            continue;
        }
        if members.len() >= MAX_ARCHIVE_MEMBERS {
            return Err(archive_error(format!(
                "more than {MAX_ARCHIVE_MEMBERS} rule files"
            )));
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(MAX_RULE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| archive_error(error.to_string()))?;
        members.push((format!("{}!{member}", path.display()), bytes));
    }
    // Archive order is whatever the packer wrote; sort so loads are reproducible.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, bytes) in &members {
        deliver(name, bytes, sink);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use crate::RuleSet;

    const RULE: &str = "title: t\nid: ID\nlogsource: {product: windows, category: process_creation}\ndetection: {s: {Image: x}, condition: s}\n";

    #[test]
    fn loads_directories_archives_and_reports_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("windows/process_creation");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("a.yml"), RULE.replace("ID", "a")).unwrap();
        std::fs::write(dir.path().join("b.YAML"), RULE.replace("ID", "b")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
        std::fs::write(dir.path().join("latin1.yml"), b"title: \xe9\n").unwrap();
        let big = format!(
            "{RULE}# {}\n",
            "x".repeat(usize::try_from(super::MAX_RULE_BYTES).unwrap())
        );
        std::fs::write(dir.path().join("big.yml"), big).unwrap();

        let archive_path = dir.path().join("more.tar.gz");
        let file = std::fs::File::create(&archive_path).unwrap();
        let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut builder = tar::Builder::new(encoder);
        for (name, id) in [("rules/c.yml", "c"), ("rules/readme.md", "ignored")] {
            let text = RULE.replace("ID", id);
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, text.as_bytes())
                .unwrap();
        }
        builder
            .into_inner()
            .unwrap()
            .finish()
            .unwrap()
            .flush()
            .unwrap();

        let (rules, report) = RuleSet::load(dir.path()).unwrap();
        let ids: Vec<&str> = rules.rules().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["b", "c", "a"],
            "sorted walk: files, then the archive, then folders"
        );
        assert_eq!(report.files, 5);
        assert_eq!(report.by_reason.get("not utf-8"), Some(&1));
        assert_eq!(report.by_reason.get("file too large"), Some(&1));
        assert!(
            rules
                .rules()
                .any(|r| r.file.ends_with("more.tar.gz!rules/c.yml"))
        );

        let (_, report) = RuleSet::load(&archive_path).unwrap();
        assert_eq!(report.loaded, 1);
        assert!(RuleSet::load(&dir.path().join("missing")).is_err());
        std::fs::write(dir.path().join("broken.tar.gz"), b"not gzip").unwrap();
        let error = RuleSet::load(&dir.path().join("broken.tar.gz")).unwrap_err();
        assert!(error.to_string().contains("broken.tar.gz"), "{error}");
    }
}
