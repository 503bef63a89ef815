//! Decisions: Cedar policies over incident facts, graded autonomy with approvals, and action
//! executors.
//!
//! Input: an [`Incident`](rampart_core::Incident) and its [`Facts`] (derived from the incident,
//! its alerts and asset criticality). Output: [`AuditedDecision`]s, each naming its action,
//! its autonomy mode, the policy that matched and the facts it saw.
//!
//! - Policies are [Cedar](https://www.cedarpolicy.com) validated against a schema
//!   ([`SCHEMA`]); a policy that fails to parse or validate is reported by file and id and the
//!   others load ([`PolicySet::load`]). [`PolicySet::default_set`] is embedded.
//! - Every action has a mode ([`Autonomy`]): dry-run, needs N approvals, or automatic (with an
//!   optional auto-revert timer). High-impact actions (`contain_host`, `block_indicator`) need 2
//!   distinct approvers by default, none of them the requester ([`Approvals`]).
//! - Executors ([`Executor`]: [`DryRun`], [`FileAppend`], [`Webhook`]) run only
//!   [`Authorized`] actions and are idempotent by decision id.
//!
//! The main design decision is that a decision cannot exist without its audit record: the
//! only way to obtain an [`AuditedDecision`] is [`Decider::decide`], which takes a
//! `&dyn AuditSink` and returns decisions only after the sink stored them (or
//! [`AuditedDecision::from_log_entry`], which reads one back from the log). Decision ids are
//! derived from the incident, action and policy, so re-runs never duplicate a decision.
//!
//! ```
//! use rampart_audit::{LogConfig, TransparencyLog};
//! use rampart_core::{ActionMode, Incident, IncidentId, EntityKind, EntityRef};
//! use rampart_decide::{Autonomy, Decider, Facts, PolicySet};
//!
//! let key = rampart_crypto::ed25519::Ed25519SigningKey::generate().unwrap();
//! let log = TransparencyLog::in_memory(key, LogConfig::new("example/audit")).unwrap();
//! let incident = Incident {
//!     id: IncidentId::derive(&[b"example"]),
//!     title: "Credential access on ws-01".into(),
//!     alert_ids: vec![],
//!     entities: vec![EntityRef::new(EntityKind::Host, "ws-01")],
//!     tactics: vec!["credential-access".into()],
//!     techniques: vec!["T1003.001".into()],
//!     score: 92.0,
//!     first_seen: None,
//!     last_seen: None,
//! };
//! let facts = Facts::from_incident(&incident, &[], &|_| 1.0);
//! let decider = Decider::new(PolicySet::default_set().unwrap(), Autonomy::default()).unwrap();
//! let decisions = decider.decide(&incident, &facts, &log).unwrap();
//! let actions: Vec<&str> = decisions.iter().map(|d| d.decision().action.as_str()).collect();
//! assert_eq!(actions, ["escalate", "contain_host"]);
//! assert_eq!(decisions[1].mode(), ActionMode::NeedsApproval(2));
//! assert_eq!(log.len().unwrap(), 2);
//! // Deciding again records nothing new.
//! assert!(decider.decide(&incident, &facts, &log).unwrap().is_empty());
//! ```

mod action;
mod approval;
mod decider;
mod error;
mod execute;
mod facts;
mod policy;

pub use action::{ActionKind, Autonomy, DEFAULT_QUORUM};
pub use approval::{ApprovalStatus, Approvals, MAX_VOTE_TEXT, Vote};
pub use decider::{AuditedDecision, Clock, Decider, ENGINE, KnownDecisions, Proposal};
pub use error::{ApprovalError, DecideError, PolicyError};
pub use execute::{Authorized, DryRun, Executor, FileAppend, Outcome, Webhook, execute_audited};
pub use facts::{Facts, level_rank};
pub use policy::{
    DEFAULT_POLICIES, MAX_POLICIES_PER_FILE, MAX_POLICY_FILE_BYTES, PolicyOrigin, PolicySet, SCHEMA,
};
