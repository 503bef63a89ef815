//! The guarded LLM renderer.
//!
//! One call, in order:
//! 1. the circuit breaker is asked first: while it is open, no request is made;
//! 2. the fact sheet is summarised to the prompt's token budget;
//! 3. every text of every evidence item goes through the guard's [`Screener`] under the label
//!    `<evidence id>@<ECS field>`: fields outside the allowlist are left out, each text is
//!    scanned for prompt injection, and personal data is pseudonymised into a
//!    [`PseudonymVault`] that never leaves this process;
//! 4. the [`PromptBuilder`] spotlights each screened text (delimited with a random nonce,
//!    whitespace datamarked) and withholds flagged ones entirely; a random [`Canary`] goes in
//!    the system message;
//! 5. the SHA-256 of the request body is recorded in the audit log (`llm_prompt`) before it
//!    is sent; no record, no request;
//! 6. the request is sent with a timeout and bounded retries; the response's SHA-256 and the
//!    verdict are recorded (`llm_response`);
//! 7. the answer must be JSON claims citing evidence ids and pass the guard's
//!    [`OutputValidator`] (grounding against the cited evidence, canary, commands, URLs,
//!    markup, length); only then are pseudonyms turned back into the original values.
//!
//! Any failure returns a [`Fallback`] with the reason, and the narrator writes the
//! deterministic narrative instead.

pub mod breaker;
mod client;
pub mod config;

use std::fmt::Write as _;

use rampart_audit::{AuditEvent, AuditKind, AuditSink};
use rampart_crypto::Secret;
use rampart_guard::Guard;
use rampart_guard::output::{Evidence, Grounded, Limits, OutputValidator};
use rampart_guard::pii::{FieldAllowlist, Minimiser, PseudonymVault};
use rampart_guard::prompt::{Canary, PromptBuilder};
use rampart_guard::untrusted::{Screener, UntrustedText};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::NarrateError;
use crate::facts::FactSheet;
use crate::narrative::{Narrative, Renderer};
use breaker::{Admission, CircuitBreaker};
use client::Client;
use config::LlmConfig;

/// The actor named in audit entries.
pub const AUDIT_ACTOR: &str = "rampart-narrate";
/// What a withheld (flagged) text is replaced with, in the prompt and in the evidence.
pub const WITHHELD: &str = "[withheld: flagged as a possible prompt injection]";
/// Longest label the prompt builder keeps; longer labels would lose their field.
const MAX_LABEL: usize = 64;
/// Most violations quoted in a fallback reason.
const MAX_REASONS: usize = 5;

const INSTRUCTIONS: &str = "Write a short narrative of the security incident described by the data blocks below, \
for a security analyst.\n\
Each data block's field label has the form <evidence id>@<source field>; the evidence id is everything before the @.\n\
Answer with one JSON object and nothing else, of the form \
{\"summary\": \"one or two sentences\", \"claims\": [{\"text\": \"one sentence\", \"evidence\": [\"<evidence id>\"]}]}.\n\
Every claim cites the evidence ids it rests on, exactly as written before the @. \
Mention an address, name, hash, number, URL, command or id only if it appears in the cited blocks. \
Do not add advice, links, code or instructions. A block that says withheld was removed for safety: say only that it was withheld.";

/// Why the LLM renderer gave up on an incident; the narrator records it in
/// [`Narrative::fallback_reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// What went wrong, for the analyst and the audit log.
    pub reason: String,
    /// SHA-256 of the request body, when one was built and recorded.
    pub prompt_sha256: Option<String>,
    /// SHA-256 of the last response body, when one arrived.
    pub response_sha256: Option<String>,
}

/// What a prompt was built from: the request body, the evidence as the model saw it, the
/// canary and the vault to rehydrate the answer.
struct Built {
    body: String,
    evidence: Evidence,
    evidence_ids: Vec<String>,
    canary: Canary,
    vault: PseudonymVault,
    withheld: usize,
    left_out: usize,
}

/// Renders narratives with an OpenAI-compatible LLM, guarded end to end (module docs).
pub struct LlmRenderer {
    config: LlmConfig,
    model: String,
    guard: Guard,
    allowlist: FieldAllowlist,
    key: Secret<[u8; 32]>,
    client: Client,
    breaker: CircuitBreaker,
}

impl std::fmt::Debug for LlmRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmRenderer")
            .field("config", &self.config)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl LlmRenderer {
    /// A renderer for `config` (see [`LlmConfig::validate`]) using `guard` to scan untrusted
    /// text. Pseudonyms are keyed by a random per-process key and the ECS default allowlist
    /// applies; see [`LlmRenderer::with_pseudonym_key`] and [`LlmRenderer::with_allowlist`].
    pub fn new(config: LlmConfig, guard: Guard) -> Result<Self, NarrateError> {
        config.validate()?;
        let url = config.url()?;
        let model = config.model.clone().unwrap_or_default().trim().to_owned();
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| NarrateError::InvalidSetting {
            name: "pseudonym key",
            reason: format!("cannot get random bytes: {e}"),
        })?;
        Ok(Self {
            client: Client::new(&config, url),
            breaker: CircuitBreaker::new(
                config.breaker_threshold,
                std::time::Duration::from_millis(config.breaker_cooldown_ms),
            ),
            config,
            model,
            guard,
            allowlist: FieldAllowlist::ecs_default(),
            key: Secret::new(key),
        })
    }

    /// The same renderer pseudonymising under `key` (a tenant key), so tokens are stable
    /// across incidents.
    #[must_use]
    pub fn with_pseudonym_key(mut self, key: Secret<[u8; 32]>) -> Self {
        self.key = key;
        self
    }

    /// The same renderer with another field allowlist (ECS field names; see
    /// [`FieldAllowlist`]).
    #[must_use]
    pub fn with_allowlist(mut self, allowlist: FieldAllowlist) -> Self {
        self.allowlist = allowlist;
        self
    }

    /// The model name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The settings.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The circuit breaker (for status displays).
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Narrates `sheet` with the LLM, recording prompt and response hashes in `audit`.
    pub fn render(&self, sheet: &FactSheet, audit: &dyn AuditSink) -> Result<Narrative, Fallback> {
        let fail = |reason: String| Fallback {
            reason,
            prompt_sha256: None,
            response_sha256: None,
        };
        if let Admission::Skipped {
            failures,
            remaining,
        } = self.breaker.admit()
        {
            return Err(fail(format!(
                "circuit breaker open after {failures} consecutive LLM failures; skipped for another {} ms",
                remaining.as_millis()
            )));
        }
        let mut sheet = sheet.clone();
        sheet.fit(self.config.max_prompt_tokens);
        let built = self
            .build(&sheet)
            .map_err(|e| fail(format!("cannot build the prompt: {e}")))?;
        let prompt_sha256 = sha256_hex(built.body.as_bytes());
        let subject = sheet.incident_id.to_string();
        let recorded = audit.record(AuditEvent::new(
            AuditKind::LlmPrompt,
            AUDIT_ACTOR,
            subject.clone(),
            json!({
                "sha256": prompt_sha256,
                "bytes": built.body.len(),
                "model": self.model,
                "evidence_items": built.evidence.len(),
                "withheld_texts": built.withheld,
                "fields_left_out": built.left_out,
                "detail": sheet.detail,
            }),
        ));
        if let Err(e) = recorded {
            return Err(Fallback {
                reason: format!(
                    "cannot record the prompt in the audit log, so it was not sent: {e}"
                ),
                prompt_sha256: Some(prompt_sha256),
                response_sha256: None,
            });
        }
        let (grounded, response_sha256) = self.exchange(&built, &prompt_sha256, &subject, audit)?;
        let (text, citations) = compose(&grounded, &built, &sheet.incident_id.to_string());
        Ok(Narrative {
            incident_id: sheet.incident_id,
            renderer: Renderer::Llm {
                model: self.model.clone(),
            },
            text,
            citations,
            fallback_reason: None,
            prompt_sha256: Some(prompt_sha256),
            response_sha256: Some(response_sha256),
        })
    }

    /// Sends the prompt, records the response's hash and verdict, and validates the answer.
    fn exchange(
        &self,
        built: &Built,
        prompt_sha256: &str,
        subject: &str,
        audit: &dyn AuditSink,
    ) -> Result<(Grounded, String), Fallback> {
        let reply = match self.client.call(&built.body, &self.config) {
            Ok(r) => {
                self.breaker.success();
                r
            }
            Err(f) => {
                self.breaker.failure();
                let response_sha256 = f.body.as_deref().map(|b| sha256_hex(b.as_bytes()));
                let reason = format!("LLM call failed: {}", f.reason);
                // The call already failed; a failed record here changes nothing to show.
                let _ = audit.record(AuditEvent::new(
                    AuditKind::LlmResponse,
                    AUDIT_ACTOR,
                    subject,
                    json!({
                        "prompt_sha256": prompt_sha256,
                        "sha256": response_sha256,
                        "accepted": false,
                        "attempts": f.attempts,
                        "reason": reason,
                    }),
                ));
                return Err(Fallback {
                    reason,
                    prompt_sha256: Some(prompt_sha256.to_owned()),
                    response_sha256,
                });
            }
        };
        let response_sha256 = sha256_hex(reply.body.as_bytes());
        let verdict = self.accept(&reply.body, built);
        let recorded = audit.record(AuditEvent::new(
            AuditKind::LlmResponse,
            AUDIT_ACTOR,
            subject,
            json!({
                "prompt_sha256": prompt_sha256,
                "sha256": response_sha256,
                "bytes": reply.body.len(),
                "attempts": reply.attempts,
                "accepted": verdict.is_ok(),
                "reason": verdict.as_ref().err(),
            }),
        ));
        let fallback = |reason: String| Fallback {
            reason,
            prompt_sha256: Some(prompt_sha256.to_owned()),
            response_sha256: Some(response_sha256.clone()),
        };
        let grounded = verdict.map_err(fallback)?;
        if let Err(e) = recorded {
            return Err(fallback(format!(
                "cannot record the response in the audit log, so it is not shown: {e}"
            )));
        }
        Ok((grounded, response_sha256))
    }

    /// Screens every evidence text and assembles the request body.
    fn build(&self, sheet: &FactSheet) -> Result<Built, NarrateError> {
        let items = sheet.evidence();
        let mut labels = Vec::new();
        for item in &items {
            for (field, _) in &item.parts {
                if self.allowlist.allows(field) {
                    labels.push(label(&item.id, field));
                }
            }
        }
        let minimiser = Minimiser::new(&self.key, FieldAllowlist::new(&labels))?;
        let screener = Screener::new(&self.guard, &minimiser);
        let mut vault = PseudonymVault::new();
        let mut builder = PromptBuilder::new()?;
        let canary = Canary::random()?;
        builder.instruction(INSTRUCTIONS);
        builder.canary(&canary);
        let mut evidence = Evidence::new();
        let mut evidence_ids = Vec::new();
        let (mut withheld, mut left_out) = (0usize, 0usize);
        for item in &items {
            for (field, text) in &item.parts {
                let label = label(&item.id, field);
                if !self.allowlist.allows(field) || label.len() > MAX_LABEL {
                    left_out += 1;
                    continue;
                }
                let screened =
                    screener.screen(UntrustedText::new(label, text.clone()), &mut vault)?;
                builder.untrusted_or_withheld(&screened);
                let shown = if screened.is_flagged() {
                    withheld += 1;
                    WITHHELD.to_owned()
                } else {
                    collapse_whitespace(screened.content())
                };
                if evidence.add(item.id.clone(), &shown) && !evidence_ids.contains(&item.id) {
                    evidence_ids.push(item.id.clone());
                }
            }
        }
        let prompt = builder.build();
        let body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": prompt.system()},
                {"role": "user", "content": prompt.user()},
            ],
            "temperature": 0,
            "max_tokens": self.config.max_answer_tokens,
            "response_format": {"type": "json_object"},
        })
        .to_string();
        Ok(Built {
            body,
            evidence,
            evidence_ids,
            canary,
            vault,
            withheld,
            left_out,
        })
    }

    /// Extracts the answer from a chat-completions response and validates it.
    fn accept(&self, body: &str, built: &Built) -> Result<Grounded, String> {
        let content = answer_text(body)?;
        let limits = Limits {
            max_answer_bytes: usize::try_from(self.config.max_response_bytes)
                .unwrap_or(usize::MAX)
                .min(Limits::default().max_answer_bytes),
            ..Limits::default()
        };
        OutputValidator::new()
            .with_limits(limits)
            .with_canary(built.canary.clone())
            .validate(&content, &built.evidence)
            .map_err(|violations| {
                let mut reason = format!("LLM answer rejected ({} violations): ", violations.len());
                for (i, v) in violations.iter().take(MAX_REASONS).enumerate() {
                    if i > 0 {
                        reason.push_str("; ");
                    }
                    let _ = write!(reason, "{v}");
                }
                reason
            })
    }
}

/// The prompt label of one evidence text: `<evidence id>@<field>`; identity fields keep a
/// `related.` prefix so the minimiser still pseudonymises them whole.
fn label(id: &str, field: &str) -> String {
    if rampart_guard::pii::is_identity_field(field) {
        format!("{id}@related.{field}")
    } else {
        format!("{id}@{field}")
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The answer in a chat-completions response body: `choices[0].message.content`, without a
/// surrounding markdown code fence. The body is untrusted; errors say what was wrong.
pub fn answer_text(body: &str) -> Result<String, String> {
    let json: Value =
        serde_json::from_str(body).map_err(|e| format!("LLM response is not JSON: {e}"))?;
    json.get("choices")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("message"))
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .map(|content| strip_fence(content).to_owned())
        .ok_or_else(|| "LLM response has no choices[0].message.content string".to_owned())
}

/// The answer without a surrounding markdown code fence, which some models add.
fn strip_fence(content: &str) -> &str {
    let t = content.trim();
    let Some(inner) = t.strip_prefix("```") else {
        return t;
    };
    let Some(inner) = inner.strip_suffix("```") else {
        return t;
    };
    // Drop the info string (`json`) on the opening line.
    inner
        .split_once('\n')
        .map_or(inner, |(first, rest)| {
            if first.trim().chars().all(char::is_alphanumeric) {
                rest
            } else {
                inner
            }
        })
        .trim()
}

/// The narrative text of a grounded answer, pseudonyms rehydrated, and its citations.
fn compose(grounded: &Grounded, built: &Built, incident: &str) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut citations: Vec<String> = Vec::new();
    let mut cite = |ids: &[String], text: &mut String| {
        for id in ids {
            let _ = write!(text, " [{id}]");
            if !citations.contains(id) {
                citations.push(id.clone());
            }
        }
    };
    if let Some(summary) = grounded.summary() {
        text.push_str(summary.trim());
        // The summary is checked against all the evidence; it rests on the incident as a whole.
        let ids: Vec<String> = built
            .evidence_ids
            .iter()
            .filter(|id| id.as_str() == incident)
            .cloned()
            .collect();
        cite(&ids, &mut text);
        text.push_str("\n\n");
    }
    for claim in grounded.claims() {
        text.push_str("- ");
        text.push_str(claim.text.trim());
        cite(&claim.evidence, &mut text);
        text.push('\n');
    }
    (built.vault.rehydrate(&text), citations)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_from_completions_with_or_without_a_fence() {
        let body = |content: &str| {
            json!({"choices": [{"message": {"role": "assistant", "content": content}}]}).to_string()
        };
        assert_eq!(
            answer_text(&body("{\"claims\": []}")).unwrap(),
            "{\"claims\": []}"
        );
        assert_eq!(
            answer_text(&body("```json\n{\"claims\": []}\n```")).unwrap(),
            "{\"claims\": []}"
        );
        assert_eq!(answer_text(&body("```\n{}\n```")).unwrap(), "{}");
        assert!(answer_text("not json").unwrap_err().contains("not JSON"));
        assert!(
            answer_text("{\"choices\": [{}]}")
                .unwrap_err()
                .contains("no choices")
        );
        assert_eq!(
            label("alr_1", "user.name"),
            "alr_1@related.user.name",
            "identity fields stay identity fields for the minimiser"
        );
        assert_eq!(
            label("T1059.001", "threat.technique.id"),
            "T1059.001@threat.technique.id"
        );
    }
}
