//! Sigma detection: single-event rules with the full condition grammar and modifiers, and
//! streaming correlation rules.
//!
//! Input: [`rampart_core::Event`]s as the ingest stage produces them (ECS fields plus
//! `winlog.*`, `zeek.*` and other attributes). Output: [`rampart_core::Alert`]s with source
//! `Sigma` (one rule, one event) or `Correlation` (a correlation rule over many events), with
//! ATT&CK techniques and tactics from the rule's tags, the entities of the events, and ids
//! derived from rule and events so that re-running is idempotent.
//!
//! The main design decision is to compile every rule once into a matcher specialised for the
//! ingested event shapes, rather than interpreting rule trees per event: field names resolve
//! at load time to the attribute paths and ECS fields that hold them (see `fields`), each
//! value becomes the cheapest test that decides it (exact, prefix, suffix, `memchr`
//! substring, glob or regex, lowercased in advance), and rules are indexed by logsource, so
//! an event meets only the rules of its channel and event id. Within a route, each rule's
//! condition yields literals one of which every matching event must contain; one
//! Aho-Corasick pass per field finds which are present, and only those rules are evaluated
//! in full (a Sysmon process creation meets ~1,400 rules but fully evaluates a few dozen).
//! Field values are read and lowercased once per event however many rules test them.
//!
//! Correlation rules run in [`Correlator`], a single-threaded streaming evaluator in event
//! time with a bounded reorder buffer and bounded state.
//!
//! ```
//! use rampart_detect::RuleSet;
//!
//! let rule = r#"
//! title: Whoami execution
//! id: 00000000-0000-4000-8000-000000000001
//! tags: [attack.discovery, attack.t1033]
//! logsource: {product: windows, category: process_creation}
//! detection:
//!     selection:
//!         Image|endswith: '\whoami.exe'
//!     condition: selection
//! level: low
//! "#;
//! let rules = RuleSet::from_yaml_str("whoami.yml", rule).unwrap();
//! assert_eq!(rules.len(), 1);
//! ```

mod alert;
mod condition;
mod correlation;
mod correlator;
mod detection;
mod fields;
mod index;
mod load;
mod logsource;
mod pattern;
mod prefilter;
mod rule;
mod ruleset;
#[cfg(test)]
mod testkit;
mod view;
mod yaml;

use std::path::PathBuf;

pub use correlator::{Correlator, CorrelatorOptions, CorrelatorStats};
pub use rule::RuleInfo;
pub use ruleset::{LoadReport, Rejection, RuleSet};

/// Errors of the detection crate. Individual bad rules are not errors: they are
/// [`Rejection`]s in the [`LoadReport`].
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A rule path or directory cannot be read.
    #[error("rules at `{path}` cannot be read: {source}; check the path")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A rule archive is corrupt or over its caps.
    #[error("rule archive `{path}` cannot be read: {reason}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A rule given on its own cannot be used.
    #[error("rule `{}` in `{file}` cannot be used: {reason}", rule_id.as_deref().unwrap_or("?"))]
    Rule {
        /// The file or name it came from.
        file: String,
        /// The rule's id, when it has one.
        rule_id: Option<String>,
        /// Why.
        reason: String,
    },
}

/// Parses rule text the way [`RuleSet::load`] does and returns how many documents became
/// rules and the rejections; never panics, whatever the input. Meant for fuzzing and tools.
pub fn check_rule_text(name: &str, text: &str) -> (usize, Vec<Rejection>) {
    let (set, report) = RuleSet::from_texts([(name, text)]);
    (set.len() + set.correlation_count(), report.rejections)
}
