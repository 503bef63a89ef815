//! Bounded readers for the dataset files (JSON, JSON lines, CSV, text).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{MAX_DATASET_FILE_BYTES, MAX_EXAMPLE_BYTES};
use crate::GuardError;

pub(super) fn cut(text: &str) -> &str {
    if text.len() <= MAX_EXAMPLE_BYTES {
        return text;
    }
    let mut end = MAX_EXAMPLE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

pub(super) fn malformed(path: &Path, reason: String) -> GuardError {
    GuardError::MalformedDataset {
        path: path.to_owned(),
        reason,
    }
}

pub(super) fn read_text(path: &Path) -> Result<String, GuardError> {
    let io = |source| GuardError::Io {
        path: path.to_owned(),
        source,
    };
    let size = fs::metadata(path).map_err(io)?.len();
    if size > MAX_DATASET_FILE_BYTES {
        return Err(malformed(
            path,
            format!("{size} bytes is over the {MAX_DATASET_FILE_BYTES}-byte limit"),
        ));
    }
    fs::read_to_string(path).map_err(io)
}

pub(super) fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, GuardError> {
    let io = |source| GuardError::Io {
        path: dir.to_owned(),
        source,
    };
    fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()).map_err(io))
        .collect()
}

pub(super) fn json(path: &Path) -> Result<Value, GuardError> {
    serde_json::from_str(&read_text(path)?)
        .map_err(|e| malformed(path, format!("invalid JSON: {e}")))
}

pub(super) fn jsonl(path: &Path) -> Result<Vec<Value>, GuardError> {
    read_text(path)?
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| malformed(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

pub(super) fn csv_rows(path: &Path) -> Result<Vec<BTreeMap<String, String>>, GuardError> {
    let text = read_text(path)?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| malformed(path, format!("CSV header: {e}")))?
        .clone();
    reader
        .records()
        .map(|r| {
            let r = r.map_err(|e| malformed(path, format!("CSV row: {e}")))?;
            Ok(headers
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect())
        })
        .collect()
}

pub(super) fn str_field(row: &Value, field: &str, path: &Path) -> Result<String, GuardError> {
    row.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| malformed(path, format!("row without a string `{field}`")))
}

/// Every string in a JSON value that is a string or a list of strings.
pub(super) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}
