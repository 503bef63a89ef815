//! Narratives: a typed fact sheet per incident, a deterministic renderer that cites evidence,
//! and a guarded LLM renderer.
//!
//! Input: an [`rampart_core::Incident`] with its alerts and decisions (and optionally the
//! triggering events' fields). Output: a [`Narrative`], markdown in which every sentence
//! cites the evidence ids it rests on (`[alr_…]`, `[evt_…]`, `[T1059.001]`, `[ws-0231]`).
//!
//! - [`FactSheet`]: the typed facts, each under an evidence id; summarised hierarchically
//!   (by rule and host, then by rule, then the most severe rules) to fit a token budget.
//! - [`DeterministicRenderer`]: always available, the default and the fallback.
//! - [`LlmRenderer`]: an OpenAI-compatible chat-completions endpoint behind the guard:
//!   untrusted text is screened (injection scan, field allowlist, pseudonymised PII) and
//!   spotlighted; flagged text is withheld; the answer must be grounded JSON claims; prompts
//!   and responses are recorded by SHA-256 in the audit log; timeouts, bounded retries and a
//!   circuit breaker keep a bad endpoint from stalling the pipeline.
//! - [`Narrator`]: tries the LLM when configured and falls back with a recorded reason.
//!
//! Main design decision: the LLM never sees anything the guard has not screened, and its
//! output is never shown unless every entity in it is in the evidence it cites; otherwise the
//! deterministic narrative, which cannot hallucinate, is shown instead.
//!
//! ```
//! use rampart_core::{Alert, AlertId, AlertSource, EntityKind, EntityRef, Incident, IncidentId, Level};
//! use rampart_narrate::{DeterministicRenderer, FactSheet};
//!
//! let alert = Alert {
//!     id: AlertId::derive(&[b"a"]), source: AlertSource::Sigma, rule_id: "r1".into(),
//!     title: "Encoded PowerShell".into(), level: Level::High, score: None,
//!     techniques: vec!["T1059.001".into()], tactics: vec![],
//!     entities: vec![EntityRef::new(EntityKind::Host, "WS-0231")], event_ids: vec![],
//!     first_seen: None, last_seen: None, explanation: None,
//! };
//! let incident = Incident {
//!     id: IncidentId::derive(&[b"i"]), title: "PowerShell on WS-0231".into(),
//!     alert_ids: vec![alert.id], entities: alert.entities.clone(), tactics: vec![],
//!     techniques: alert.techniques.clone(), score: 0.8, first_seen: None, last_seen: None,
//! };
//! let names = |id: &str| (id == "T1059.001").then(|| "PowerShell".to_owned());
//! let sheet = FactSheet::build(&incident, &[alert.clone()], &[], &names);
//! let narrative = DeterministicRenderer::new().render(&sheet);
//! assert!(narrative.text.contains(&format!("[{}]", alert.id)));
//! assert!(narrative.citations.contains(&"T1059.001".to_owned()));
//! ```

pub mod deterministic;
mod error;
pub mod facts;
pub mod llm;
pub mod narrative;
mod narrator;

pub use deterministic::DeterministicRenderer;
pub use error::NarrateError;
pub use facts::{Detail, EvidenceItem, FactSheet};
pub use llm::breaker::{Admission, CircuitBreaker};
pub use llm::config::LlmConfig;
pub use llm::{Fallback, LlmRenderer};
pub use narrative::{Narrative, Renderer};
pub use narrator::Narrator;
