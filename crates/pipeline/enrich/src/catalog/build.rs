//! Building a catalogue from MITRE's own data: ATT&CK's STIX bundle (or the compact lookup
//! files extracted from it) and ATLAS's `ATLAS.yaml` (read by the caller into a JSON value).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;

use serde_json::Value;

use super::{Catalog, Framework, Tactic, Technique, slug};
use crate::{EnrichError, SourceInfo};

/// Knowledge-base files larger than this are refused (the full ATT&CK bundle is ~45 MB).
const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Kill-chain positions step by this, leaving room for ATLAS-only tactics in between.
const ORDER_STEP: u16 = 10;

fn read_json(path: &Path) -> Result<Value, EnrichError> {
    let file = std::fs::File::open(path).map_err(|e| EnrichError::io(path, e))?;
    let mut bytes = Vec::new();
    let gz = path.extension().is_some_and(|e| e == "gz");
    let result = if gz {
        flate2::read::GzDecoder::new(file)
            .take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        file.take(MAX_BYTES + 1).read_to_end(&mut bytes)
    };
    result.map_err(|e| EnrichError::io(path, e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(EnrichError::Format {
            path: path.to_owned(),
            what: "ATT&CK data file",
            reason: format!("larger than the cap of {MAX_BYTES} bytes"),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| EnrichError::Format {
        path: path.to_owned(),
        what: "JSON document",
        reason: e.to_string(),
    })
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn attack_id(object: &Value) -> Option<&str> {
    object
        .get("external_references")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| text(r, "source_name") == "mitre-attack")
        .and_then(|r| r.get("external_id").and_then(Value::as_str))
}

/// ATT&CK data in one shape, whichever file layout it came from.
#[derive(Default)]
struct AttackData {
    version: String,
    /// (stix id, external id, shortname, name), in any order.
    tactics: Vec<(String, String, String, String)>,
    /// Tactic STIX ids in matrix (kill-chain) order.
    matrix: Vec<String>,
    /// (stix id, external id, name, tactic shortnames, deprecated, revoked).
    techniques: Vec<(String, String, String, Vec<String>, bool, bool)>,
    /// revoked STIX id → replacement STIX id.
    revoked_by: HashMap<String, String>,
}

fn from_bundle(bundle: &Value) -> AttackData {
    let mut data = AttackData::default();
    let objects = bundle
        .get("objects")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for object in objects {
        let id = text(object, "id").to_owned();
        match text(object, "type") {
            "x-mitre-collection" => text(object, "x_mitre_version").clone_into(&mut data.version),
            "x-mitre-matrix" if data.matrix.is_empty() => {
                data.matrix = object
                    .get("tactic_refs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
            }
            "x-mitre-tactic" => {
                if let Some(external) = attack_id(object) {
                    data.tactics.push((
                        id,
                        external.to_owned(),
                        text(object, "x_mitre_shortname").to_owned(),
                        text(object, "name").to_owned(),
                    ));
                }
            }
            "attack-pattern" => {
                if let Some(external) = attack_id(object) {
                    let tactics = object
                        .get("kill_chain_phases")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter(|p| text(p, "kill_chain_name") == "mitre-attack")
                        .map(|p| text(p, "phase_name").to_owned())
                        .collect();
                    data.techniques.push((
                        id,
                        external.to_owned(),
                        text(object, "name").to_owned(),
                        tactics,
                        flag(object, "x_mitre_deprecated"),
                        flag(object, "revoked"),
                    ));
                }
            }
            "relationship" if text(object, "relationship_type") == "revoked-by" => {
                data.revoked_by.insert(
                    text(object, "source_ref").to_owned(),
                    text(object, "target_ref").to_owned(),
                );
            }
            _ => {}
        }
    }
    data
}

/// The lookup layout: `attack-patterns-lookup-*.json`, `infrastructure-lookup-*.json` and
/// `relationships-lookup-*.json[.gz]` in one folder.
fn from_lookup_dir(dir: &Path) -> Result<AttackData, EnrichError> {
    let find = |prefix: &str| -> Result<std::path::PathBuf, EnrichError> {
        let entries = std::fs::read_dir(dir).map_err(|e| EnrichError::io(dir, e))?;
        let mut names: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
            .collect();
        names.sort();
        names.pop().ok_or_else(|| EnrichError::Format {
            path: dir.to_owned(),
            what: "ATT&CK lookup folder",
            reason: format!("no `{prefix}*` file"),
        })
    };
    let patterns = read_json(&find("attack-patterns-lookup")?)?;
    let infrastructure = read_json(&find("infrastructure-lookup")?)?;
    let relationships = read_json(&find("relationships-lookup")?)?;
    let list = |value: &Value, key: &str| {
        value
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut data = AttackData {
        version: list(&infrastructure, "collections")
            .first()
            .map(|c| text(c, "version").to_owned())
            .unwrap_or_default(),
        ..AttackData::default()
    };
    data.matrix = list(&infrastructure, "matrices")
        .first()
        .and_then(|m| m.get("tactic_refs").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    for t in list(&infrastructure, "tactics") {
        data.tactics.push((
            text(&t, "stix_id").to_owned(),
            text(&t, "external_id").to_owned(),
            text(&t, "shortname").to_owned(),
            text(&t, "name").to_owned(),
        ));
    }
    for p in list(&patterns, "attack_patterns") {
        let tactics = p
            .get("tactics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        data.techniques.push((
            text(&p, "stix_id").to_owned(),
            text(&p, "external_id").to_owned(),
            text(&p, "name").to_owned(),
            tactics,
            flag(&p, "deprecated"),
            flag(&p, "revoked"),
        ));
    }
    for r in list(&relationships, "relationships") {
        if text(&r, "relationship_type") == "revoked-by" {
            data.revoked_by.insert(
                text(&r, "source_ref").to_owned(),
                text(&r, "target_ref").to_owned(),
            );
        }
    }
    Ok(data)
}

impl Catalog {
    /// Builds a catalogue of ATT&CK Enterprise from MITRE's STIX bundle
    /// (`enterprise-attack-*.json`, optionally `.gz`), or from a folder of the compact lookup
    /// files extracted from it.
    pub fn from_attack_bundle(path: impl AsRef<Path>) -> Result<Self, EnrichError> {
        let path = path.as_ref();
        let data = if path.is_dir() {
            from_lookup_dir(path)?
        } else {
            from_bundle(&read_json(path)?)
        };
        if data.tactics.is_empty() || data.techniques.is_empty() {
            return Err(EnrichError::Format {
                path: path.to_owned(),
                what: "ATT&CK bundle",
                reason: "no tactics or no techniques found".into(),
            });
        }
        Ok(Self::from_attack_data(data))
    }

    fn from_attack_data(data: AttackData) -> Self {
        let mut catalog = Self::default();
        let source = SourceInfo::new(Framework::AttackEnterprise.as_str(), data.version);
        catalog.insert_source(source.clone());
        let position = |stix_id: &str| data.matrix.iter().position(|m| m == stix_id);
        let mut tactics = data.tactics.clone();
        tactics.sort_by_key(|t| (position(&t.0).unwrap_or(usize::MAX), t.1.clone()));
        let mut by_shortname = HashMap::new();
        for (i, (_, id, shortname, name)) in tactics.into_iter().enumerate() {
            let order = u16::try_from(i + 1)
                .unwrap_or(u16::MAX / ORDER_STEP)
                .saturating_mul(ORDER_STEP);
            let tactic = Tactic {
                id,
                shortname: shortname.clone(),
                name,
                order,
                framework: Framework::AttackEnterprise,
            };
            by_shortname.insert(shortname, tactic.clone());
            catalog.insert_tactic(tactic);
        }
        let external: HashMap<&str, &str> = data
            .techniques
            .iter()
            .map(|t| (t.0.as_str(), t.1.as_str()))
            .collect();
        for (stix_id, id, name, shortnames, deprecated, revoked) in &data.techniques {
            let mut tactics: Vec<Tactic> = shortnames
                .iter()
                .filter_map(|s| by_shortname.get(s).cloned())
                .collect();
            tactics.sort_by_key(|t| t.order);
            let revoked_by = data
                .revoked_by
                .get(stix_id)
                .and_then(|target| external.get(target.as_str()))
                .map(|id| (*id).to_owned());
            catalog.techniques.insert(
                id.clone(),
                Technique {
                    id: id.clone(),
                    name: name.clone(),
                    tactics,
                    deprecated: *deprecated,
                    revoked: *revoked,
                    revoked_by,
                    source: source.clone(),
                },
            );
        }
        catalog
    }

    /// Adds ATLAS from its `ATLAS.yaml` read into a JSON value (`id`, `version`, `matrices`
    /// with `tactics` and `techniques`). ATLAS tactics take the kill-chain position of the
    /// ATT&CK tactic they reference; sub-techniques take their parent's tactics.
    pub fn add_atlas(&mut self, atlas: &Value) -> Result<(), EnrichError> {
        let invalid = |reason: &str| EnrichError::Format {
            path: "ATLAS.yaml".into(),
            what: "ATLAS data file",
            reason: reason.to_owned(),
        };
        let matrix = atlas
            .get("matrices")
            .and_then(Value::as_array)
            .and_then(|m| m.first())
            .ok_or_else(|| invalid("no `matrices`"))?;
        let version = match atlas.get("version") {
            Some(Value::String(v)) => v.clone(),
            Some(other) if !other.is_null() => other.to_string(),
            _ => String::new(),
        };
        let source = SourceInfo::new(Framework::Atlas.as_str(), version);
        self.insert_source(source.clone());
        let mut previous = 0u16;
        let mut atlas_tactics: HashMap<String, Tactic> = HashMap::new();
        for t in matrix
            .get("tactics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = text(t, "id").to_owned();
            if id.is_empty() {
                return Err(invalid("a tactic without an `id`"));
            }
            let referenced = t
                .pointer("/ATT&CK-reference/id")
                .and_then(Value::as_str)
                .and_then(|r| self.tactic(r))
                .filter(|r| r.framework == Framework::AttackEnterprise)
                .map(|r| r.order);
            let order = referenced.unwrap_or(previous + ORDER_STEP / 2);
            previous = order;
            let name = text(t, "name").to_owned();
            let tactic = Tactic {
                id: id.clone(),
                shortname: slug(&name),
                name,
                order,
                framework: Framework::Atlas,
            };
            atlas_tactics.insert(id, tactic.clone());
            self.insert_tactic(tactic);
        }
        let techniques: Vec<&Value> = matrix
            .get("techniques")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let own_tactics = |t: &Value| -> Vec<Tactic> {
            let mut tactics: Vec<Tactic> = t
                .get("tactics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|id| atlas_tactics.get(id).cloned())
                .collect();
            tactics.sort_by_key(|t| t.order);
            tactics
        };
        let parents: HashMap<&str, Vec<Tactic>> = techniques
            .iter()
            .map(|t| (text(t, "id"), own_tactics(t)))
            .collect();
        for t in &techniques {
            let id = text(t, "id").to_owned();
            if id.is_empty() {
                return Err(invalid("a technique without an `id`"));
            }
            let tactics = match t.get("subtechnique-of").and_then(Value::as_str) {
                Some(parent) => parents.get(parent).cloned().unwrap_or_default(),
                None => own_tactics(t),
            };
            let deprecated = text(t, "maturity") == "deprecated" || flag(t, "deprecated");
            self.techniques.insert(
                id.clone(),
                Technique {
                    id,
                    name: text(t, "name").to_owned(),
                    tactics,
                    deprecated,
                    revoked: false,
                    revoked_by: None,
                    source: source.clone(),
                },
            );
        }
        Ok(())
    }
}
