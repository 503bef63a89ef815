//! The reversible side of pseudonymisation, kept outside every prompt.
//!
//! A prompt carries `[user:3f2a9c01b7d4]`; the vault maps that token back to `CORP\jdoe`
//! so the analyst's view of a validated answer can show real names again. The vault lives
//! in the process that built the prompt and is never serialised into one; its `Debug`
//! prints only how many entries it holds.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use rampart_crypto::Secret;
use regex::Regex;

/// Most entries a vault holds (one prompt's worth of values, with a wide margin).
pub const MAX_VAULT_ENTRIES: usize = 100_000;

/// Token -> original value, for one prompt or one incident.
#[derive(Default)]
pub struct PseudonymVault {
    entries: BTreeMap<String, Secret<String>>,
}

impl fmt::Debug for PseudonymVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PseudonymVault({} entries, ***)", self.entries.len())
    }
}

impl PseudonymVault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of tokens held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the vault is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records `token -> original`. Returns false (and records nothing) when the token already
    /// maps to a different value or the vault is full; the caller then uses a longer token.
    pub(crate) fn insert(&mut self, token: &str, original: &str) -> bool {
        if let Some(existing) = self.entries.get(token) {
            return existing.expose() == original;
        }
        if self.entries.len() >= MAX_VAULT_ENTRIES {
            return false;
        }
        self.entries
            .insert(token.to_owned(), Secret::new(original.to_owned()));
        true
    }

    /// The original value of `token` (with or without its brackets).
    pub fn reveal(&self, token: &str) -> Option<&str> {
        let key = token.trim();
        let key = if key.starts_with('[') {
            key.to_owned()
        } else {
            format!("[{key}]")
        };
        self.entries.get(&key).map(|s| s.expose().as_str())
    }

    /// `text` with every known token replaced by its original value (for display to an
    /// authorised analyst, after the output validator accepted the text).
    pub fn rehydrate(&self, text: &str) -> String {
        let Some(re) = token_regex() else {
            return text.to_owned();
        };
        re.replace_all(text, |caps: &regex::Captures<'_>| {
            let token = caps.get(0).map_or("", |m| m.as_str());
            self.entries
                .get(token)
                .map_or_else(|| token.to_owned(), |s| s.expose().clone())
        })
        .into_owned()
    }
}

/// The shape of a pseudonym token: `[kind:hex]`.
pub(crate) fn token_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\[[a-z][a-z-]{0,20}:[0-9a-f]{12,32}\]").ok())
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_collisions() {
        let mut v = PseudonymVault::new();
        assert!(v.insert("[user:0123456789ab]", "CORP\\jdoe"));
        assert!(v.insert("[user:0123456789ab]", "CORP\\jdoe"));
        assert!(!v.insert("[user:0123456789ab]", "CORP\\other"));
        assert_eq!(v.reveal("user:0123456789ab"), Some("CORP\\jdoe"));
        assert_eq!(
            v.rehydrate("logon by [user:0123456789ab] and [user:ffffffffffff]"),
            "logon by CORP\\jdoe and [user:ffffffffffff]"
        );
        assert_eq!(format!("{v:?}"), "PseudonymVault(1 entries, ***)");
    }
}
