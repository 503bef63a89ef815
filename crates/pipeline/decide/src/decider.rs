//! Deciding: evaluate the policies for every action, record each new decision in the audit
//! log, and only then hand it out.

use std::collections::HashSet;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex, PoisonError};

use cedar_policy::{Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, Request};
use chrono::{DateTime, TimeDelta, Utc};
use rampart_audit::{AuditEvent, AuditKind, AuditSink, LogEntry};
use rampart_core::{ActionMode, Decision, DecisionId, Incident};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{ActionKind, Autonomy, DecideError, Facts, PolicySet};

/// The principal of every request and the actor of every decision record.
pub const ENGINE: &str = "rampart";

/// A decision that is in the audit log. The only ways to get one are [`Decider::decide`], which
/// records before returning, and [`AuditedDecision::from_log_entry`], which reads one back from
/// the log; executors and approvals accept nothing else (invariant 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditedDecision {
    decision: Decision,
    policies: Vec<String>,
    audit_index: u64,
    revert_at: Option<DateTime<Utc>>,
}

impl AuditedDecision {
    /// The decision (id, incident, action, mode, policy id, facts, time).
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The decision, for storing.
    pub fn into_decision(self) -> Decision {
        self.decision
    }

    /// The decision's id.
    pub fn id(&self) -> DecisionId {
        self.decision.id
    }

    /// Its action.
    pub fn action(&self) -> Option<ActionKind> {
        self.decision.action.parse().ok()
    }

    /// Its autonomy mode.
    pub fn mode(&self) -> ActionMode {
        self.decision.mode
    }

    /// Every policy that permitted the action (the decision's `policy_id` is the first).
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// Where its record sits in the audit log.
    pub fn audit_index(&self) -> u64 {
        self.audit_index
    }

    /// When an automatic action is to be undone, if ever.
    pub fn revert_at(&self) -> Option<DateTime<Utc>> {
        self.revert_at
    }

    /// Rebuilds a decision from its audit log entry (e.g. to approve it in a later process).
    pub fn from_log_entry(entry: &LogEntry) -> Result<Self, DecideError> {
        let bad = |message: String| DecideError::Evaluate {
            incident: entry.subject.clone(),
            message: format!(
                "audit entry {} is not a decision record: {message}",
                entry.index
            ),
        };
        if entry.kind != AuditKind::Decision {
            return Err(bad(format!("its kind is `{}`", entry.kind)));
        }
        let record: DecisionRecord =
            serde_json::from_value(entry.details.clone()).map_err(|e| bad(e.to_string()))?;
        if record.decision.id.to_string() != entry.subject {
            return Err(bad("its subject is not the decision's id".into()));
        }
        Ok(Self {
            decision: record.decision,
            policies: record.policies,
            audit_index: entry.index,
            revert_at: record.revert_at,
        })
    }
}

/// What the audit log keeps about a decision (`details` of a `decision` entry).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DecisionRecord {
    decision: Decision,
    policies: Vec<String>,
    revert_at: Option<DateTime<Utc>>,
}

/// One action the policies permit for an incident, before anything is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The action.
    pub action: ActionKind,
    /// The ids of the `permit` policies that matched, sorted.
    pub policies: Vec<String>,
    /// The mode it would get.
    pub mode: ActionMode,
}

/// The source of the current time; tests fix it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Whether a decision id was already decided in an earlier process (e.g. a store lookup).
pub type KnownDecisions = Box<dyn Fn(&DecisionId) -> bool + Send + Sync>;

/// Turns incidents and their facts into audited decisions under a policy set.
pub struct Decider {
    policies: PolicySet,
    autonomy: Autonomy,
    decided: Mutex<HashSet<DecisionId>>,
    known: Option<KnownDecisions>,
    clock: Clock,
}

impl std::fmt::Debug for Decider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decider")
            .field("policies", &self.policies.len())
            .field("autonomy", &self.autonomy)
            .finish_non_exhaustive()
    }
}

impl Decider {
    /// A decider over `policies` with the given autonomy.
    pub fn new(policies: PolicySet, autonomy: Autonomy) -> Result<Self, DecideError> {
        autonomy.validate()?;
        Ok(Self {
            policies,
            autonomy,
            decided: Mutex::new(HashSet::new()),
            known: None,
            clock: Arc::new(Utc::now),
        })
    }

    /// Consults `known` before recording, so decisions made by an earlier run are not recorded
    /// (or executed) again.
    #[must_use]
    pub fn with_known_decisions(mut self, known: KnownDecisions) -> Self {
        self.known = Some(known);
        self
    }

    /// Uses `clock` for `decided_at`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The policies in force.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The autonomy in force.
    pub fn autonomy(&self) -> &Autonomy {
        &self.autonomy
    }

    /// Which actions the policies permit for these facts, without recording anything.
    ///
    /// `close_as_benign` is dropped when any other action is permitted: an incident that
    /// something wants to act on is never closed silently.
    pub fn evaluate(&self, facts: &Facts) -> Result<Vec<Proposal>, DecideError> {
        let err = |message: String| DecideError::Evaluate {
            incident: facts.incident_id.clone(),
            message,
        };
        let incident_type =
            EntityTypeName::from_str("Rampart::Incident").map_err(|e| err(e.to_string()))?;
        let engine_type =
            EntityTypeName::from_str("Rampart::Engine").map_err(|e| err(e.to_string()))?;
        let action_type =
            EntityTypeName::from_str("Rampart::Action").map_err(|e| err(e.to_string()))?;
        let resource =
            EntityUid::from_type_name_and_id(incident_type, EntityId::new(&facts.incident_id));
        let principal = EntityUid::from_type_name_and_id(engine_type, EntityId::new(ENGINE));
        let entities = Entities::from_json_value(
            json!([
                {
                    "uid": {"type": "Rampart::Incident", "id": facts.incident_id},
                    "attrs": facts.cedar_attributes(),
                    "parents": []
                },
                {"uid": {"type": "Rampart::Engine", "id": ENGINE}, "attrs": {}, "parents": []}
            ]),
            Some(&self.policies.schema),
        )
        .map_err(|e| err(e.to_string()))?;
        let authorizer = Authorizer::new();
        let mut proposals = Vec::new();
        for action in ActionKind::ALL {
            let action_uid = EntityUid::from_type_name_and_id(
                action_type.clone(),
                EntityId::new(action.as_str()),
            );
            let request = Request::new(
                principal.clone(),
                action_uid,
                resource.clone(),
                Context::empty(),
                Some(&self.policies.schema),
            )
            .map_err(|e| err(e.to_string()))?;
            let response = authorizer.is_authorized(&request, &self.policies.policies, &entities);
            if response.decision() != cedar_policy::Decision::Allow {
                continue;
            }
            let mut policies: Vec<String> = response
                .diagnostics()
                .reason()
                .map(ToString::to_string)
                .collect();
            policies.sort();
            proposals.push(Proposal {
                action,
                policies,
                mode: self.autonomy.mode(action),
            });
        }
        if proposals
            .iter()
            .any(|p| p.action != ActionKind::CloseAsBenign)
        {
            proposals.retain(|p| p.action != ActionKind::CloseAsBenign);
        }
        Ok(proposals)
    }

    /// Decides about `incident`: evaluates the policies on `facts`, records every decision not
    /// made before in `audit` (all of them in one batch), and returns the recorded ones.
    /// Re-running with the same incident and policies returns nothing new.
    pub fn decide(
        &self,
        incident: &Incident,
        facts: &Facts,
        audit: &dyn AuditSink,
    ) -> Result<Vec<AuditedDecision>, DecideError> {
        if facts.incident_id != incident.id.to_string() {
            return Err(DecideError::Evaluate {
                incident: incident.id.to_string(),
                message: format!(
                    "the facts describe incident `{}`; derive them with `Facts::from_incident`",
                    facts.incident_id
                ),
            });
        }
        let proposals = self.evaluate(facts)?;
        let now = (self.clock)();
        let mut fresh = Vec::new();
        {
            let decided = self.decided.lock().unwrap_or_else(PoisonError::into_inner);
            for proposal in proposals {
                let Some(policy_id) = proposal.policies.first().cloned() else {
                    continue;
                };
                let id = DecisionId::derive(&[
                    b"decision/v1",
                    incident.id.as_bytes(),
                    proposal.action.as_str().as_bytes(),
                    policy_id.as_bytes(),
                ]);
                if decided.contains(&id) || self.known.as_ref().is_some_and(|known| known(&id)) {
                    continue;
                }
                let revert_at = self
                    .autonomy
                    .revert_after(proposal.action)
                    .and_then(|secs| i64::try_from(secs).ok())
                    .and_then(TimeDelta::try_seconds)
                    .and_then(|d| now.checked_add_signed(d));
                let mut record = facts.to_record();
                if let Some(object) = record.as_object_mut() {
                    object.insert("policies".into(), json!(proposal.policies));
                    object.insert("targets".into(), targets(proposal.action, facts));
                }
                fresh.push(AuditedDecision {
                    decision: Decision {
                        id,
                        incident_id: incident.id,
                        action: proposal.action.as_str().to_owned(),
                        mode: proposal.mode,
                        policy_id,
                        facts: record,
                        decided_at: now,
                    },
                    policies: proposal.policies,
                    audit_index: 0,
                    revert_at,
                });
            }
        }
        if fresh.is_empty() {
            return Ok(fresh);
        }
        let events = fresh
            .iter()
            .map(|d| {
                let record = DecisionRecord {
                    decision: d.decision.clone(),
                    policies: d.policies.clone(),
                    revert_at: d.revert_at,
                };
                AuditEvent::new(
                    AuditKind::Decision,
                    ENGINE,
                    d.decision.id.to_string(),
                    serde_json::to_value(record).unwrap_or_default(),
                )
            })
            .collect();
        // INVARIANT: a decision leaves this function only after the log has stored its record.
        let receipts = audit
            .record_batch(events)
            .map_err(|source| DecideError::Audit {
                subject: incident.id.to_string(),
                source,
            })?;
        if receipts.len() != fresh.len() {
            return Err(DecideError::Audit {
                subject: incident.id.to_string(),
                source: rampart_audit::AuditError::Storage(format!(
                    "{} decisions recorded but {} receipts returned",
                    fresh.len(),
                    receipts.len()
                )),
            });
        }
        let mut decided = self.decided.lock().unwrap_or_else(PoisonError::into_inner);
        for (decision, receipt) in fresh.iter_mut().zip(receipts) {
            decision.audit_index = receipt.index;
            decided.insert(decision.decision.id);
        }
        Ok(fresh)
    }
}

/// What an action would act on.
fn targets(action: ActionKind, facts: &Facts) -> serde_json::Value {
    match action {
        ActionKind::ContainHost => json!(facts.hosts),
        ActionKind::BlockIndicator => json!(facts.indicators),
        ActionKind::CloseAsBenign | ActionKind::Escalate | ActionKind::RequestApproval => {
            json!([facts.incident_id])
        }
    }
}
