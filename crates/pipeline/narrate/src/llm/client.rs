//! One OpenAI-compatible chat-completions call over HTTP(S), with a global timeout, bounded
//! retries with exponential backoff, and a bounded response size.

use std::time::Duration;

use crate::llm::config::LlmConfig;

/// The body of a successful response and how many attempts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) body: String,
    pub(crate) attempts: u32,
}

/// Why a call failed, after retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallFailure {
    pub(crate) reason: String,
    pub(crate) attempts: u32,
    /// The body of the last HTTP error response, if one came back.
    pub(crate) body: Option<String>,
}

enum Attempt {
    Ok(String),
    Retry(String, Option<String>),
    Fatal(String, Option<String>),
}

pub(crate) struct Client {
    agent: ureq::Agent,
    url: String,
    api_key: Option<String>,
    max_response_bytes: u64,
}

impl Client {
    pub(crate) fn new(config: &LlmConfig, url: String) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout()))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Self {
            agent,
            url,
            api_key: config.api_key.clone().filter(|k| !k.trim().is_empty()),
            max_response_bytes: config.max_response_bytes,
        }
    }

    /// Posts `body`, retrying transport errors, timeouts, 429 and 5xx up to
    /// `config.max_retries` times with `config.backoff(n)` between attempts.
    pub(crate) fn call(&self, body: &str, config: &LlmConfig) -> Result<Reply, CallFailure> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (reason, last_body) = match self.attempt(body) {
                Attempt::Ok(text) => {
                    return Ok(Reply {
                        body: text,
                        attempts,
                    });
                }
                Attempt::Fatal(reason, body) => {
                    return Err(CallFailure {
                        reason,
                        attempts,
                        body,
                    });
                }
                Attempt::Retry(reason, body) => (reason, body),
            };
            if attempts > config.max_retries {
                return Err(CallFailure {
                    reason: format!("{reason} (after {attempts} attempts)"),
                    attempts,
                    body: last_body,
                });
            }
            sleep(config.backoff(attempts - 1));
        }
    }

    fn attempt(&self, body: &str) -> Attempt {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = match request.send(body.as_bytes()) {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(transport_reason(&e), None),
        };
        let status = response.status().as_u16();
        let text = match response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_string()
        {
            Ok(t) => t,
            Err(e) => return Attempt::Retry(transport_reason(&e), None),
        };
        match status {
            200..=299 => Attempt::Ok(text),
            429 | 500..=599 => Attempt::Retry(format!("HTTP status {status}"), Some(text)),
            _ => Attempt::Fatal(format!("HTTP status {status}"), Some(text)),
        }
    }
}

fn transport_reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::BodyExceedsLimit(n) => format!("response larger than {n} bytes"),
        other => format!("transport error: {other}"),
    }
}

fn sleep(d: Duration) {
    if !d.is_zero() {
        std::thread::sleep(d);
    }
}
