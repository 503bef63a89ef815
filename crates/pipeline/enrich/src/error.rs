//! The crate's error type, per-item errors and load reports.

use std::path::PathBuf;

use crate::PatternError;

/// Errors from loading intel, catalogues and inventories.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not valid JSON (or YAML turned JSON) of the expected shape.
    #[error("`{path}` is not a valid {what}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What it should have been, e.g. `STIX bundle`.
        what: &'static str,
        /// Why it is not.
        reason: String,
    },
    /// A STIX object is malformed.
    #[error("STIX object `{id}` is invalid: {reason}")]
    InvalidObject {
        /// The object's id, or `?` when it has none.
        id: String,
        /// Why.
        reason: String,
    },
    /// An indicator's pattern cannot be evaluated.
    #[error("indicator `{id}` has a pattern Rampart cannot evaluate: {source}")]
    Pattern {
        /// The indicator's id.
        id: String,
        /// Why.
        source: PatternError,
    },
}

impl EnrichError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// One item of a file that could not be loaded; the rest of the file still loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// The file (or source name) the item came from.
    pub source: String,
    /// Where in it: `line 12`, `object 3 (indicator--…)`, `entry 7`.
    pub item: String,
    /// Why it was not loaded.
    pub reason: String,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.source, self.item, self.reason)
    }
}

/// What loading one file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The file or source name.
    pub source: String,
    /// Items loaded (indicators, IOC entries, allow-list entries).
    pub loaded: usize,
    /// Items read but not used because Rampart has no use for their kind (e.g. STIX
    /// `malware` objects kept only for relationships).
    pub ignored: usize,
    /// Items that could not be loaded, each with its reason.
    pub errors: Vec<ItemError>,
}

impl LoadReport {
    pub(crate) fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            ..Self::default()
        }
    }

    pub(crate) fn error(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ItemError {
            source: self.source.clone(),
            item: item.into(),
            reason: reason.into(),
        });
    }
}
