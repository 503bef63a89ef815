//! The crate's error types.

use std::path::PathBuf;

use rampart_audit::AuditError;

/// A policy that could not be loaded: which file, which policy, and why. The other policies of
/// the file still load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy `{policy}` in `{file}` (line {line}): {message}")]
pub struct PolicyError {
    /// The file (or embedded set) the policy came from.
    pub file: String,
    /// The policy's `@id`, or `#<n>` (its position in the file) when it has none or did not parse.
    pub policy: String,
    /// The line its text starts on (1-based).
    pub line: usize,
    /// What is wrong, in Cedar's words.
    pub message: String,
}

/// Errors from deciding, approving and executing.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// A policy file could not be read.
    #[error("cannot read policies from `{path}`: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The schema or the default policies failed to load (a build defect, not user input).
    #[error("built-in policies are invalid: {0}")]
    BuiltIn(String),
    /// Facts could not be turned into a Cedar request.
    #[error("cannot evaluate policies for incident `{incident}`: {message}")]
    Evaluate {
        /// The incident.
        incident: String,
        /// Why.
        message: String,
    },
    /// The audit log refused the record; nothing was decided or changed.
    #[error("cannot record `{subject}` in the audit log: {source}")]
    Audit {
        /// What was being recorded.
        subject: String,
        /// Why.
        source: AuditError,
    },
    /// An approval or rejection broke a rule.
    #[error("{0}")]
    Approval(#[from] ApprovalError),
    /// An action cannot run in its current state.
    #[error("decision `{decision}` cannot be executed: {reason}")]
    NotExecutable {
        /// The decision.
        decision: String,
        /// Why.
        reason: String,
    },
    /// An executor failed.
    #[error("executor `{executor}` failed on decision `{decision}`: {message}")]
    Execute {
        /// The executor's name.
        executor: String,
        /// The decision.
        decision: String,
        /// Why.
        message: String,
    },
    /// A configuration value is out of range.
    #[error("invalid `[decide]` configuration: {0}")]
    InvalidConfig(String),
}

/// Why an approval or rejection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// The requester tried to approve their own action.
    #[error("`{by}` requested decision `{decision}` and cannot approve it; ask another approver")]
    OwnRequest {
        /// The approver.
        by: String,
        /// The decision.
        decision: String,
    },
    /// The same approver approved twice.
    #[error(
        "`{by}` already approved decision `{decision}`; approvals must come from distinct people"
    )]
    AlreadyApproved {
        /// The approver.
        by: String,
        /// The decision.
        decision: String,
    },
    /// The decision was already rejected or fully approved.
    #[error("decision `{decision}` is already {state}")]
    Closed {
        /// The decision.
        decision: String,
        /// `approved` or `rejected`.
        state: &'static str,
    },
    /// The decision does not wait for approvals (dry-run or automatic).
    #[error("decision `{decision}` does not need approval (its mode is `{mode}`)")]
    NotPending {
        /// The decision.
        decision: String,
        /// Its mode.
        mode: String,
    },
    /// No approver name or no reason was given.
    #[error("an approval or rejection needs a non-empty `{field}`")]
    Missing {
        /// `by` or `reason`.
        field: &'static str,
    },
    /// The approvals belong to another decision.
    #[error("approvals for `{expected}` were given decision `{got}`")]
    WrongDecision {
        /// The decision the approvals track.
        expected: String,
        /// The decision passed in.
        got: String,
    },
}
