//! STIX 2.1 patterns: the comparison subset that IOC matching needs.
//!
//! The whole grammar is parsed; what is evaluated is one or more observation expressions
//! joined by `OR`, each a boolean combination (`AND`, `OR`, parentheses) of property tests on
//! the objects an event carries: `ipv4-addr`/`ipv6-addr:value` (CIDR blocks allowed),
//! `domain-name`, `url`, `email-addr:value`, `file:hashes.*` and `file:name`, `process`
//! (`name`, `command_line`, `pid`, `parent_ref.*`) and `network-traffic` (`src_ref`/`dst_ref`
//! `.value`/`.type`, ports, `protocols[*]`), with `=`, `!=`, `<`…`>=`, `IN`, `LIKE`,
//! `MATCHES`, `ISSUBSET`, `ISSUPERSET`, `EXISTS` and `NOT`. Everything else (`FOLLOWEDBY`,
//! `AND` between observations, qualifiers, other object types or properties) is rejected
//! with a [`PatternError::Unsupported`] that names it, so an indicator is either evaluated
//! as written or not at all: it never matches on a partial reading.

mod compile;
mod eval;
mod lexer;
mod parser;

use std::fmt;

pub(crate) use compile::IndexKey;
pub(crate) use eval::Hit;

use crate::observed::Observed;

/// Patterns longer than this are refused before parsing (bounded work on hostile input).
pub const MAX_PATTERN_BYTES: usize = 64 * 1024;

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The text is not a STIX pattern.
    #[error("syntax error at byte {at}: {message}")]
    Syntax {
        /// Byte offset in the pattern.
        at: usize,
        /// What was wrong.
        message: String,
    },
    /// A well-formed pattern with a value that cannot be right (a hash of the wrong length,
    /// an address of the wrong family).
    #[error("invalid: {0}")]
    Invalid(String),
    /// A valid pattern that uses something Rampart does not evaluate.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl PatternError {
    pub(crate) fn syntax(at: usize, message: impl Into<String>) -> Self {
        Self::Syntax {
            at,
            message: message.into(),
        }
    }
}

/// A compiled STIX pattern: the observations it is the disjunction of.
#[derive(Clone)]
pub struct Pattern {
    text: String,
    observations: Vec<compile::Cond>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.text).finish()
    }
}

impl Pattern {
    /// Parses and compiles a pattern.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text.len() > MAX_PATTERN_BYTES {
            return Err(PatternError::Unsupported(format!(
                "pattern of {} bytes exceeds the cap of {MAX_PATTERN_BYTES} bytes",
                text.len()
            )));
        }
        let tokens = lexer::tokenize(text)?;
        let expr = parser::parse(&tokens, text.len())?;
        let observations = compile::compile(&expr)?;
        Ok(Self {
            text: text.to_owned(),
            observations,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Index keys covering every event that can satisfy the pattern, or `None` when the
    /// pattern must be checked against every event (negations, `LIKE`, `MATCHES`, ranges).
    pub(crate) fn index_keys(&self) -> Option<Vec<IndexKey>> {
        let mut keys = Vec::new();
        for observation in &self.observations {
            keys.extend(observation.index_keys()?);
        }
        keys.sort();
        keys.dedup();
        Some(keys)
    }

    /// The observables that satisfied the first matching observation, or `None`.
    pub(crate) fn matches(&self, observed: &Observed) -> Option<Vec<Hit>> {
        eval::evaluate(&self.observations, observed)
    }
}

#[cfg(test)]
mod tests;
