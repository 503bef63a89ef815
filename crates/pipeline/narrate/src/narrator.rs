//! The narrator: the LLM renderer when configured and healthy, the deterministic one always.

use rampart_audit::AuditSink;

use crate::deterministic::DeterministicRenderer;
use crate::facts::FactSheet;
use crate::llm::LlmRenderer;
use crate::narrative::Narrative;

/// Chooses the renderer for each incident. Never fails and never stalls longer than the
/// LLM's bounded timeouts: any LLM problem yields the deterministic narrative with the
/// reason in [`Narrative::fallback_reason`].
#[derive(Debug, Default)]
pub struct Narrator {
    /// The deterministic renderer (always used as the fallback).
    pub deterministic: DeterministicRenderer,
    /// The LLM renderer, when one is configured.
    pub llm: Option<LlmRenderer>,
}

impl Narrator {
    /// A narrator with only the deterministic renderer.
    pub fn deterministic() -> Self {
        Self::default()
    }

    /// A narrator that tries `llm` first.
    pub fn with_llm(llm: LlmRenderer) -> Self {
        Self {
            deterministic: DeterministicRenderer,
            llm: Some(llm),
        }
    }

    /// The narrative of `sheet`; LLM prompts and responses are recorded by hash in `audit`.
    pub fn narrate(&self, sheet: &FactSheet, audit: &dyn AuditSink) -> Narrative {
        let Some(llm) = &self.llm else {
            return self.deterministic.render(sheet);
        };
        match llm.render(sheet, audit) {
            Ok(narrative) => narrative,
            Err(fallback) => {
                let mut narrative = self.deterministic.render(sheet);
                narrative.fallback_reason = Some(fallback.reason);
                narrative.prompt_sha256 = fallback.prompt_sha256;
                narrative.response_sha256 = fallback.response_sha256;
                narrative
            }
        }
    }
}
