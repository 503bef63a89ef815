//! The result of narrating an incident.

use rampart_core::IncidentId;
use serde::{Deserialize, Serialize};

/// Which renderer wrote a narrative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Renderer {
    /// The deterministic renderer (always available).
    Deterministic,
    /// A language model, through the guarded LLM renderer.
    Llm {
        /// The model name sent to the endpoint.
        model: String,
    },
}

/// A narrative of one incident: text in which every sentence cites evidence ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrative {
    /// The incident narrated.
    pub incident_id: IncidentId,
    /// Who wrote it.
    pub renderer: Renderer,
    /// Markdown text; every sentence ends with its citations, `[alr_…]`.
    pub text: String,
    /// Every evidence id the text cites, in order of first citation.
    pub citations: Vec<String>,
    /// Why the LLM renderer was not used or its answer was refused, when it was configured.
    pub fallback_reason: Option<String>,
    /// SHA-256 (hex) of the request body sent to the LLM, when one was sent.
    pub prompt_sha256: Option<String>,
    /// SHA-256 (hex) of the last response body received, when one was received.
    pub response_sha256: Option<String>,
}

/// The evidence ids cited in `text` as `[id]`, in order of first citation, deduplicated.
/// Only ids in `known` count (so bracketed prose such as `[redacted:email]` does not).
pub fn cited_ids(text: &str, known: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    // Innermost brackets: a stray `[` earlier in the line must not swallow the citation.
    while let Some(close) = rest.find(']') {
        let before = rest.get(..close).unwrap_or_default();
        if let Some(open) = before.rfind('[') {
            let id = before.get(open + 1..).unwrap_or_default();
            if known.iter().any(|k| k == id) && !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
        }
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn citations_are_known_ids_in_order_without_repeats() {
        let known = vec!["alr_1".to_owned(), "T1059.001".to_owned()];
        let text = "A [T1059.001] b [redacted:email] [alr_1] [T1059.001] [alr_9] [unclosed";
        assert_eq!(cited_ids(text, &known), vec!["T1059.001", "alr_1"]);
        // A stray bracket before a citation does not hide it.
        assert_eq!(cited_ids("host [; seen [alr_1]", &known), vec!["alr_1"]);
    }

    proptest! {
        #[test]
        fn citations_never_panic_and_are_always_known(text in "\\PC{0,200}") {
            let known = vec!["alr_1".to_owned()];
            for id in cited_ids(&text, &known) {
                prop_assert_eq!(id, "alr_1");
            }
        }
    }
}
