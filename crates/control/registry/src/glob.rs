//! Model-name globs for the trust policy: `*` matches any run of characters,
//! `?` one character, everything else itself. Nothing more, so a policy reads
//! the same to every reviewer.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{RegistryError, Result};

/// Longest glob accepted.
pub const MAX_GLOB_CHARS: usize = 256;

/// A validated model-name glob.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelGlob(String);

impl ModelGlob {
    /// Validates a glob: 1 to 256 characters, no control characters.
    pub fn new(pattern: &str) -> Result<Self> {
        let chars = pattern.chars().count();
        if chars == 0 || chars > MAX_GLOB_CHARS {
            return Err(RegistryError::Policy(format!(
                "model glob `{}` must have 1 to {MAX_GLOB_CHARS} characters",
                pattern.escape_debug()
            )));
        }
        if pattern.chars().any(char::is_control) {
            return Err(RegistryError::Policy(format!(
                "model glob `{}` contains a control character",
                pattern.escape_debug()
            )));
        }
        Ok(Self(pattern.to_owned()))
    }

    /// The glob text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches. Linear-time two-pointer matching with a single
    /// backtrack point, so hostile patterns cannot blow up.
    pub fn matches(&self, name: &str) -> bool {
        let pattern: Vec<char> = self.0.chars().collect();
        let text: Vec<char> = name.chars().collect();
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == '?' || Some(&c) == text.get(t) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern
            .get(p..)
            .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
    }
}

impl fmt::Display for ModelGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ModelGlob {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ModelGlob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn g(p: &str) -> ModelGlob {
        ModelGlob::new(p).unwrap()
    }

    #[test]
    fn matches_the_obvious_cases() {
        assert!(g("*").matches("anything"));
        assert!(g("*").matches(""));
        assert!(g("scorer-*").matches("scorer-v3"));
        assert!(!g("scorer-*").matches("detector-v1"));
        assert!(g("s?orer").matches("scorer"));
        assert!(!g("s?orer").matches("sorer"));
        assert!(g("*-v?").matches("scorer-v3"));
        assert!(g("a*b*c").matches("aXbYbZc"));
        assert!(!g("a*b*c").matches("aXbYbZ"));
        assert!(g("exact").matches("exact"));
        assert!(!g("exact").matches("exact2"));
        assert!(g("ünï*").matches("ünïcode"));
    }

    #[test]
    fn rejects_empty_long_and_control() {
        assert!(ModelGlob::new("").is_err());
        assert!(ModelGlob::new(&"a".repeat(257)).is_err());
        assert!(ModelGlob::new("a\nb").is_err());
    }

    /// Slow, obviously correct reference: recursive matching.
    fn reference(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
            (Some('?'), Some(_)) => reference(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => reference(&p[1..], &t[1..]),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn agrees_with_reference(p in "[ab*?]{1,8}", t in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(g(&p).matches(&t), reference(&pc, &tc));
        }
    }
}
