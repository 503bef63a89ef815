//! `[narrate]` settings of the LLM renderer.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::NarrateError;

/// Environment variable overriding [`LlmConfig::endpoint`].
pub const ENV_ENDPOINT: &str = "RAMPART_LLM_ENDPOINT";
/// Environment variable overriding [`LlmConfig::model`].
pub const ENV_MODEL: &str = "RAMPART_LLM_MODEL";
/// Environment variable holding the API key (preferred over [`LlmConfig::api_key`]).
pub const ENV_API_KEY: &str = "RAMPART_LLM_API_KEY";

/// Settings of the LLM renderer, read from `[narrate]` in `rampart.toml` (unknown keys are
/// rejected). The LLM is used only when `enabled` is true and an endpoint and a model are
/// set; the deterministic renderer is used otherwise.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Whether to try the LLM at all.
    pub enabled: bool,
    /// Base URL of an OpenAI-compatible API, such as `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8080/v1`; requests go to `<endpoint>/chat/completions` (an endpoint
    /// that already ends with `/chat/completions` is used as is).
    pub endpoint: Option<String>,
    /// Model name sent in each request.
    pub model: Option<String>,
    /// API key; prefer the `RAMPART_LLM_API_KEY` environment variable to keep it out of files.
    /// Never serialised, so printing a configuration never shows it.
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Timeout of one request, connection to last byte, in milliseconds.
    pub timeout_ms: u64,
    /// Retries after a failed request (connection error, timeout, HTTP 429 or 5xx).
    pub max_retries: u32,
    /// First backoff before a retry, in milliseconds; doubled per retry.
    pub backoff_initial_ms: u64,
    /// Longest backoff, in milliseconds.
    pub backoff_max_ms: u64,
    /// Consecutive failed calls after which the LLM is skipped for a cool-down.
    pub breaker_threshold: u32,
    /// How long the LLM is skipped once the breaker opens, in milliseconds.
    pub breaker_cooldown_ms: u64,
    /// Token budget of the evidence in a prompt; larger incidents are summarised.
    pub max_prompt_tokens: usize,
    /// `max_tokens` asked of the model.
    pub max_answer_tokens: u32,
    /// Largest response body read, in bytes.
    pub max_response_bytes: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: None,
            model: None,
            api_key: None,
            timeout_ms: 30_000,
            max_retries: 2,
            backoff_initial_ms: 250,
            backoff_max_ms: 4_000,
            breaker_threshold: 3,
            breaker_cooldown_ms: 60_000,
            max_prompt_tokens: 6_000,
            max_answer_tokens: 1_500,
            max_response_bytes: 1 << 20,
        }
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key never prints.
        f.debug_struct("LlmConfig")
            .field("enabled", &self.enabled)
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout_ms", &self.timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("backoff_initial_ms", &self.backoff_initial_ms)
            .field("backoff_max_ms", &self.backoff_max_ms)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown_ms", &self.breaker_cooldown_ms)
            .field("max_prompt_tokens", &self.max_prompt_tokens)
            .field("max_answer_tokens", &self.max_answer_tokens)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl LlmConfig {
    /// The same settings with `RAMPART_LLM_ENDPOINT`, `RAMPART_LLM_MODEL` and
    /// `RAMPART_LLM_API_KEY` applied from the process environment.
    #[must_use]
    pub fn with_env(self) -> Self {
        self.with_env_from(|name| std::env::var(name).ok())
    }

    /// The same settings with the environment overrides read through `lookup`.
    #[must_use]
    pub fn with_env_from(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        if let Some(v) = set(lookup(ENV_ENDPOINT)) {
            self.endpoint = Some(v);
        }
        if let Some(v) = set(lookup(ENV_MODEL)) {
            self.model = Some(v);
        }
        if let Some(v) = set(lookup(ENV_API_KEY)) {
            self.api_key = Some(v);
        }
        self
    }

    /// The chat-completions URL.
    pub fn url(&self) -> Result<String, NarrateError> {
        let endpoint = self
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| invalid("endpoint", format!("is not set (set it or {ENV_ENDPOINT})")))?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(invalid(
                "endpoint",
                format!("`{endpoint}` must start with http:// or https://"),
            ));
        }
        let base = endpoint.trim_end_matches('/');
        Ok(if base.ends_with("/chat/completions") {
            base.to_owned()
        } else {
            format!("{base}/chat/completions")
        })
    }

    /// Checks the settings (an endpoint, a model, sane timeouts and bounds).
    pub fn validate(&self) -> Result<(), NarrateError> {
        self.url()?;
        if self.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return Err(invalid(
                "model",
                format!("is not set (set it or {ENV_MODEL})"),
            ));
        }
        if !(100..=600_000).contains(&self.timeout_ms) {
            return Err(invalid(
                "timeout_ms",
                format!("`{}` must be between 100 and 600000", self.timeout_ms),
            ));
        }
        if self.max_retries > 10 {
            return Err(invalid(
                "max_retries",
                format!("`{}` must be at most 10", self.max_retries),
            ));
        }
        if self.backoff_initial_ms > self.backoff_max_ms || self.backoff_max_ms > 60_000 {
            return Err(invalid(
                "backoff_max_ms",
                "need backoff_initial_ms <= backoff_max_ms <= 60000".to_owned(),
            ));
        }
        if self.breaker_threshold == 0 {
            return Err(invalid(
                "breaker_threshold",
                "must be at least 1".to_owned(),
            ));
        }
        if self.max_prompt_tokens < 200 {
            return Err(invalid(
                "max_prompt_tokens",
                format!("`{}` must be at least 200", self.max_prompt_tokens),
            ));
        }
        if !(1024..=(64 << 20)).contains(&self.max_response_bytes) {
            return Err(invalid(
                "max_response_bytes",
                format!(
                    "`{}` must be between 1024 and 67108864",
                    self.max_response_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Timeout of one request.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Backoff before retry number `retry` (0-based): `initial * 2^retry`, capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u64.checked_shl(retry.min(20)).unwrap_or(u64::MAX);
        Duration::from_millis(
            self.backoff_initial_ms
                .saturating_mul(factor)
                .min(self.backoff_max_ms),
        )
    }
}

fn invalid(name: &'static str, reason: String) -> NarrateError {
    NarrateError::InvalidSetting { name, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_shape_env_overrides_and_validation() {
        let c: LlmConfig = serde_json::from_value(serde_json::json!({
            "enabled": true, "endpoint": "http://127.0.0.1:9/v1/", "model": "m"
        }))
        .unwrap();
        assert_eq!(c.url().unwrap(), "http://127.0.0.1:9/v1/chat/completions");
        c.validate().unwrap();
        let bad: Result<LlmConfig, _> =
            serde_json::from_value(serde_json::json!({"endpiont": "x"}));
        assert!(bad.is_err(), "unknown keys are rejected");
        let env = LlmConfig::default().with_env_from(|k| match k {
            ENV_ENDPOINT => Some("https://llm.example/v1/chat/completions".into()),
            ENV_MODEL => Some("gpt-x".into()),
            ENV_API_KEY => Some("sk-secret".into()),
            _ => None,
        });
        assert_eq!(
            env.url().unwrap(),
            "https://llm.example/v1/chat/completions"
        );
        assert!(!format!("{env:?}").contains("sk-secret"));
        assert!(LlmConfig::default().validate().is_err());
        let ftp = LlmConfig {
            endpoint: Some("ftp://x".into()),
            ..env.clone()
        };
        assert!(ftp.validate().is_err());
        assert_eq!(env.backoff(0).as_millis(), 250);
        assert_eq!(env.backoff(2).as_millis(), 1000);
        assert_eq!(env.backoff(40).as_millis(), 4000);
    }
}
