//! Indicators: a pattern with its validity window, confidence, markings and source.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decay::DecayRule;
use crate::pattern::Pattern;
use crate::{EnrichError, SourceInfo};

/// The base score of an indicator that states neither `x_opencti_score` nor `confidence`
/// (`OpenCTI`'s default score).
pub const DEFAULT_BASE_SCORE: f64 = 50.0;

/// Traffic Light Protocol markings, most restrictive last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0's WHITE).
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT.
    AmberStrict,
    /// TLP:RED.
    Red,
}

impl Tlp {
    /// The standard marking-definition id of a TLP level, from the STIX 2.1 specification
    /// (TLP 1.0) and the OASIS TLP 2.0 extension.
    pub fn from_marking_id(id: &str) -> Option<Self> {
        Some(match id {
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
            | "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487" => Self::Clear,
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
            | "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb" => Self::Green,
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
            | "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421" => Self::Amber,
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003" => Self::AmberStrict,
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
            | "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1" => Self::Red,
            _ => return None,
        })
    }

    /// Reads a level's name: `white`, `TLP:AMBER+STRICT`, `red`, …
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.strip_prefix("tlp:").unwrap_or(&name) {
            "clear" | "white" => Self::Clear,
            "green" => Self::Green,
            "amber" => Self::Amber,
            "amber+strict" => Self::AmberStrict,
            "red" => Self::Red,
            _ => return None,
        })
    }

    /// The TLP level a `marking-definition` object defines, if it defines one (STIX 2.1
    /// `definition_type: tlp`, or the TLP 2.0 extension's `name`).
    pub fn from_marking_definition(object: &Value) -> Option<Self> {
        let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
        Self::from_marking_id(id)
            .or_else(|| {
                (object.get("definition_type").and_then(Value::as_str) == Some("tlp"))
                    .then(|| object.pointer("/definition/tlp").and_then(Value::as_str))
                    .flatten()
                    .and_then(Self::from_name)
            })
            .or_else(|| {
                object
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|name| name.to_ascii_uppercase().starts_with("TLP:"))
                    .and_then(Self::from_name)
            })
    }

    /// The level as written in the TLP standard.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "TLP:CLEAR",
            Self::Green => "TLP:GREEN",
            Self::Amber => "TLP:AMBER",
            Self::AmberStrict => "TLP:AMBER+STRICT",
            Self::Red => "TLP:RED",
        }
    }
}

/// Why an indicator does not count at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    /// Before its `valid_from`.
    NotYetValid,
    /// At or after its `valid_until`.
    Expired,
    /// Revoked by its producer.
    Revoked,
    /// Its decayed score fell to the revoke score.
    Decayed,
}

/// One indicator: what to look for, how far to trust it, and where it came from.
#[derive(Debug, Clone)]
pub struct Indicator {
    /// The STIX id, or `ioc--<source>--<value>` for IOC list entries.
    pub id: String,
    /// A short name for titles.
    pub name: String,
    /// The compiled pattern.
    pub pattern: Pattern,
    /// The STIX `modified` timestamp as written, when known.
    pub modified: Option<String>,
    /// Start of validity.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity (exclusive).
    pub valid_until: Option<DateTime<Utc>>,
    /// STIX `confidence`, 0–100.
    pub confidence: Option<u8>,
    /// The score decay starts from: `x_opencti_score`, else `confidence`, else
    /// [`DEFAULT_BASE_SCORE`].
    pub base_score: f64,
    /// Revoked by its producer.
    pub revoked: bool,
    /// `object_marking_refs`, resolved to a TLP level at match time.
    pub marking_refs: Vec<String>,
    /// STIX `indicator_types` (`malicious-activity`, `anomalous-activity`, …).
    pub indicator_types: Vec<String>,
    /// ATT&CK tactic shortnames from `kill_chain_phases` of the `mitre-attack` kill chain.
    pub tactics: Vec<String>,
    /// Where it came from.
    pub source: SourceInfo,
    /// How its score decays.
    pub decay: DecayRule,
    /// When it was last observed (a sighting, a feed's `last_online`); restarts the decay.
    pub last_seen: Option<DateTime<Utc>>,
}

fn timestamp(object: &Value, key: &str, id: &str) -> Result<Option<DateTime<Utc>>, EnrichError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            text.parse::<DateTime<Utc>>()
                .map(Some)
                .map_err(|_| EnrichError::InvalidObject {
                    id: id.to_owned(),
                    reason: format!("`{key}` is not an RFC 3339 timestamp: `{text}`"),
                })
        }
        Some(_) => Err(EnrichError::InvalidObject {
            id: id.to_owned(),
            reason: format!("`{key}` is not a string"),
        }),
    }
}

fn strings(object: &Value, key: &str) -> Vec<String> {
    object
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn confidence(object: &Value) -> Result<Option<u8>, String> {
    match object.get("confidence") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|c| *c <= 100)
            .and_then(|c| u8::try_from(c).ok())
            .map(Some)
            .ok_or_else(|| format!("`confidence` must be an integer 0–100, not `{value}`")),
    }
}

/// Tactic shortnames from the `kill_chain_phases` of a MITRE kill chain.
fn attack_tactics(object: &Value) -> Vec<String> {
    object
        .get("kill_chain_phases")
        .and_then(Value::as_array)
        .map(|phases| {
            phases
                .iter()
                .filter(|p| {
                    p.get("kill_chain_name")
                        .and_then(Value::as_str)
                        .is_some_and(|name| name.starts_with("mitre-"))
                })
                .filter_map(|p| p.get("phase_name").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl Indicator {
    /// Reads a STIX 2.1 `indicator` object.
    pub fn from_stix(object: &Value, source: &SourceInfo) -> Result<Self, EnrichError> {
        let id = object
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let invalid = |reason: String| EnrichError::InvalidObject {
            id: id.clone(),
            reason,
        };
        if object.get("type").and_then(Value::as_str) != Some("indicator") {
            return Err(invalid("not an `indicator` object".into()));
        }
        let pattern_type = object
            .get("pattern_type")
            .and_then(Value::as_str)
            .unwrap_or("stix");
        if pattern_type != "stix" {
            return Err(EnrichError::Pattern {
                id,
                source: crate::PatternError::Unsupported(format!(
                    "pattern_type `{pattern_type}` is not evaluated; only `stix` patterns are"
                )),
            });
        }
        let text = object
            .get("pattern")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no string `pattern`".into()))?;
        let pattern = Pattern::parse(text).map_err(|source| EnrichError::Pattern {
            id: id.clone(),
            source,
        })?;
        let confidence = confidence(object).map_err(invalid)?;
        let base_score = object
            .get("x_opencti_score")
            .and_then(Value::as_f64)
            .filter(|s| (0.0..=100.0).contains(s))
            .or_else(|| confidence.map(f64::from))
            .unwrap_or(DEFAULT_BASE_SCORE);
        let valid_from = timestamp(object, "valid_from", &id)?;
        let valid_until = timestamp(object, "valid_until", &id)?;
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until <= from
        {
            return Err(invalid(format!(
                "`valid_until` {until} is not after `valid_from` {from}"
            )));
        }
        let tactics = attack_tactics(object);
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| text.chars().take(120).collect(), str::to_owned);
        let decay = decay_rule_for(&pattern);
        let decay = match (valid_from, valid_until) {
            // An explicit validity window is the producer's lifetime: decay ends with it.
            (Some(from), Some(until)) => DecayRule {
                lifetime_days: (until - from).num_seconds() as f64 / 86_400.0,
                ..decay
            },
            _ => decay,
        };
        Ok(Self {
            name,
            pattern,
            modified: object
                .get("modified")
                .and_then(Value::as_str)
                .map(str::to_owned),
            valid_from,
            valid_until,
            confidence,
            base_score,
            revoked: object
                .get("revoked")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            marking_refs: strings(object, "object_marking_refs"),
            indicator_types: strings(object, "indicator_types"),
            tactics,
            source: source.clone(),
            decay,
            last_seen: None,
            id,
        })
    }

    /// When the decay curve starts: the later of `valid_from` and the last observation.
    pub fn decay_start(&self) -> Option<DateTime<Utc>> {
        match (self.valid_from, self.last_seen) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The decayed score at `now`.
    pub fn score_at(&self, now: DateTime<Utc>) -> f64 {
        let days = self
            .decay_start()
            .map_or(0.0, |start| (now - start).num_seconds() as f64 / 86_400.0);
        self.decay.score(self.base_score, days)
    }

    /// Whether the indicator counts at `now`, and if not, why.
    pub fn status_at(&self, now: DateTime<Utc>) -> Result<f64, Inactive> {
        if self.revoked {
            return Err(Inactive::Revoked);
        }
        if self.valid_from.is_some_and(|from| now < from) {
            return Err(Inactive::NotYetValid);
        }
        if self.valid_until.is_some_and(|until| now >= until) {
            return Err(Inactive::Expired);
        }
        let score = self.score_at(now);
        if self.decay.revokes(score) {
            return Err(Inactive::Decayed);
        }
        Ok(score)
    }
}

/// `OpenCTI`'s built-in rules by main observable: IPs 60 days, URLs 180, the rest 365.
pub(crate) fn decay_rule_for(pattern: &Pattern) -> DecayRule {
    let text = pattern.as_str();
    let names_ip = text.contains("ipv4-addr:") || text.contains("ipv6-addr:");
    let names_url = text.contains("url:");
    let names_other = [
        "domain-name:",
        "file:",
        "email-addr:",
        "process:",
        "network-traffic:",
    ]
    .iter()
    .any(|t| text.contains(t));
    if names_ip && !names_url && !names_other {
        DecayRule::IP
    } else if names_url && !names_ip && !names_other {
        DecayRule::URL
    } else {
        DecayRule::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tlp_levels_resolve_from_standard_ids_and_definitions() {
        let id = |uuid: &str| format!("marking-definition--{uuid}");
        assert_eq!(
            Tlp::from_marking_id(&id("613f2e26-407d-48c7-9eca-b8e91df99dc9")),
            Some(Tlp::Clear)
        );
        assert_eq!(
            Tlp::from_marking_id(&id("bab4a63c-aed9-4cf5-a766-dfca5abac2bb")),
            Some(Tlp::Green)
        );
        assert_eq!(
            Tlp::from_marking_id(&id("939a9414-2ddd-4d32-a0cd-375ea402b003")),
            Some(Tlp::AmberStrict)
        );
        assert_eq!(
            Tlp::from_marking_id(&id("e828b379-4e03-4974-9ac4-e53a884c97c1")),
            Some(Tlp::Red)
        );
        assert_eq!(
            Tlp::from_marking_id(&id("00000000-0000-0000-0000-000000000000")),
            None
        );
        let v1 = json!({"type": "marking-definition", "id": "marking-definition--x", "definition_type": "tlp", "definition": {"tlp": "amber"}});
        assert_eq!(Tlp::from_marking_definition(&v1), Some(Tlp::Amber));
        let v2 = json!({"type": "marking-definition", "id": "marking-definition--y", "name": "TLP:AMBER+STRICT"});
        assert_eq!(Tlp::from_marking_definition(&v2), Some(Tlp::AmberStrict));
        let statement = json!({"type": "marking-definition", "id": "marking-definition--z", "definition_type": "statement", "definition": {"statement": "Copyright"}});
        assert_eq!(Tlp::from_marking_definition(&statement), None);
        assert!(Tlp::Red > Tlp::AmberStrict && Tlp::AmberStrict > Tlp::Amber);
        assert_eq!(Tlp::Clear.as_str(), "TLP:CLEAR");
    }

    #[test]
    fn base_score_prefers_opencti_score_then_confidence() {
        let object = |extra: serde_json::Value| {
            let mut o = json!({"type": "indicator", "id": "indicator--1", "pattern": "[url:value = 'http://x/']", "pattern_type": "stix"});
            o.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            Indicator::from_stix(&o, &SourceInfo::default()).unwrap()
        };
        assert!((object(json!({})).base_score - DEFAULT_BASE_SCORE).abs() < f64::EPSILON);
        assert!((object(json!({"confidence": 15})).base_score - 15.0).abs() < f64::EPSILON);
        assert!(
            (object(json!({"confidence": 15, "x_opencti_score": 90})).base_score - 90.0).abs()
                < f64::EPSILON
        );
        assert_eq!(object(json!({})).decay, DecayRule::URL);
        let windowed = object(
            json!({"valid_from": "2024-01-01T00:00:00Z", "valid_until": "2024-01-11T00:00:00Z"}),
        );
        assert!((windowed.decay.lifetime_days - 10.0).abs() < 1e-9);
        let bad = json!({"type": "indicator", "id": "indicator--2", "pattern": "[url:value = 'http://x/']",
            "valid_from": "2024-01-02T00:00:00Z", "valid_until": "2024-01-01T00:00:00Z"});
        assert!(
            Indicator::from_stix(&bad, &SourceInfo::default())
                .unwrap_err()
                .to_string()
                .contains("not after")
        );
    }
}
