//! Approval quorums: a high-impact action runs only after N distinct approvers (none of them
//! the requester) said yes, and never after anyone said no. Every vote is recorded in the
//! audit log before it counts.

use chrono::{DateTime, Utc};
use rampart_audit::{AuditEvent, AuditKind, AuditSink, LogEntry};
use rampart_core::{ActionMode, DecisionId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{ApprovalError, AuditedDecision, DecideError, ENGINE};

/// Longest approver name or reason accepted, in bytes.
pub const MAX_VOTE_TEXT: usize = 2048;

/// One approval or rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// Who voted (as given, trimmed).
    pub by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where a decision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum ApprovalStatus {
    /// Waiting for more approvals.
    Pending {
        /// Approvals so far.
        have: u8,
        /// Approvals needed.
        need: u8,
    },
    /// The quorum was reached; the action may run.
    Approved,
    /// Someone rejected it; it never runs.
    Rejected,
}

/// The votes on one decision that needs approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approvals {
    decision_id: DecisionId,
    requester: String,
    required: u8,
    votes: Vec<Vote>,
    rejection: Option<Vote>,
}

impl Approvals {
    /// Starts collecting votes on `decision`, which `requester` asked for (the engine,
    /// [`ENGINE`], for policy decisions). Fails unless the decision's mode needs approval.
    pub fn new(
        decision: &AuditedDecision,
        requester: impl Into<String>,
    ) -> Result<Self, DecideError> {
        let ActionMode::NeedsApproval(required) = decision.mode() else {
            return Err(ApprovalError::NotPending {
                decision: decision.id().to_string(),
                mode: mode_name(decision.mode()),
            }
            .into());
        };
        Ok(Self {
            decision_id: decision.id(),
            requester: requester.into().trim().to_owned(),
            required: required.max(1),
            votes: Vec::new(),
            rejection: None,
        })
    }

    /// Rebuilds the votes on `decision` from its audit log entries (`approval` entries whose
    /// subject is the decision id; other entries are skipped), in log order.
    pub fn from_log_entries<'a>(
        decision: &AuditedDecision,
        requester: impl Into<String>,
        entries: impl IntoIterator<Item = &'a LogEntry>,
    ) -> Result<Self, DecideError> {
        let mut approvals = Self::new(decision, requester)?;
        let subject = decision.id().to_string();
        for entry in entries {
            if entry.kind != AuditKind::Approval || entry.subject != subject {
                continue;
            }
            let verdict = entry.details.get("verdict").and_then(|v| v.as_str());
            let reason = entry
                .details
                .get("reason")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let at = DateTime::parse_from_rfc3339(&entry.time)
                .map_or_else(|_| Utc::now(), |t| t.to_utc());
            match verdict {
                Some("approve") => {
                    let vote = approvals.check(decision, &entry.actor, reason, at)?;
                    approvals.votes.push(vote);
                }
                Some("reject") => {
                    let vote = approvals.check_open(decision, &entry.actor, reason, at)?;
                    approvals.rejection = Some(vote);
                }
                _ => {}
            }
        }
        Ok(approvals)
    }

    /// The decision voted on.
    pub fn decision_id(&self) -> DecisionId {
        self.decision_id
    }

    /// Who asked for the action (may not approve it).
    pub fn requester(&self) -> &str {
        &self.requester
    }

    /// Approvals so far, in order.
    pub fn approvals(&self) -> &[Vote] {
        &self.votes
    }

    /// The rejection, if any.
    pub fn rejection(&self) -> Option<&Vote> {
        self.rejection.as_ref()
    }

    /// Where the decision stands.
    pub fn status(&self) -> ApprovalStatus {
        if self.rejection.is_some() {
            ApprovalStatus::Rejected
        } else if self.votes.len() >= usize::from(self.required) {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Pending {
                have: u8::try_from(self.votes.len()).unwrap_or(u8::MAX),
                need: self.required,
            }
        }
    }

    /// `by` approves, for `reason`. Recorded in `audit` first; refused when `by` is the
    /// requester or already approved, or when the decision is already approved or rejected.
    pub fn approve(
        &mut self,
        decision: &AuditedDecision,
        by: &str,
        reason: &str,
        audit: &dyn AuditSink,
    ) -> Result<ApprovalStatus, DecideError> {
        let vote = self.check(decision, by, reason, Utc::now())?;
        let mut after = self.clone();
        after.votes.push(vote.clone());
        self.record(audit, "approve", &vote, after.status())?;
        *self = after;
        Ok(self.status())
    }

    /// `by` rejects, for `reason`; the action will never run. Recorded in `audit` first. The
    /// requester may withdraw their own request this way.
    pub fn reject(
        &mut self,
        decision: &AuditedDecision,
        by: &str,
        reason: &str,
        audit: &dyn AuditSink,
    ) -> Result<ApprovalStatus, DecideError> {
        let vote = self.check_open(decision, by, reason, Utc::now())?;
        self.record(audit, "reject", &vote, ApprovalStatus::Rejected)?;
        self.rejection = Some(vote);
        Ok(self.status())
    }

    /// The rules every approval passes.
    fn check(
        &self,
        decision: &AuditedDecision,
        by: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Vote, DecideError> {
        let vote = self.check_open(decision, by, reason, at)?;
        let person = normalise(&vote.by);
        if person == normalise(&self.requester) || person == ENGINE {
            return Err(ApprovalError::OwnRequest {
                by: vote.by,
                decision: self.decision_id.to_string(),
            }
            .into());
        }
        if self.votes.iter().any(|v| normalise(&v.by) == person) {
            return Err(ApprovalError::AlreadyApproved {
                by: vote.by,
                decision: self.decision_id.to_string(),
            }
            .into());
        }
        Ok(vote)
    }

    /// The rules every vote passes: right decision, still open, names and reasons given.
    fn check_open(
        &self,
        decision: &AuditedDecision,
        by: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Vote, DecideError> {
        if decision.id() != self.decision_id {
            return Err(ApprovalError::WrongDecision {
                expected: self.decision_id.to_string(),
                got: decision.id().to_string(),
            }
            .into());
        }
        match self.status() {
            ApprovalStatus::Rejected => {
                return Err(ApprovalError::Closed {
                    decision: self.decision_id.to_string(),
                    state: "rejected",
                }
                .into());
            }
            ApprovalStatus::Approved => {
                return Err(ApprovalError::Closed {
                    decision: self.decision_id.to_string(),
                    state: "approved",
                }
                .into());
            }
            ApprovalStatus::Pending { .. } => {}
        }
        let by = by.trim();
        let reason = reason.trim();
        if by.is_empty() || by.len() > MAX_VOTE_TEXT {
            return Err(ApprovalError::Missing { field: "by" }.into());
        }
        if reason.is_empty() || reason.len() > MAX_VOTE_TEXT {
            return Err(ApprovalError::Missing { field: "reason" }.into());
        }
        Ok(Vote {
            by: by.to_owned(),
            reason: reason.to_owned(),
            at,
        })
    }

    fn record(
        &self,
        audit: &dyn AuditSink,
        verdict: &str,
        vote: &Vote,
        status: ApprovalStatus,
    ) -> Result<(), DecideError> {
        let event = AuditEvent::new(
            AuditKind::Approval,
            vote.by.clone(),
            self.decision_id.to_string(),
            json!({
                "verdict": verdict,
                "reason": vote.reason,
                "requester": self.requester,
                "status": status,
            }),
        );
        audit.record(event).map_err(|source| DecideError::Audit {
            subject: self.decision_id.to_string(),
            source,
        })?;
        Ok(())
    }
}

/// Approver identity for comparisons: trimmed, lowercase.
fn normalise(name: &str) -> String {
    name.trim().to_lowercase()
}

pub(crate) fn mode_name(mode: ActionMode) -> String {
    match mode {
        ActionMode::DryRun => "dry_run".into(),
        ActionMode::NeedsApproval(n) => format!("needs_approval({n})"),
        ActionMode::Automatic => "automatic".into(),
    }
}
