//! Validation of LLM answers against the evidence they were given.
//!
//! Invariant 4 ("LLM output is never shown or acted on unless every claim in it is grounded
//! in the evidence") is enforced by a proof type: [`Grounded`] has private fields and only
//! [`OutputValidator::validate`] creates one. An answer must be JSON of the form
//!
//! ```json
//! {"summary": "optional text",
//!  "claims": [{"text": "WS-0231 ran an encoded PowerShell command", "evidence": ["alert-17"]}]}
//! ```
//!
//! and is accepted only if:
//! - it parses, fits the length limits and has exactly that shape (unknown keys rejected);
//! - every claim cites at least one evidence id, and every id exists;
//! - every entity of a claim (IP, domain or file name, URL, hash, e-mail, user or host
//!   identifier, alert id, technique id, number, pseudonym token) occurs in the evidence the
//!   claim cites; the summary's entities occur somewhere in the evidence;
//! - every command (code span, or a shell tool followed by flags) occurs in the evidence;
//! - no instruction-like text appears that is not in the evidence (override phrases, role
//!   markers, markdown exfiltration, tool calls, lures), and no active markup;
//! - no canary token leaks, in clear or encoded.
//!
//! Otherwise it returns every [`Violation`] found, so the narrator can fall back to its
//! deterministic renderer and the audit log can record why.

mod entities;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

pub use entities::{Entity, EntityKind, extract, extract_with_spans};

use crate::decode::decode_segments;
use crate::normalize::normalize;
use crate::prompt::Canary;
use crate::signals::{self, Signal};

/// Size limits for answers and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest answer accepted, in bytes.
    pub max_answer_bytes: usize,
    /// Most claims per answer.
    pub max_claims: usize,
    /// Longest claim or summary text, in bytes.
    pub max_text_bytes: usize,
    /// Most evidence ids a claim may cite.
    pub max_citations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_answer_bytes: 32 * 1024,
            max_claims: 50,
            max_text_bytes: 2000,
            max_citations: 20,
        }
    }
}

/// Most evidence items and longest item text accepted by [`Evidence::add`].
pub const MAX_EVIDENCE_ITEMS: usize = 10_000;
/// Longest evidence item text, in bytes.
pub const MAX_EVIDENCE_TEXT: usize = 256 * 1024;

#[derive(Debug, Clone)]
struct Item {
    normalized: String,
    entities: BTreeSet<Entity>,
}

/// The evidence given to the model: items with ids, as they appeared in the prompt (after
/// minimisation, so pseudonym tokens match).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    items: BTreeMap<String, Item>,
}

impl Evidence {
    /// Empty evidence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds item `id` with `text`. Returns false (and adds nothing) past the limits.
    pub fn add(&mut self, id: impl Into<String>, text: &str) -> bool {
        let id = id.into();
        if self.items.len() >= MAX_EVIDENCE_ITEMS
            || text.len() > MAX_EVIDENCE_TEXT
            || id.is_empty()
            || id.len() > 256
        {
            return false;
        }
        let mut entities = extract(text);
        // The id itself is a fact the answer may mention.
        entities.extend(extract(&id));
        let item = self.items.entry(id).or_insert_with(|| Item {
            normalized: String::new(),
            entities: BTreeSet::new(),
        });
        item.normalized.push_str(normalize(text).as_str());
        item.normalized.push(' ');
        item.entities.extend(entities);
        true
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no evidence.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Why an answer was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "violation", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Violation {
    /// The answer is not valid JSON.
    MalformedJson {
        /// The parser's message.
        detail: String,
    },
    /// A size limit was exceeded.
    TooLong {
        /// What was too long.
        what: String,
        /// The limit.
        limit: usize,
        /// The actual size.
        actual: usize,
    },
    /// The JSON does not have the required shape.
    Schema {
        /// Where (`claims[2].evidence`).
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A claim cites an id that is not in the evidence.
    UnknownEvidence {
        /// Where.
        path: String,
        /// The id.
        id: String,
    },
    /// An entity does not occur in the (cited) evidence.
    Ungrounded {
        /// Where.
        path: String,
        /// Its kind.
        kind: EntityKind,
        /// Its canonical value.
        value: String,
    },
    /// A command does not occur in the evidence.
    Command {
        /// Where.
        path: String,
        /// The command text.
        command: String,
    },
    /// Instruction-like text that is not in the evidence.
    Instruction {
        /// Where.
        path: String,
        /// The signal that matched.
        signal: Signal,
        /// The matched text.
        text: String,
    },
    /// Active markup (HTML, script, markdown image).
    Markup {
        /// Where.
        path: String,
        /// The markup.
        text: String,
    },
    /// A canary token appeared in the answer.
    CanaryLeak {
        /// Where.
        path: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedJson { detail } => write!(f, "answer is not valid JSON: {detail}"),
            Self::TooLong {
                what,
                limit,
                actual,
            } => {
                write!(f, "{what} is {actual}, over the limit of {limit}")
            }
            Self::Schema { path, detail } => write!(f, "`{path}`: {detail}"),
            Self::UnknownEvidence { path, id } => {
                write!(f, "`{path}` cites `{id}`, which is not in the evidence")
            }
            Self::Ungrounded { path, kind, value } => {
                write!(
                    f,
                    "`{path}` mentions {kind} `{value}`, which its evidence does not contain"
                )
            }
            Self::Command { path, command } => {
                write!(
                    f,
                    "`{path}` contains command `{command}`, which is not in the evidence"
                )
            }
            Self::Instruction { path, signal, text } => {
                write!(
                    f,
                    "`{path}` contains {signal} text `{text}` absent from the evidence"
                )
            }
            Self::Markup { path, text } => write!(f, "`{path}` contains active markup `{text}`"),
            Self::CanaryLeak { path } => write!(f, "`{path}` leaks the canary token"),
        }
    }
}

/// One accepted claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The claim text.
    pub text: String,
    /// The evidence ids it cites.
    pub evidence: Vec<String>,
}

/// An answer whose every claim is grounded. Only [`OutputValidator::validate`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grounded {
    summary: Option<String>,
    claims: Vec<Claim>,
}

impl Grounded {
    /// The summary, if the answer had one.
    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    /// The claims.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }
}

/// Checks LLM answers (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct OutputValidator {
    limits: Limits,
    canaries: Vec<Canary>,
}

impl OutputValidator {
    /// A validator with default limits and no canary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same validator with other limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same validator, also watching for `canary`.
    #[must_use]
    pub fn with_canary(mut self, canary: Canary) -> Self {
        self.canaries.push(canary);
        self
    }

    /// Accepts `answer` as [`Grounded`] or returns every violation found.
    pub fn validate(&self, answer: &str, evidence: &Evidence) -> Result<Grounded, Vec<Violation>> {
        let mut v = Vec::new();
        if answer.len() > self.limits.max_answer_bytes {
            return Err(vec![Violation::TooLong {
                what: "answer (bytes)".to_owned(),
                limit: self.limits.max_answer_bytes,
                actual: answer.len(),
            }]);
        }
        self.check_canaries("answer", answer, &mut v);
        let json: Value = match serde_json::from_str(answer) {
            Ok(j) => j,
            Err(e) => {
                v.push(Violation::MalformedJson {
                    detail: e.to_string(),
                });
                return Err(v);
            }
        };
        let (summary, claims) = self.parse_shape(&json, evidence, &mut v);
        if let Some(s) = &summary {
            let all: Vec<&Item> = evidence.items.values().collect();
            self.check_text("summary", s, &all, &mut v);
        }
        for (i, c) in claims.iter().enumerate() {
            let path = format!("claims[{i}].text");
            let cited: Vec<&Item> = c
                .evidence
                .iter()
                .filter_map(|id| evidence.items.get(id))
                .collect();
            self.check_text(&path, &c.text, &cited, &mut v);
        }
        if v.is_empty() {
            Ok(Grounded { summary, claims })
        } else {
            Err(v)
        }
    }

    fn parse_shape(
        &self,
        json: &Value,
        evidence: &Evidence,
        v: &mut Vec<Violation>,
    ) -> (Option<String>, Vec<Claim>) {
        let schema = |path: &str, detail: &str| Violation::Schema {
            path: path.to_owned(),
            detail: detail.to_owned(),
        };
        let Some(obj) = json.as_object() else {
            v.push(schema("$", "the answer must be a JSON object"));
            return (None, Vec::new());
        };
        for key in obj.keys() {
            if key != "summary" && key != "claims" {
                v.push(schema(
                    &format!("$.{}", clip(key)),
                    "unknown key; only `summary` and `claims` are allowed",
                ));
            }
        }
        let summary = match obj.get("summary") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                self.check_len("summary", s, v);
                Some(s.clone())
            }
            Some(_) => {
                v.push(schema("summary", "must be a string"));
                None
            }
        };
        let mut claims = Vec::new();
        let Some(list) = obj.get("claims").and_then(Value::as_array) else {
            v.push(schema("claims", "required array of claims is missing"));
            return (summary, claims);
        };
        if list.is_empty() {
            v.push(schema("claims", "must hold at least one claim"));
        }
        if list.len() > self.limits.max_claims {
            v.push(Violation::TooLong {
                what: "claims".to_owned(),
                limit: self.limits.max_claims,
                actual: list.len(),
            });
            return (summary, claims);
        }
        for (i, item) in list.iter().enumerate() {
            if let Some(claim) = self.parse_claim(i, item, evidence, v) {
                claims.push(claim);
            }
        }
        (summary, claims)
    }

    fn parse_claim(
        &self,
        i: usize,
        item: &Value,
        evidence: &Evidence,
        v: &mut Vec<Violation>,
    ) -> Option<Claim> {
        let schema = |path: &str, detail: &str| Violation::Schema {
            path: path.to_owned(),
            detail: detail.to_owned(),
        };
        let path = format!("claims[{i}]");
        let Some(c) = item.as_object() else {
            v.push(schema(&path, "must be an object"));
            return None;
        };
        for key in c.keys() {
            if key != "text" && key != "evidence" {
                v.push(schema(&format!("{path}.{}", clip(key)), "unknown key"));
            }
        }
        let Some(text) = c.get("text").and_then(Value::as_str) else {
            v.push(schema(
                &format!("{path}.text"),
                "required string is missing",
            ));
            return None;
        };
        self.check_len(&format!("{path}.text"), text, v);
        let Some(ids) = c.get("evidence").and_then(Value::as_array) else {
            v.push(schema(
                &format!("{path}.evidence"),
                "required array of evidence ids is missing",
            ));
            return None;
        };
        let ids: Vec<String> = ids
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        if ids.is_empty() {
            v.push(schema(
                &format!("{path}.evidence"),
                "a claim must cite at least one evidence id",
            ));
        }
        if ids.len() > self.limits.max_citations {
            v.push(Violation::TooLong {
                what: format!("{path}.evidence"),
                limit: self.limits.max_citations,
                actual: ids.len(),
            });
        }
        for id in &ids {
            if !evidence.items.contains_key(id) {
                v.push(Violation::UnknownEvidence {
                    path: format!("{path}.evidence"),
                    id: clip(id),
                });
            }
        }
        Some(Claim {
            text: text.to_owned(),
            evidence: ids,
        })
    }

    fn check_len(&self, path: &str, text: &str, v: &mut Vec<Violation>) {
        if text.len() > self.limits.max_text_bytes {
            v.push(Violation::TooLong {
                what: format!("{path} (bytes)"),
                limit: self.limits.max_text_bytes,
                actual: text.len(),
            });
        }
    }

    fn check_text(&self, path: &str, text: &str, cited: &[&Item], v: &mut Vec<Violation>) {
        let in_evidence = |needle: &str| cited.iter().any(|i| i.normalized.contains(needle));
        // Entities.
        let mut reported = BTreeSet::new();
        for (e, _) in extract_with_spans(text) {
            let grounded = cited.iter().any(|i| i.entities.contains(&e));
            if !grounded && reported.insert(e.clone()) {
                v.push(Violation::Ungrounded {
                    path: path.to_owned(),
                    kind: e.kind,
                    value: clip(&e.value),
                });
            }
        }
        // Commands.
        for cmd in commands(text) {
            let norm = normalize(&cmd);
            if !norm.as_str().is_empty() && !in_evidence(norm.as_str()) {
                v.push(Violation::Command {
                    path: path.to_owned(),
                    command: clip(&cmd),
                });
            }
        }
        // Instructions and markup.
        let norm = normalize(text);
        for hit in signals::detect(norm.as_str()) {
            let matched = norm.as_str().get(hit.span.clone()).unwrap_or_default();
            if matches!(hit.signal, Signal::AddressedToModel) || in_evidence(matched) {
                continue;
            }
            v.push(Violation::Instruction {
                path: path.to_owned(),
                signal: hit.signal,
                text: clip(matched),
            });
        }
        if let Some(re) = markup_regex() {
            for m in re.find_iter(text) {
                v.push(Violation::Markup {
                    path: path.to_owned(),
                    text: clip(m.as_str()),
                });
            }
        }
        self.check_canaries(path, text, v);
    }

    fn check_canaries(&self, path: &str, text: &str, v: &mut Vec<Violation>) {
        if self.canaries.is_empty() {
            return;
        }
        let squash = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let mut haystacks = vec![squash(text)];
        haystacks.extend(decode_segments(text).iter().map(|d| squash(&d.text)));
        for c in &self.canaries {
            let needle = squash(c.token());
            // The random part alone is enough: a model may drop the prefix.
            let random = needle.trim_start_matches("canary");
            if haystacks.iter().any(|h| h.contains(random)) {
                v.push(Violation::CanaryLeak {
                    path: path.to_owned(),
                });
                return;
            }
        }
    }
}

fn markup_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)<\s*(?:script|img|iframe|object|embed|svg|a\s+href|form|meta|link|style)\b[^>]{0,200}>?|!\[[^\]]{0,200}\]\([^)]{0,500}\)|javascript:")
            .ok()
    })
    .as_ref()
}

fn command_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)`([^`\n]{1,500})`|\b(?:powershell|pwsh|cmd|bash|sh|zsh|curl|wget|certutil|bitsadmin|rundll32|regsvr32|mshta|schtasks|wmic|net|reg|sc|ssh|scp|nc|ncat|python3?|perl|rm|chmod|chown|iptables|netsh|vssadmin|bcdedit|taskkill|sudo)(?:\.exe)?(?:\s+(?:-{1,2}|/)[A-Za-z][^\s,;]*(?:\s+[^\s,;.-][^\s,;]*)?)+")
            .ok()
    })
    .as_ref()
}

/// Command-like spans of `text`: code spans, and shell tools followed by flags.
fn commands(text: &str) -> Vec<String> {
    let Some(re) = command_regex() else {
        return Vec::new();
    };
    re.captures_iter(text)
        .take(100)
        .filter_map(|c| c.get(1).or_else(|| c.get(0)))
        .map(|m| m.as_str().trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn clip(s: &str) -> String {
    let mut end = s.len().min(120);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}
