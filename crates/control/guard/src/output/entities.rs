//! Checkable facts in text: addresses, names, hashes, identifiers, numbers, commands.
//!
//! The same extractor runs over the evidence and over an LLM answer, so grounding is a set
//! comparison: every entity of the answer must be among the entities of the evidence it
//! cites. Entities are matched in priority order (a URL before the domain and numbers inside
//! it), and a matched span is masked before the next kind is looked for.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use regex::Regex;

/// Most entities extracted from one text.
pub const MAX_ENTITIES: usize = 10_000;

/// A kind of checkable fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntityKind {
    /// An absolute URL (also defanged `hxxp://`).
    Url,
    /// An e-mail address.
    Email,
    /// A pseudonym token `[kind:hex]` or redaction marker.
    Pseudonym,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An MD5, SHA-1 or SHA-256 digest.
    Hash,
    /// An ATT&CK or ATLAS technique or tactic id (`T1059.001`, `TA0001`, `AML.T0051`).
    Technique,
    /// A dotted name: domain, host or file name.
    Name,
    /// An identifier mixing letters and digits, or with `\` or `_` (hosts, users, alert ids).
    Identifier,
    /// A number.
    Number,
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Url => "url",
            Self::Email => "email",
            Self::Pseudonym => "pseudonym",
            Self::Ip => "ip",
            Self::Hash => "hash",
            Self::Technique => "technique",
            Self::Name => "name",
            Self::Identifier => "identifier",
            Self::Number => "number",
        })
    }
}

/// An entity in canonical form (lowercase; IPs as parsed; numbers without separators).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Entity {
    /// Its kind.
    pub kind: EntityKind,
    /// Its canonical value.
    pub value: String,
}

/// Technical terms that look like identifiers but name no entity (algorithms, encodings,
/// architectures); prose may use them without evidence.
pub const COMMON_TERMS: [&str; 24] = [
    "sha1", "sha-1", "sha256", "sha-256", "sha512", "sha-512", "md5", "base64", "utf-8", "utf8",
    "utf-16", "x86", "x64", "x86_64", "win32", "win64", "ipv4", "ipv6", "64-bit", "32-bit",
    "aes-256", "rc4", "http2", "2fa",
];

fn patterns() -> &'static [(EntityKind, Regex)] {
    static P: OnceLock<Vec<(EntityKind, Regex)>> = OnceLock::new();
    P.get_or_init(|| {
        [
            (EntityKind::Url, r#"(?i)\b(?:https?|hxxps?|ftp)(?::|\[:\])//(?:[^\s<>"'`)\[\]]|\[\.\])+"#),
            (EntityKind::Pseudonym, r"\[(?:[a-z][a-z-]{0,20}:[0-9a-f]{12,32}|redacted:[a-z-]{1,20})\]"),
            (
                EntityKind::Email,
                r"(?i)\b[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,24}\b",
            ),
            (EntityKind::Hash, r"(?i)\b(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})\b"),
            (
                EntityKind::Ip,
                r"(?i)\b(?:\d{1,3}(?:\.|\[\.\])){3}\d{1,3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b",
            ),
            (EntityKind::Technique, r"\b(?:AML\.)?TA?\d{4}(?:\.\d{3})?\b"),
            (
                EntityKind::Name,
                r"(?i)\b[a-z0-9](?:[a-z0-9_-]{0,62})(?:(?:\.|\[\.\])[a-z0-9_-]{1,63})*(?:\.|\[\.\])[a-z][a-z0-9]{1,23}\b",
            ),
            (EntityKind::Identifier, r"[A-Za-z0-9$][A-Za-z0-9_\\$-]*[A-Za-z0-9$]|[A-Za-z0-9]"),
            (EntityKind::Number, r"\d+(?:[.,]\d+)*"),
        ]
        .into_iter()
        .filter_map(|(k, p)| Regex::new(p).ok().map(|r| (k, r)))
        .collect()
    })
}

/// Number of compiled patterns (a test checks that none failed).
#[cfg(test)]
pub fn pattern_count() -> usize {
    patterns().len()
}

fn canonical(kind: EntityKind, raw: &str) -> Option<String> {
    let defanged = raw.replace("[.]", ".").replace("[:]", ":");
    match kind {
        EntityKind::Ip => defanged.parse::<IpAddr>().ok().map(|ip| ip.to_string()),
        EntityKind::Url => Some(
            defanged
                .to_ascii_lowercase()
                .replacen("hxxp", "http", 1)
                .trim_end_matches(['.', ',', ';', ':'])
                .to_owned(),
        ),
        EntityKind::Name => {
            let v = defanged.to_ascii_lowercase();
            // Version-like and decimal strings are numbers, not names.
            (!v.split('.').all(|p| p.chars().all(|c| c.is_ascii_digit()))).then_some(v)
        }
        EntityKind::Identifier => {
            let has_digit = raw.bytes().any(|b| b.is_ascii_digit());
            let has_letter = raw.bytes().any(|b| b.is_ascii_alphabetic());
            let joined = raw.contains('\\') || raw.contains('_') || raw.contains('$');
            // Plain words and hyphenated words are prose; bare numbers are numbers.
            (has_letter && (has_digit || joined)).then(|| raw.to_ascii_lowercase())
        }
        EntityKind::Number => {
            let v: String = raw.chars().filter(|c| *c != ',').collect();
            let v = v.trim_start_matches('0');
            Some(if v.is_empty() || v.starts_with('.') {
                format!("0{v}")
            } else {
                v.to_owned()
            })
        }
        _ => Some(defanged.to_ascii_lowercase()),
    }
}

/// Entities of `text`, with the byte span of each occurrence.
pub fn extract_with_spans(text: &str) -> Vec<(Entity, std::ops::Range<usize>)> {
    let mut masked = vec![false; text.len()];
    let mut out = Vec::new();
    for (kind, re) in patterns() {
        for m in re.find_iter(text) {
            if out.len() >= MAX_ENTITIES {
                return out;
            }
            let range = m.range();
            if masked
                .get(range.clone())
                .is_some_and(|s| s.iter().any(|&b| b))
            {
                continue;
            }
            // Identifiers and numbers that are part of a longer token are not standalone.
            if matches!(kind, EntityKind::Number)
                && (text
                    .get(..range.start)
                    .is_some_and(|s| s.ends_with(|c: char| c.is_ascii_alphanumeric()))
                    || text
                        .get(range.end..)
                        .is_some_and(|s| s.starts_with(|c: char| c.is_ascii_alphabetic())))
            {
                continue;
            }
            if *kind == EntityKind::Identifier
                && COMMON_TERMS.contains(&m.as_str().to_ascii_lowercase().as_str())
            {
                // Masked so its digits are not read as a number, but not an entity.
                if let Some(slots) = masked.get_mut(range.clone()) {
                    slots.fill(true);
                }
                continue;
            }
            if let Some(value) = canonical(*kind, m.as_str()) {
                if let Some(slots) = masked.get_mut(range.clone()) {
                    slots.fill(true);
                }
                out.push((Entity { kind: *kind, value }, range));
            }
        }
    }
    out.sort_by_key(|(_, r)| r.start);
    out
}

/// The set of entities of `text`.
pub fn extract(text: &str) -> BTreeSet<Entity> {
    extract_with_spans(text)
        .into_iter()
        .map(|(e, _)| e)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Vec<(EntityKind, String)> {
        extract_with_spans(text)
            .into_iter()
            .map(|(e, _)| (e.kind, e.value))
            .collect()
    }

    #[test]
    fn all_patterns_compile() {
        assert_eq!(pattern_count(), 9);
    }

    #[test]
    fn extracts_each_kind() {
        let t = "WS-0231 (10.0.0.5) ran T1059.001 via powershell.exe, fetched hxxp://evil[.]example/a.ps1 \
                 and 3 files with sha256 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08; \
                 user CORP\\jdoe, [user:0123456789ab], 1,024 bytes";
        let got = of(t);
        let expect = [
            (EntityKind::Identifier, "ws-0231"),
            (EntityKind::Ip, "10.0.0.5"),
            (EntityKind::Technique, "t1059.001"),
            (EntityKind::Name, "powershell.exe"),
            (EntityKind::Url, "http://evil.example/a.ps1"),
            (EntityKind::Number, "3"),
            (
                EntityKind::Hash,
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ),
            (EntityKind::Identifier, "corp\\jdoe"),
            (EntityKind::Pseudonym, "[user:0123456789ab]"),
            (EntityKind::Number, "1024"),
        ];
        for (k, v) in expect {
            assert!(
                got.contains(&(k, v.to_owned())),
                "missing {k} {v} in {got:?}"
            );
        }
    }

    #[test]
    fn prose_yields_no_identifiers() {
        let got =
            of("The follow-up showed a well-known command-and-control pattern, e.g. beaconing.");
        assert!(got.is_empty(), "{got:?}");
    }
}
