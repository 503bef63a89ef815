//! `rampart decisions list|approve|reject`: what the policies decided, and the approvals that
//! high-impact actions wait for. Every vote is written to the audit log before it counts; the
//! votes are read back from the log, so the log is the only record of who approved what.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_audit::{AuditKind, LogEntry};
use rampart_core::{ActionMode, DecisionId, IncidentId};
use rampart_decide::{
    ApprovalStatus, Approvals, AuditedDecision, Authorized, ENGINE, execute_audited,
};
use serde::Serialize;

use crate::audit_log::AuditLog;
use crate::config::Config;
use crate::output::print_json;

/// `rampart decisions` subcommands.
#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// List decisions with their approval status.
    List(ListArgs),
    /// Approve a decision that needs approval; it runs once its quorum of distinct approvers
    /// (none of them the requester) is reached.
    Approve(VoteArgs),
    /// Reject a decision; its action never runs.
    Reject(VoteArgs),
}

/// Arguments of `rampart decisions list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the decisions about this incident.
    #[arg(long)]
    pub incident: Option<IncidentId>,
}

/// Arguments of `rampart decisions approve|reject`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// The decision's id (`dec_…`).
    pub id: DecisionId,
    /// Who votes (recorded in the audit log).
    #[arg(long)]
    pub by: String,
    /// Why (recorded in the audit log).
    #[arg(long)]
    pub reason: String,
}

/// A decision with where it stands.
#[derive(Debug, Serialize)]
struct DecisionView {
    #[serde(flatten)]
    decision: rampart_core::Decision,
    policies: Vec<String>,
    audit_index: u64,
    status: String,
    approvals: Vec<String>,
    rejected_by: Option<String>,
}

/// Decisions and votes read from the audit log.
struct Ledger {
    decisions: HashMap<DecisionId, AuditedDecision>,
    approvals: Vec<LogEntry>,
}

fn read_log(audit: &AuditLog) -> anyhow::Result<Ledger> {
    let mut decisions = HashMap::new();
    let mut approvals = Vec::new();
    for index in 0..audit.len()? {
        let (entry, _) = audit.entry(index)?;
        match entry.kind {
            AuditKind::Decision => {
                let decision = AuditedDecision::from_log_entry(&entry)?;
                decisions.insert(decision.id(), decision);
            }
            AuditKind::Approval => approvals.push(entry),
            _ => {}
        }
    }
    Ok(Ledger {
        decisions,
        approvals,
    })
}

fn status_of(
    decision: &AuditedDecision,
    ledger: &Ledger,
) -> anyhow::Result<(String, Option<Approvals>)> {
    match decision.mode() {
        ActionMode::DryRun => Ok(("dry_run".to_owned(), None)),
        ActionMode::Automatic => Ok(("automatic".to_owned(), None)),
        ActionMode::NeedsApproval(_) => {
            let approvals = Approvals::from_log_entries(decision, ENGINE, &ledger.approvals)?;
            let status = match approvals.status() {
                ApprovalStatus::Pending { have, need } => {
                    format!("pending ({have} of {need} approvals)")
                }
                ApprovalStatus::Approved => "approved".to_owned(),
                ApprovalStatus::Rejected => "rejected".to_owned(),
            };
            Ok((status, Some(approvals)))
        }
    }
}

/// Runs `rampart decisions`.
pub fn run(
    command: &DecisionsCommand,
    data_dir: &Path,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let _store = super::open_existing_store(data_dir, config)?;
    let audit = crate::audit_log::open(data_dir)?;
    let ledger = read_log(&audit)?;
    match command {
        DecisionsCommand::List(args) => list(args, &ledger, json),
        DecisionsCommand::Approve(args) => vote(args, true, &ledger, &audit, config, json),
        DecisionsCommand::Reject(args) => vote(args, false, &ledger, &audit, config, json),
    }
}

fn view(decision: &AuditedDecision, ledger: &Ledger) -> anyhow::Result<DecisionView> {
    let (status, approvals) = status_of(decision, ledger)?;
    Ok(DecisionView {
        decision: decision.decision().clone(),
        policies: decision.policies().to_vec(),
        audit_index: decision.audit_index(),
        status,
        approvals: approvals
            .as_ref()
            .map(|a| a.approvals().iter().map(|v| v.by.clone()).collect())
            .unwrap_or_default(),
        rejected_by: approvals
            .as_ref()
            .and_then(|a| a.rejection().map(|v| v.by.clone())),
    })
}

fn list(args: &ListArgs, ledger: &Ledger, json: bool) -> anyhow::Result<()> {
    let mut decisions: Vec<&AuditedDecision> = ledger
        .decisions
        .values()
        .filter(|d| args.incident.is_none_or(|i| d.decision().incident_id == i))
        .collect();
    decisions.sort_by_key(|d| d.audit_index());
    let views = decisions
        .into_iter()
        .map(|d| view(d, ledger))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if json {
        return print_json(&views);
    }
    if views.is_empty() {
        println!("no decisions");
    }
    for v in &views {
        println!(
            "{}  {:<17} {:<28} incident {}  policy `{}`",
            v.decision.id,
            v.decision.action,
            v.status,
            v.decision.incident_id,
            v.decision.policy_id
        );
    }
    Ok(())
}

fn vote(
    args: &VoteArgs,
    approve: bool,
    ledger: &Ledger,
    audit: &AuditLog,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let decision = ledger
        .decisions
        .get(&args.id)
        .with_context(|| format!("no decision `{}` in this data dir's audit log", args.id))?;
    let (_, approvals) = status_of(decision, ledger)?;
    let mut approvals = approvals.with_context(|| {
        format!(
            "decision `{}` does not need approval (its mode is {:?})",
            args.id,
            decision.mode()
        )
    })?;
    let status = if approve {
        approvals.approve(decision, args.by.trim(), &args.reason, audit)?
    } else {
        approvals.reject(decision, args.by.trim(), &args.reason, audit)?
    };
    let mut executed = None;
    if status == ApprovalStatus::Approved {
        let cleared = Authorized::approved(decision, &approvals)?;
        let executor = config.decide.executor()?;
        executed = Some(execute_audited(executor.as_ref(), &cleared, audit)?);
    }
    let ledger = read_log(audit)?;
    let after = view(decision, &ledger)?;
    if json {
        return print_json(&serde_json::json!({ "decision": after, "executed": executed }));
    }
    println!(
        "{} `{}` for `{}`: now {}",
        if approve { "approved" } else { "rejected" },
        after.decision.action,
        after.decision.incident_id,
        after.status
    );
    if let Some(outcome) = executed {
        println!("executed: {outcome:?}");
    }
    Ok(())
}
