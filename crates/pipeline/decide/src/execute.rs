//! Executing decided actions: only an [`Authorized`] action runs, and every executor is
//! idempotent by decision id, so a re-run never fires an action twice.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use rampart_audit::{AuditEvent, AuditKind, AuditSink};
use rampart_core::{ActionMode, DecisionId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::approval::mode_name;
use crate::{ApprovalStatus, Approvals, AuditedDecision, DecideError};

/// An audited decision cleared to run: automatic, or approved by its quorum.
#[derive(Debug, Clone)]
pub struct Authorized<'a> {
    decision: &'a AuditedDecision,
    approvers: Vec<String>,
}

impl<'a> Authorized<'a> {
    /// Clears an automatic decision.
    pub fn automatic(decision: &'a AuditedDecision) -> Result<Self, DecideError> {
        match decision.mode() {
            ActionMode::Automatic => Ok(Self {
                decision,
                approvers: Vec::new(),
            }),
            mode => Err(not_executable(
                decision,
                format!("its mode is `{}`", mode_name(mode)),
            )),
        }
    }

    /// Clears a decision whose approvals reached their quorum.
    pub fn approved(
        decision: &'a AuditedDecision,
        approvals: &Approvals,
    ) -> Result<Self, DecideError> {
        if approvals.decision_id() != decision.id() {
            return Err(not_executable(
                decision,
                "the approvals are for another decision".into(),
            ));
        }
        if !matches!(decision.mode(), ActionMode::NeedsApproval(_)) {
            return Err(not_executable(
                decision,
                format!("its mode is `{}`", mode_name(decision.mode())),
            ));
        }
        match approvals.status() {
            ApprovalStatus::Approved => Ok(Self {
                decision,
                approvers: approvals.approvals().iter().map(|v| v.by.clone()).collect(),
            }),
            ApprovalStatus::Rejected => Err(not_executable(decision, "it was rejected".into())),
            ApprovalStatus::Pending { have, need } => Err(not_executable(
                decision,
                format!("it has {have} of {need} approvals"),
            )),
        }
    }

    /// The decision.
    pub fn decision(&self) -> &AuditedDecision {
        self.decision
    }

    /// Who approved it (empty for automatic actions).
    pub fn approvers(&self) -> &[String] {
        &self.approvers
    }

    /// The JSON an executor sends or writes: decision id, incident, action, targets, policy,
    /// approvers and whether this is a revert.
    pub fn payload(&self, revert: bool) -> Value {
        let d = self.decision.decision();
        json!({
            "decision_id": d.id,
            "incident_id": d.incident_id,
            "action": d.action,
            "revert": revert,
            "targets": d.facts.get("targets").cloned().unwrap_or(Value::Null),
            "policy_id": d.policy_id,
            "approvers": self.approvers,
            "decided_at": d.decided_at,
            "revert_at": self.decision.revert_at(),
        })
    }
}

fn not_executable(decision: &AuditedDecision, reason: String) -> DecideError {
    DecideError::NotExecutable {
        decision: decision.id().to_string(),
        reason,
    }
}

/// What an executor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action ran now.
    Executed,
    /// It had already run for this decision id; nothing was done.
    AlreadyExecuted,
    /// Nothing runs: the executor only reports.
    DryRun,
}

/// Carries out actions. Implementations must be idempotent by decision id.
pub trait Executor: Send + Sync {
    /// A short name for errors and audit records.
    fn name(&self) -> &str;

    /// Runs the action (or does nothing if it already ran for this decision id).
    fn execute(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError>;

    /// Undoes the action when its auto-revert timer fires. The default refuses.
    fn revert(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError> {
        Err(DecideError::Execute {
            executor: self.name().to_owned(),
            decision: action.decision().id().to_string(),
            message: "this executor cannot revert actions".into(),
        })
    }
}

/// Runs `action` with `executor` and records the outcome in `audit` (kind `action_executed`,
/// subject the decision id).
pub fn execute_audited(
    executor: &dyn Executor,
    action: &Authorized<'_>,
    audit: &dyn AuditSink,
) -> Result<Outcome, DecideError> {
    let outcome = executor.execute(action)?;
    let id = action.decision().id().to_string();
    audit
        .record(AuditEvent::new(
            AuditKind::ActionExecuted,
            executor.name(),
            id.clone(),
            json!({ "outcome": outcome, "approvers": action.approvers() }),
        ))
        .map_err(|source| DecideError::Audit {
            subject: id,
            source,
        })?;
    Ok(outcome)
}

/// Executes nothing; reports what would run. The default executor.
#[derive(Debug, Default)]
pub struct DryRun {
    seen: Mutex<Vec<Value>>,
}

impl DryRun {
    /// A dry-run executor.
    pub fn new() -> Self {
        Self::default()
    }

    /// The payloads it was given, in order.
    pub fn seen(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Executor for DryRun {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn execute(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(action.payload(false));
        Ok(Outcome::DryRun)
    }

    fn revert(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(action.payload(true));
        Ok(Outcome::DryRun)
    }
}

/// Appends one JSON line per action to a file (for a SOAR or a script to pick up). Idempotent
/// across processes: on open it reads the decision ids already in the file.
#[derive(Debug)]
pub struct FileAppend {
    path: PathBuf,
    done: Mutex<HashSet<(String, bool)>>,
}

impl FileAppend {
    /// Opens (or will create) `path`, remembering the decisions it already holds.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, DecideError> {
        let path = path.into();
        let mut done = HashSet::new();
        match std::fs::File::open(&path) {
            Ok(file) => {
                for line in BufReader::new(file).lines() {
                    let line = line.map_err(|e| io_error(&path, &e))?;
                    // Lines that are not ours (or cut short by a crash) are skipped, not fatal.
                    if let Ok(value) = serde_json::from_str::<Value>(&line)
                        && let Some(id) = value.get("decision_id").and_then(Value::as_str)
                    {
                        let revert = value
                            .get("revert")
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        done.insert((id.to_owned(), revert));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, &e)),
        }
        Ok(Self {
            path,
            done: Mutex::new(done),
        })
    }

    fn append(&self, action: &Authorized<'_>, revert: bool) -> Result<Outcome, DecideError> {
        let id = action.decision().id().to_string();
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        if done.contains(&(id.clone(), revert)) {
            return Ok(Outcome::AlreadyExecuted);
        }
        let mut payload = action.payload(revert);
        if let Some(object) = payload.as_object_mut() {
            object.insert("executed_at".into(), json!(Utc::now()));
        }
        let mut line = serde_json::to_vec(&payload).map_err(|e| self.fail(&id, &e.to_string()))?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| io_error(&self.path, &e))?;
        // One write call per line: appends of whole lines do not interleave with other writers.
        file.write_all(&line)
            .map_err(|e| io_error(&self.path, &e))?;
        file.sync_data().map_err(|e| io_error(&self.path, &e))?;
        done.insert((id, revert));
        Ok(Outcome::Executed)
    }

    fn fail(&self, decision: &str, message: &str) -> DecideError {
        DecideError::Execute {
            executor: self.name().to_owned(),
            decision: decision.to_owned(),
            message: message.to_owned(),
        }
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> DecideError {
    DecideError::Execute {
        executor: "file-append".into(),
        decision: String::new(),
        message: format!("`{}`: {e}", path.display()),
    }
}

impl Executor for FileAppend {
    fn name(&self) -> &'static str {
        "file-append"
    }

    fn execute(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError> {
        self.append(action, false)
    }

    fn revert(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError> {
        self.append(action, true)
    }
}

/// POSTs each action as JSON to a webhook (a SOAR, a chat bridge, an EDR's API gateway).
///
/// Idempotent in two ways: it never sends a decision id twice from one process, and every
/// request carries an `Idempotency-Key` header (the decision id, with `/revert` for reverts) so
/// the receiver can drop repeats from other processes; a `409 Conflict` answer counts as
/// already executed. Uses `ureq` (blocking, rustls): the stage is synchronous and real
/// webhooks are HTTPS.
pub struct Webhook {
    url: String,
    agent: ureq::Agent,
    sent: Mutex<HashSet<(DecisionId, bool)>>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a token in its path or query: print only scheme and host.
        let shown = self.url.split('/').take(3).collect::<Vec<_>>().join("/");
        f.debug_struct("Webhook")
            .field("url", &shown)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// A webhook at `url` (`http://` or `https://`), giving up on a request after `timeout`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self, DecideError> {
        let url = url.into();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(DecideError::InvalidConfig(
                "the webhook url must start with `https://` or `http://`".into(),
            ));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Ok(Self {
            url,
            agent: ureq::Agent::new_with_config(config),
            sent: Mutex::new(HashSet::new()),
        })
    }

    fn post(&self, action: &Authorized<'_>, revert: bool) -> Result<Outcome, DecideError> {
        let id = action.decision().id();
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        if sent.contains(&(id, revert)) {
            return Ok(Outcome::AlreadyExecuted);
        }
        let key = if revert {
            format!("{id}/revert")
        } else {
            id.to_string()
        };
        let body = serde_json::to_vec(&action.payload(revert))
            .map_err(|e| self.fail(id, &e.to_string()))?;
        let response = self
            .agent
            .post(&self.url)
            .header("Idempotency-Key", &key)
            .content_type("application/json")
            .send(&body[..])
            // ureq's errors name the URL; keep only the kind of failure so a token in the URL
            // never reaches a log.
            .map_err(|e| self.fail(id, &redact(&e.to_string(), &self.url)))?;
        let status = response.status().as_u16();
        let outcome = match status {
            200..=299 => Outcome::Executed,
            409 => Outcome::AlreadyExecuted,
            _ => return Err(self.fail(id, &format!("the webhook answered HTTP {status}"))),
        };
        sent.insert((id, revert));
        Ok(outcome)
    }

    fn fail(&self, decision: DecisionId, message: &str) -> DecideError {
        DecideError::Execute {
            executor: self.name().to_owned(),
            decision: decision.to_string(),
            message: message.to_owned(),
        }
    }
}

fn redact(message: &str, url: &str) -> String {
    message.replace(url, "<webhook url>")
}

impl Executor for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn execute(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError> {
        self.post(action, false)
    }

    fn revert(&self, action: &Authorized<'_>) -> Result<Outcome, DecideError> {
        self.post(action, true)
    }
}
