//! The local threat-intel store: indicators indexed by observable, allow-lists, markings and
//! the relationships that tie indicators to ATT&CK techniques.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use rampart_core::IntelObject;
use serde_json::Value;

use crate::error::LoadReport;
use crate::indicator::{Indicator, Tlp};
use crate::ioc;
use crate::net::PrefixMap;
use crate::pattern::{IndexKey, Pattern};
use crate::warninglist::{WarninglistFile, Warninglists};
use crate::{EnrichError, SourceInfo};

/// Files larger than this are refused: intel files are megabytes, not gigabytes.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// What [`IntelStore::add_stix_object`] did with an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// An indicator was added or replaced by a newer version.
    Indicator,
    /// The store already holds this version of the indicator or a newer one.
    Unchanged,
    /// A marking definition (a TLP level) was recorded.
    Marking,
    /// An attack pattern's ATT&CK/ATLAS id was recorded.
    AttackPattern,
    /// An `indicates` relationship was recorded.
    Relationship,
    /// A sighting restarted an indicator's decay.
    Sighting,
    /// An object type the store has no use for.
    Ignored,
}

/// Where an indicator's index entries live.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    pub(crate) nets: PrefixMap<usize>,
    pub(crate) exact: HashMap<IndexKey, Vec<usize>>,
    /// Indicators whose patterns cannot be indexed: checked against every event.
    pub(crate) scan: Vec<usize>,
}

/// The threat-intel store. Build it by loading files or adding STIX objects, then match
/// events against it with [`IntelStore::match_event`] and [`IntelStore::alerts_for`].
#[derive(Debug, Clone, Default)]
pub struct IntelStore {
    /// Every indicator version ever added; replaced versions are `None` (their index entries
    /// are skipped when found).
    pub(crate) indicators: Vec<Option<Indicator>>,
    pub(crate) by_id: HashMap<String, usize>,
    pub(crate) index: Index,
    pub(crate) markings: HashMap<String, Tlp>,
    /// attack-pattern STIX id → technique id (`T1059.001`, `AML.T0051`).
    pub(crate) techniques: HashMap<String, String>,
    /// indicator id → targets of its `indicates` relationships.
    pub(crate) indicates: HashMap<String, Vec<String>>,
    /// Sightings of indicators not loaded yet: applied when they arrive.
    pending_sightings: HashMap<String, DateTime<Utc>>,
    pub(crate) warninglists: Warninglists,
}

fn read_file(path: &Path) -> Result<String, EnrichError> {
    let meta = std::fs::metadata(path).map_err(|e| EnrichError::io(path, e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(EnrichError::Format {
            path: path.to_owned(),
            what: "intel file",
            reason: format!(
                "{} bytes exceeds the cap of {MAX_FILE_BYTES} bytes",
                meta.len()
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| EnrichError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| EnrichError::Format {
        path: path.to_owned(),
        what: "UTF-8 text file",
        reason: e.to_string(),
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn newer(candidate: Option<&str>, held: Option<&str>) -> std::cmp::Ordering {
    let parse = |t: Option<&str>| t.and_then(|t| t.parse::<DateTime<Utc>>().ok());
    parse(candidate).cmp(&parse(held))
}

impl IntelStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many indicators are active (latest versions).
    pub fn indicator_count(&self) -> usize {
        self.by_id.len()
    }

    /// How many warninglists are loaded.
    pub fn warninglist_count(&self) -> usize {
        self.warninglists.len()
    }

    /// An indicator by id (a STIX id or an IOC list entry's `ioc--…` id).
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.by_id
            .get(id)
            .and_then(|slot| self.indicators.get(*slot))
            .and_then(Option::as_ref)
    }

    /// The TLP level of an indicator's markings: the most restrictive one that resolves.
    pub fn tlp_of(&self, indicator: &Indicator) -> Option<Tlp> {
        indicator
            .marking_refs
            .iter()
            .filter_map(|id| Tlp::from_marking_id(id).or_else(|| self.markings.get(id).copied()))
            .max()
    }

    /// Adds an indicator, replacing an older version with the same id. Returns whether the
    /// store changed.
    pub fn add_indicator(&mut self, mut indicator: Indicator) -> bool {
        if let Some(pending) = self.pending_sightings.remove(&indicator.id) {
            indicator.last_seen = indicator.last_seen.max(Some(pending));
        }
        let held_slot = self.by_id.get(&indicator.id).copied();
        if let Some(slot) = held_slot
            && let Some(Some(held)) = self.indicators.get_mut(slot)
        {
            if indicator.modified.is_some()
                && newer(indicator.modified.as_deref(), held.modified.as_deref()).is_le()
            {
                return false;
            }
            indicator.last_seen = indicator.last_seen.max(held.last_seen);
            if held.pattern.as_str() == indicator.pattern.as_str() {
                // Same pattern, same index keys: replace in place (reloading a feed does
                // not grow the index).
                *held = indicator;
                return true;
            }
            // INVARIANT: index entries pointing at an emptied slot are skipped by matching.
            if let Some(old) = self.indicators.get_mut(slot) {
                *old = None;
            }
        }
        let slot = self.indicators.len();
        match indicator.pattern.index_keys() {
            Some(keys) => {
                for key in keys {
                    match key {
                        IndexKey::Net(net) => self.index.nets.insert(net, slot),
                        other => self.index.exact.entry(other).or_default().push(slot),
                    }
                }
            }
            None => self.index.scan.push(slot),
        }
        self.by_id.insert(indicator.id.clone(), slot);
        self.indicators.push(Some(indicator));
        true
    }

    /// Records that an indicator was observed at `at`: its score decay restarts from there.
    /// Returns whether the indicator is known (a sighting of an unknown indicator is kept and
    /// applied when it is loaded).
    pub fn observe(&mut self, indicator_id: &str, at: DateTime<Utc>) -> bool {
        let slot = self.by_id.get(indicator_id).copied();
        if let Some(indicator) = slot
            .and_then(|slot| self.indicators.get_mut(slot))
            .and_then(Option::as_mut)
        {
            indicator.last_seen = indicator.last_seen.max(Some(at));
            true
        } else {
            let pending = self
                .pending_sightings
                .entry(indicator_id.to_owned())
                .or_insert(at);
            *pending = (*pending).max(at);
            false
        }
    }

    /// Adds one STIX 2.1 object: indicators (with `stix` patterns), marking definitions,
    /// attack patterns, `indicates` relationships and sightings are used; other types are
    /// [`Added::Ignored`].
    pub fn add_stix_object(
        &mut self,
        object: &Value,
        source: &SourceInfo,
    ) -> Result<Added, EnrichError> {
        let text = |key: &str| object.get(key).and_then(Value::as_str);
        let Some(kind) = text("type") else {
            return Err(EnrichError::InvalidObject {
                id: text("id").unwrap_or("?").to_owned(),
                reason: "no string `type`".into(),
            });
        };
        let Some(id) = text("id") else {
            return Err(EnrichError::InvalidObject {
                id: "?".into(),
                reason: format!("`{kind}` object without a string `id`"),
            });
        };
        Ok(match kind {
            "indicator" => {
                let indicator = Indicator::from_stix(object, source)?;
                if self.add_indicator(indicator) {
                    Added::Indicator
                } else {
                    Added::Unchanged
                }
            }
            "marking-definition" => match Tlp::from_marking_definition(object) {
                Some(tlp) => {
                    self.markings.insert(id.to_owned(), tlp);
                    Added::Marking
                }
                None => Added::Ignored,
            },
            "attack-pattern" => {
                let external = object
                    .get("external_references")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|r| {
                        r.get("source_name")
                            .and_then(Value::as_str)
                            .is_some_and(|s| s == "mitre-attack" || s == "mitre-atlas")
                    })
                    .and_then(|r| r.get("external_id").and_then(Value::as_str));
                match external {
                    Some(technique) => {
                        self.techniques.insert(id.to_owned(), technique.to_owned());
                        Added::AttackPattern
                    }
                    None => Added::Ignored,
                }
            }
            "relationship" => {
                let (Some("indicates"), Some(from), Some(to)) = (
                    text("relationship_type"),
                    text("source_ref"),
                    text("target_ref"),
                ) else {
                    return Ok(Added::Ignored);
                };
                if !from.starts_with("indicator--") {
                    return Ok(Added::Ignored);
                }
                let targets = self.indicates.entry(from.to_owned()).or_default();
                if !targets.iter().any(|t| t == to) {
                    targets.push(to.to_owned());
                }
                Added::Relationship
            }
            "sighting" => {
                let Some(of) = text("sighting_of_ref").filter(|r| r.starts_with("indicator--"))
                else {
                    return Ok(Added::Ignored);
                };
                let at = ["last_seen", "first_seen", "modified", "created"]
                    .into_iter()
                    .find_map(|key| text(key).and_then(|t| t.parse::<DateTime<Utc>>().ok()));
                match at {
                    Some(at) => {
                        self.observe(of, at);
                        Added::Sighting
                    }
                    None => {
                        return Err(EnrichError::InvalidObject {
                            id: id.to_owned(),
                            reason: "sighting without a valid `last_seen`, `first_seen`, `modified` or `created`".into(),
                        });
                    }
                }
            }
            _ => Added::Ignored,
        })
    }

    /// Adds an intel object as ingestion (or the store) hands it over; its source is the
    /// file it came from and its version the object's `modified`.
    pub fn add_intel_object(&mut self, object: &IntelObject) -> Result<Added, EnrichError> {
        let source = SourceInfo::new(
            format!("stix:{}", object.provenance.source),
            object.modified.clone().unwrap_or_default(),
        );
        self.add_stix_object(&object.object, &source)
    }

    /// Adds the objects of a STIX document held in memory: a bundle, an array of objects or
    /// a single object. `name` names the source in errors and matches.
    pub fn add_stix_document(&mut self, name: &str, text: &str) -> Result<LoadReport, EnrichError> {
        let document: Value = serde_json::from_str(text).map_err(|e| EnrichError::Format {
            path: name.into(),
            what: "STIX document",
            reason: e.to_string(),
        })?;
        let version = document
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let objects: Vec<&Value> = match &document {
            Value::Object(map) => match map.get("objects") {
                Some(Value::Array(objects)) => objects.iter().collect(),
                Some(_) => {
                    return Err(EnrichError::Format {
                        path: name.into(),
                        what: "STIX bundle",
                        reason: "`objects` is not an array".into(),
                    });
                }
                None => vec![&document],
            },
            Value::Array(objects) => objects.iter().collect(),
            _ => {
                return Err(EnrichError::Format {
                    path: name.into(),
                    what: "STIX document",
                    reason: "neither a bundle, an object nor an array of objects".into(),
                });
            }
        };
        let source = SourceInfo::new(format!("stix:{name}"), version);
        let mut report = LoadReport::new(name);
        for (n, object) in objects.into_iter().enumerate() {
            let id = object.get("id").and_then(Value::as_str).unwrap_or("?");
            match self.add_stix_object(object, &source) {
                Ok(Added::Ignored) => report.ignored += 1,
                Ok(_) => report.loaded += 1,
                Err(err) => {
                    let reason = match err {
                        EnrichError::Pattern { source, .. } => source.to_string(),
                        EnrichError::InvalidObject { reason, .. } => reason,
                        other => other.to_string(),
                    };
                    report.error(format!("object {n} ({id})"), reason);
                }
            }
        }
        Ok(report)
    }

    /// Loads a STIX 2.1 bundle file (or a file holding one object or an array of them).
    pub fn load_stix_bundle(&mut self, path: impl AsRef<Path>) -> Result<LoadReport, EnrichError> {
        let path = path.as_ref();
        let text = read_file(path)?;
        self.add_stix_document(&path.display().to_string(), &text)
    }

    /// Adds the entries of an IOC list held in memory (CSV with a header, or one value per
    /// line). `name` names the source.
    pub fn add_ioc_list(&mut self, name: &str, text: &str) -> LoadReport {
        let list = ioc::parse(text);
        let mut report = LoadReport::new(name);
        for (line, reason) in list.errors {
            report.error(format!("line {line}"), reason);
        }
        let source = SourceInfo::new(format!("ioc:{name}"), list.version.unwrap_or_default());
        for entry in list.entries {
            let pattern = match Pattern::parse(&entry.kind.pattern()) {
                Ok(pattern) => pattern,
                Err(err) => {
                    report.error(format!("line {}", entry.line), err.to_string());
                    continue;
                }
            };
            let value = entry.kind.value();
            let title = match &entry.name {
                Some(feed_name) => format!("{feed_name} {value}"),
                None => value.clone(),
            };
            let decay = crate::indicator::decay_rule_for(&pattern);
            let indicator = Indicator {
                // The list's name (a file name, not a path): ids, and so alert ids, stay the
                // same wherever the list is kept.
                id: format!("ioc--{name}--{value}"),
                name: title,
                pattern,
                modified: None,
                valid_from: entry.first_seen,
                valid_until: None,
                confidence: entry.confidence,
                base_score: entry
                    .confidence
                    .map_or(crate::indicator::DEFAULT_BASE_SCORE, f64::from),
                revoked: false,
                marking_refs: Vec::new(),
                indicator_types: vec!["malicious-activity".into()],
                tactics: Vec::new(),
                source: source.clone(),
                decay,
                last_seen: entry.last_seen,
            };
            self.add_indicator(indicator);
            report.loaded += 1;
        }
        report
    }

    /// Loads an IOC list file.
    pub fn load_ioc_list(&mut self, path: impl AsRef<Path>) -> Result<LoadReport, EnrichError> {
        let path = path.as_ref();
        let text = read_file(path)?;
        let mut report = self.add_ioc_list(&file_name(path), &text);
        report.source = path.display().to_string();
        for error in &mut report.errors {
            error.source.clone_from(&report.source);
        }
        Ok(report)
    }

    /// Adds a MISP warninglist held in memory (its `list.json`).
    pub fn add_warninglist(&mut self, name: &str, text: &str) -> Result<LoadReport, EnrichError> {
        let file: WarninglistFile =
            serde_json::from_str(text).map_err(|e| EnrichError::Format {
                path: name.into(),
                what: "MISP warninglist",
                reason: e.to_string(),
            })?;
        let mut report = LoadReport::new(name);
        let (loaded, errors) =
            self.warninglists
                .add(file)
                .map_err(|reason| EnrichError::Format {
                    path: name.into(),
                    what: "MISP warninglist",
                    reason,
                })?;
        report.loaded = loaded;
        for (n, reason) in errors {
            report.error(format!("entry {n}"), reason);
        }
        Ok(report)
    }

    /// Loads a MISP warninglist file (`lists/<name>/list.json`).
    pub fn load_warninglist(&mut self, path: impl AsRef<Path>) -> Result<LoadReport, EnrichError> {
        let path = path.as_ref();
        let text = read_file(path)?;
        self.add_warninglist(&path.display().to_string(), &text)
    }

    /// Loads every MISP warninglist under a folder (each `list.json` beneath it, as in the
    /// `misp-warninglists` repository's `lists/`), in path order. A list that cannot be read
    /// is a report with one error; the others still load.
    pub fn load_warninglists(
        &mut self,
        dir: impl AsRef<Path>,
    ) -> Result<Vec<LoadReport>, EnrichError> {
        let mut files = Vec::new();
        let mut pending = vec![dir.as_ref().to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).map_err(|e| EnrichError::io(&dir, e))? {
                let path = entry.map_err(|e| EnrichError::io(&dir, e))?.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.file_name().is_some_and(|n| n == "list.json") {
                    files.push(path);
                }
            }
        }
        files.sort();
        Ok(files
            .iter()
            .map(|path| {
                self.load_warninglist(path).unwrap_or_else(|err| {
                    let mut report = LoadReport::new(path.display().to_string());
                    report.error("file", err.to_string());
                    report
                })
            })
            .collect())
    }
}
