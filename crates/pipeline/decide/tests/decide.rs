//! Decisions end to end: default policies on representative incidents, audit records in a real
//! transparency log over `SQLite`, approval rules, idempotence and the executors.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use rampart_audit::{
    AuditError, AuditEvent, AuditKind, AuditReceipt, AuditSink, LogConfig, TransparencyLog,
};
use rampart_core::{
    ActionMode, Alert, AlertId, AlertSource, EntityKind, EntityRef, Incident, IncidentId, Level,
};
use rampart_crypto::ed25519::Ed25519SigningKey;
use rampart_decide::{
    ActionKind, ApprovalError, ApprovalStatus, Approvals, AuditedDecision, Authorized, Autonomy,
    DecideError, Decider, DryRun, ENGINE, Executor, Facts, FileAppend, Outcome, PolicySet, Webhook,
    execute_audited,
};
use rampart_store::SqliteLogStorage;

type Log = TransparencyLog<SqliteLogStorage>;

fn open_log(dir: &std::path::Path) -> Log {
    let storage = SqliteLogStorage::open(dir).unwrap();
    TransparencyLog::open(
        storage,
        Ed25519SigningKey::generate().unwrap(),
        LogConfig::new("test/audit"),
    )
    .unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_000_000, 0).unwrap() + TimeDelta::seconds(secs)
}

fn host(v: &str) -> EntityRef {
    EntityRef::new(EntityKind::Host, v)
}

struct Case {
    name: &'static str,
    incident: Incident,
    alerts: Vec<Alert>,
}

fn alert(
    source: AlertSource,
    rule: &str,
    level: Level,
    techniques: &[&str],
    entities: Vec<EntityRef>,
) -> Alert {
    Alert {
        id: AlertId::derive(&[rule.as_bytes(), format!("{entities:?}").as_bytes()]),
        source,
        rule_id: rule.into(),
        title: rule.into(),
        level,
        score: None,
        techniques: techniques.iter().map(|t| (*t).to_owned()).collect(),
        tactics: Vec::new(),
        entities,
        event_ids: Vec::new(),
        first_seen: Some(at(0)),
        last_seen: Some(at(600)),
        explanation: None,
    }
}

fn case(name: &'static str, score: f64, tactics: &[&str], alerts: Vec<Alert>) -> Case {
    let mut entities: Vec<EntityRef> = alerts.iter().flat_map(|a| a.entities.clone()).collect();
    entities.sort();
    entities.dedup();
    let mut techniques: Vec<String> = alerts.iter().flat_map(|a| a.techniques.clone()).collect();
    techniques.sort();
    techniques.dedup();
    Case {
        name,
        incident: Incident {
            id: IncidentId::derive(&[name.as_bytes()]),
            title: name.into(),
            alert_ids: alerts.iter().map(|a| a.id).collect(),
            entities,
            tactics: tactics.iter().map(|t| (*t).to_owned()).collect(),
            techniques,
            score,
            first_seen: Some(at(0)),
            last_seen: Some(at(600)),
        },
        alerts,
    }
}

/// Representative incidents and the actions the default policies must choose.
#[expect(
    clippy::too_many_lines,
    reason = "one table of cases reads best in one place"
)]
fn cases() -> Vec<(Case, Vec<ActionKind>)> {
    use ActionKind::{BlockIndicator, CloseAsBenign, ContainHost, Escalate, RequestApproval};
    let user = EntityRef::new(EntityKind::User, "acme\\alice");
    let c2 = EntityRef::new(EntityKind::Ip, "203.0.113.77");
    let mut confident = alert(
        AlertSource::Indicator,
        "intel:c2-list",
        Level::Medium,
        &[],
        vec![host("ws-07"), c2.clone()],
    );
    confident.score = Some(0.92);
    let mut doubtful = confident.clone();
    doubtful.score = Some(0.4);
    doubtful.id = AlertId::derive(&[b"doubtful"]);
    vec![
        (
            case(
                "ransomware",
                64.0,
                &["execution", "impact"],
                vec![
                    alert(
                        AlertSource::Sigma,
                        "vssadmin-delete-shadows",
                        Level::High,
                        &["T1490"],
                        vec![host("ws-01")],
                    ),
                    alert(
                        AlertSource::Sigma,
                        "mass-file-rename",
                        Level::High,
                        &["T1486"],
                        vec![host("ws-01"), user.clone()],
                    ),
                ],
            ),
            vec![Escalate, ContainHost],
        ),
        (
            case(
                "credential-theft-and-lateral-movement",
                96.0,
                &["execution", "credential-access", "lateral-movement"],
                vec![
                    alert(
                        AlertSource::Sigma,
                        "lsass-access",
                        Level::High,
                        &["T1003.001"],
                        vec![host("ws-02"), user.clone()],
                    ),
                    alert(
                        AlertSource::Sigma,
                        "psexec-service",
                        Level::Medium,
                        &["T1021.002", "T1569.002"],
                        vec![host("ws-02"), host("srv-03")],
                    ),
                ],
            ),
            vec![Escalate, ContainHost],
        ),
        (
            case(
                "credential-theft-on-domain-controller",
                96.0,
                &["credential-access"],
                vec![alert(
                    AlertSource::Sigma,
                    "dcsync",
                    Level::Critical,
                    &["T1003.006"],
                    vec![host("dc-01"), user.clone()],
                )],
            ),
            // Containing a domain controller is forbidden: escalate and ask for review instead.
            vec![Escalate, RequestApproval],
        ),
        (
            case(
                "confident-c2-indicator",
                35.0,
                &["command-and-control"],
                vec![confident],
            ),
            vec![BlockIndicator],
        ),
        (
            case(
                "doubtful-indicator",
                35.0,
                &["command-and-control"],
                vec![doubtful],
            ),
            vec![],
        ),
        (
            case(
                "informational-noise",
                2.0,
                &[],
                vec![alert(
                    AlertSource::Anomaly,
                    "rare-process",
                    Level::Low,
                    &[],
                    vec![host("ws-09")],
                )],
            ),
            vec![CloseAsBenign],
        ),
        (
            case(
                "discovery-only",
                22.0,
                &["discovery"],
                vec![alert(
                    AlertSource::Sigma,
                    "net-group-domain-admins",
                    Level::Medium,
                    &["T1069.002"],
                    vec![host("ws-04")],
                )],
            ),
            vec![],
        ),
    ]
}

fn criticality(e: &EntityRef) -> f64 {
    if e.value.starts_with("dc-") { 3.0 } else { 1.0 }
}

fn decider() -> Decider {
    Decider::new(PolicySet::default_set().unwrap(), Autonomy::default()).unwrap()
}

#[test]
fn default_policies_choose_sensible_actions() {
    let decider = decider();
    for (case, expected) in cases() {
        let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
        let got: Vec<ActionKind> = decider
            .evaluate(&facts)
            .unwrap()
            .into_iter()
            .map(|p| p.action)
            .collect();
        assert_eq!(got, expected, "{}: {facts:#?}", case.name);
    }
}

#[test]
fn decisions_are_recorded_in_the_audit_log_before_they_exist() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let first = decider();
    let mut all: Vec<AuditedDecision> = Vec::new();
    for (case, expected) in cases() {
        let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
        let decisions = first.decide(&case.incident, &facts, &log).unwrap();
        assert_eq!(decisions.len(), expected.len(), "{}", case.name);
        for d in &decisions {
            let decision = d.decision();
            assert_eq!(decision.incident_id, case.incident.id);
            assert!(!decision.policy_id.is_empty());
            assert_eq!(
                decision.facts["facts"]["incident_id"],
                case.incident.id.to_string()
            );
            assert!(
                decision.facts["policies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p == &decision.policy_id)
            );
            let mode = Autonomy::default().mode(d.action().unwrap());
            assert_eq!(decision.mode, mode);
        }
        all.extend(decisions);
    }
    assert_eq!(log.len().unwrap(), all.len() as u64);
    for d in &all {
        let (entry, _) = log.entry(d.audit_index()).unwrap();
        assert_eq!(entry.kind, AuditKind::Decision);
        assert_eq!(entry.actor, ENGINE);
        assert_eq!(entry.subject, d.id().to_string());
        let back = AuditedDecision::from_log_entry(&entry).unwrap();
        assert_eq!(&back, d);
    }
    log.verify().unwrap();

    // Re-running over the same incidents records nothing and returns nothing.
    for (case, _) in cases() {
        let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
        assert!(
            first
                .decide(&case.incident, &facts, &log)
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(log.len().unwrap(), all.len() as u64);

    // A fresh process that knows the earlier decisions (from the store or the log) neither.
    let known: BTreeSet<_> = all.iter().map(AuditedDecision::id).collect();
    let again = decider().with_known_decisions(Box::new(move |id| known.contains(id)));
    for (case, _) in cases() {
        let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
        assert!(
            again
                .decide(&case.incident, &facts, &log)
                .unwrap()
                .is_empty()
        );
    }
    // Without that knowledge it derives the very same ids (so the store keeps one copy).
    let fresh = decider();
    let (case, _) = cases().into_iter().next().unwrap();
    let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
    let ids: Vec<_> = fresh
        .decide(&case.incident, &facts, &log)
        .unwrap()
        .iter()
        .map(AuditedDecision::id)
        .collect();
    assert!(ids.iter().all(|id| all.iter().any(|d| d.id() == *id)));
}

/// A sink that refuses everything: no decision may come out of it.
struct BrokenSink;

impl AuditSink for BrokenSink {
    fn record(&self, _: AuditEvent) -> Result<AuditReceipt, AuditError> {
        Err(AuditError::Storage("disk full".into()))
    }
}

#[test]
fn no_decision_without_its_audit_record() {
    let decider = decider();
    let (case, _) = cases().into_iter().next().unwrap();
    let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
    let err = decider
        .decide(&case.incident, &facts, &BrokenSink)
        .unwrap_err();
    assert!(matches!(err, DecideError::Audit { .. }), "{err}");
    assert!(err.to_string().contains("disk full"));
    // Nothing was remembered as decided: a working sink gets the decisions afterwards.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    assert_eq!(
        decider.decide(&case.incident, &facts, &log).unwrap().len(),
        2
    );
}

fn contain_decision(log: &Log) -> AuditedDecision {
    let (case, _) = cases().into_iter().nth(1).unwrap();
    let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
    decider()
        .decide(&case.incident, &facts, log)
        .unwrap()
        .into_iter()
        .find(|d| d.action() == Some(ActionKind::ContainHost))
        .unwrap()
}

#[test]
fn approvals_need_distinct_approvers_other_than_the_requester() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let decision = contain_decision(&log);
    assert_eq!(decision.mode(), ActionMode::NeedsApproval(2));
    assert_eq!(
        decision.decision().facts["targets"],
        serde_json::json!([host("srv-03"), host("ws-02")])
    );
    let mut approvals = Approvals::new(&decision, ENGINE).unwrap();
    let before = log.len().unwrap();

    let own = approvals
        .approve(&decision, "rampart", "looks right", &log)
        .unwrap_err();
    assert!(
        matches!(own, DecideError::Approval(ApprovalError::OwnRequest { .. })),
        "{own}"
    );
    let empty = approvals
        .approve(&decision, "alice", "  ", &log)
        .unwrap_err();
    assert!(matches!(
        empty,
        DecideError::Approval(ApprovalError::Missing { field: "reason" })
    ));
    assert_eq!(log.len().unwrap(), before, "refused votes are not recorded");

    assert_eq!(
        approvals
            .approve(&decision, "alice", "lsass dump confirmed in EDR", &log)
            .unwrap(),
        ApprovalStatus::Pending { have: 1, need: 2 }
    );
    let twice = approvals
        .approve(&decision, " ALICE ", "really sure", &log)
        .unwrap_err();
    assert!(
        matches!(
            twice,
            DecideError::Approval(ApprovalError::AlreadyApproved { .. })
        ),
        "{twice}"
    );
    let early = Authorized::approved(&decision, &approvals).unwrap_err();
    assert!(early.to_string().contains("1 of 2 approvals"), "{early}");
    assert!(Authorized::automatic(&decision).is_err());

    assert_eq!(
        approvals
            .approve(&decision, "bob", "psexec to srv-03 matches", &log)
            .unwrap(),
        ApprovalStatus::Approved
    );
    let late = approvals
        .approve(&decision, "carol", "me too", &log)
        .unwrap_err();
    assert!(matches!(
        late,
        DecideError::Approval(ApprovalError::Closed {
            state: "approved",
            ..
        })
    ));
    let authorized = Authorized::approved(&decision, &approvals).unwrap();
    assert_eq!(authorized.approvers(), ["alice", "bob"]);
    assert_eq!(log.len().unwrap(), before + 2);

    // The votes can be rebuilt from the log alone.
    let entries: Vec<_> = (0..log.len().unwrap())
        .map(|i| log.entry(i).unwrap().0)
        .collect();
    let approval_entries: Vec<_> = entries
        .iter()
        .filter(|e| e.kind == AuditKind::Approval)
        .collect();
    assert_eq!(approval_entries.len(), 2);
    assert_eq!(approval_entries[0].actor, "alice");
    assert_eq!(
        approval_entries[0].details["reason"],
        "lsass dump confirmed in EDR"
    );
    let replayed = Approvals::from_log_entries(&decision, ENGINE, &entries).unwrap();
    assert_eq!(replayed.status(), ApprovalStatus::Approved);
    assert_eq!(replayed.approvals().len(), 2);
    log.verify().unwrap();
}

#[test]
fn a_rejection_is_final() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let decision = contain_decision(&log);
    let mut approvals = Approvals::new(&decision, "analyst-dave").unwrap();
    let own = approvals
        .approve(&decision, "Analyst-Dave", "mine", &log)
        .unwrap_err();
    assert!(matches!(
        own,
        DecideError::Approval(ApprovalError::OwnRequest { .. })
    ));
    approvals.approve(&decision, "alice", "ok", &log).unwrap();
    assert_eq!(
        approvals
            .reject(
                &decision,
                "bob",
                "srv-03 is the payroll server; escalate instead",
                &log
            )
            .unwrap(),
        ApprovalStatus::Rejected
    );
    assert_eq!(approvals.rejection().unwrap().by, "bob");
    let after = approvals
        .approve(&decision, "carol", "ok", &log)
        .unwrap_err();
    assert!(matches!(
        after,
        DecideError::Approval(ApprovalError::Closed {
            state: "rejected",
            ..
        })
    ));
    assert!(
        Authorized::approved(&decision, &approvals)
            .unwrap_err()
            .to_string()
            .contains("rejected")
    );
}

#[test]
fn dry_run_and_automatic_modes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let (case, _) = cases().into_iter().nth(3).unwrap();
    let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);

    let dry = Decider::new(PolicySet::default_set().unwrap(), Autonomy::dry_run()).unwrap();
    let decisions = dry.decide(&case.incident, &facts, &log).unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].mode(), ActionMode::DryRun);
    assert!(Authorized::automatic(&decisions[0]).is_err());
    assert!(Approvals::new(&decisions[0], ENGINE).is_err());

    // Blocks that expire on their own: automatic with a one-day revert timer.
    let mut autonomy = Autonomy::default();
    autonomy
        .modes
        .insert(ActionKind::BlockIndicator, ActionMode::Automatic);
    autonomy
        .auto_revert_secs
        .insert(ActionKind::BlockIndicator, 86_400);
    let fixed = at(10_000);
    let auto = Decider::new(PolicySet::default_set().unwrap(), autonomy)
        .unwrap()
        .with_clock(Arc::new(move || fixed));
    let decisions = auto.decide(&case.incident, &facts, &log).unwrap();
    let block = &decisions[0];
    assert_eq!(block.mode(), ActionMode::Automatic);
    assert_eq!(block.decision().decided_at, fixed);
    assert_eq!(block.revert_at(), Some(fixed + TimeDelta::days(1)));
    assert_eq!(
        block.decision().facts["targets"],
        serde_json::json!([EntityRef::new(EntityKind::Ip, "203.0.113.77")])
    );
    let authorized = Authorized::automatic(block).unwrap();
    let dry_run = DryRun::new();
    assert_eq!(
        execute_audited(&dry_run, &authorized, &log).unwrap(),
        Outcome::DryRun
    );
    assert_eq!(dry_run.revert(&authorized).unwrap(), Outcome::DryRun);
    assert_eq!(dry_run.seen().len(), 2);
    assert_eq!(dry_run.seen()[1]["revert"], true);
    let (last, _) = log.entry(log.len().unwrap() - 1).unwrap();
    assert_eq!(last.kind, rampart_audit::AuditKind::ActionExecuted);
    assert_eq!(last.subject, block.id().to_string());
}

#[test]
fn file_append_is_idempotent_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let decision = contain_decision(&log);
    let mut approvals = Approvals::new(&decision, ENGINE).unwrap();
    approvals.approve(&decision, "alice", "ok", &log).unwrap();
    approvals.approve(&decision, "bob", "ok", &log).unwrap();
    let authorized = Authorized::approved(&decision, &approvals).unwrap();

    let path = dir.path().join("actions.jsonl");
    let file = FileAppend::open(&path).unwrap();
    assert_eq!(file.execute(&authorized).unwrap(), Outcome::Executed);
    assert_eq!(file.execute(&authorized).unwrap(), Outcome::AlreadyExecuted);
    let reopened = FileAppend::open(&path).unwrap();
    assert_eq!(
        reopened.execute(&authorized).unwrap(),
        Outcome::AlreadyExecuted
    );
    assert_eq!(reopened.revert(&authorized).unwrap(), Outcome::Executed);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["decision_id"], decision.id().to_string());
    assert_eq!(lines[0]["action"], "contain_host");
    assert_eq!(lines[0]["approvers"], serde_json::json!(["alice", "bob"]));
    assert_eq!(lines[1]["revert"], true);
}

/// A one-thread HTTP server on 127.0.0.1 that answers `statuses` in order, one per
/// connection, and returns what it received (headers lowercased, body).
/// What the test server received: each request's header lines and body.
type Received = Vec<(Vec<String>, String)>;

fn serve(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/hooks/rampart?token=s3cret",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for status in statuses {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream);
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end().to_owned();
                if line.is_empty() {
                    break;
                }
                headers.push(line.to_lowercase());
            }
            let length: usize = headers
                .iter()
                .find_map(|h| h.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
            seen.push((headers, String::from_utf8(body).unwrap()));
        }
        seen
    });
    (url, handle)
}

#[test]
fn webhook_posts_once_per_decision_with_an_idempotency_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let decision = contain_decision(&log);
    let mut approvals = Approvals::new(&decision, ENGINE).unwrap();
    approvals.approve(&decision, "alice", "ok", &log).unwrap();
    approvals.approve(&decision, "bob", "ok", &log).unwrap();
    let authorized = Authorized::approved(&decision, &approvals).unwrap();

    let (url, server) = serve(vec![200, 409, 500]);
    let hook = Webhook::new(&url, Duration::from_secs(5)).unwrap();
    assert!(
        !format!("{hook:?}").contains("s3cret"),
        "the url's token is never printed"
    );
    assert_eq!(
        execute_audited(&hook, &authorized, &log).unwrap(),
        Outcome::Executed
    );
    // Same process: not sent again.
    assert_eq!(hook.execute(&authorized).unwrap(), Outcome::AlreadyExecuted);
    // Another process: the receiver recognises the key and answers 409.
    let other = Webhook::new(&url, Duration::from_secs(5)).unwrap();
    assert_eq!(
        other.execute(&authorized).unwrap(),
        Outcome::AlreadyExecuted
    );
    // A failing receiver is an error naming the status, not a silent success.
    let err = other.revert(&authorized).unwrap_err().to_string();
    assert!(err.contains("HTTP 500") && !err.contains("s3cret"), "{err}");

    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 3);
    let key = format!("idempotency-key: {}", decision.id()).to_lowercase();
    assert!(seen[0].0.contains(&key), "{:?}", seen[0].0);
    assert!(
        seen[0].0[0].starts_with("post /hooks/rampart"),
        "{:?}",
        seen[0].0
    );
    let body: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(body["decision_id"], decision.id().to_string());
    assert_eq!(body["revert"], false);
    assert!(seen[2].0.iter().any(|h| h.ends_with("/revert")));
}

#[test]
fn webhook_refuses_other_schemes_and_reports_unreachable_hosts() {
    assert!(Webhook::new("ftp://example.org/x", Duration::from_secs(1)).is_err());
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let mut autonomy = Autonomy::default();
    autonomy
        .modes
        .insert(ActionKind::ContainHost, ActionMode::Automatic);
    let (case, _) = cases().into_iter().nth(1).unwrap();
    let facts = Facts::from_incident(&case.incident, &case.alerts, &criticality);
    let decisions = Decider::new(PolicySet::default_set().unwrap(), autonomy)
        .unwrap()
        .decide(&case.incident, &facts, &log)
        .unwrap();
    let contain = decisions
        .iter()
        .find(|d| d.action() == Some(ActionKind::ContainHost))
        .unwrap();
    // A port nobody listens on: bind, note the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook = Webhook::new(
        format!("http://127.0.0.1:{port}/x?token=s3cret"),
        Duration::from_secs(2),
    )
    .unwrap();
    let err = hook
        .execute(&Authorized::automatic(contain).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("webhook") && !err.contains("s3cret"), "{err}");
}

proptest! {
    #[test]
    fn evaluation_never_fails_on_any_facts(
        score in prop_oneof![any::<f64>(), 0.0..200.0],
        level in 0usize..5,
        crit in prop_oneof![any::<f64>(), 0.0..5.0],
        tactics in prop::collection::vec("[a-z-]{0,20}", 0..5),
        confidence in prop::option::of(any::<f64>()),
    ) {
        let levels = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];
        let mut a = alert(AlertSource::Indicator, "r", levels[level], &["T1059.001"], vec![host("h"), EntityRef::new(EntityKind::Domain, "evil.example")]);
        a.score = confidence;
        let mut c = case("prop", score, &[], vec![a]);
        c.incident.tactics = tactics;
        let facts = Facts::from_incident(&c.incident, &c.alerts, &|_| crit);
        let decider = decider();
        let first = decider.evaluate(&facts).unwrap();
        prop_assert_eq!(&first, &decider.evaluate(&facts).unwrap());
        if first.iter().any(|p| p.action != ActionKind::CloseAsBenign) {
            prop_assert!(first.iter().all(|p| p.action != ActionKind::CloseAsBenign));
        }
    }

    #[test]
    fn loading_arbitrary_policy_text_never_panics(text in "\\PC{0,400}") {
        let (set, errors) = PolicySet::from_sources(&[("fuzz.cedar", &text)]).unwrap();
        prop_assert!(set.len() + errors.len() <= text.matches(';').count() + 1);
    }

    #[test]
    fn mangled_default_policies_keep_the_rest(cut in 0usize..4000) {
        let text = rampart_decide::DEFAULT_POLICIES;
        let cut = text.char_indices().map(|(i, _)| i).find(|i| *i >= cut.min(text.len())).unwrap_or(text.len());
        let mangled = format!("{}@@{}", &text[..cut], &text[cut..]);
        let (set, errors) = PolicySet::from_sources(&[("mangled.cedar", &mangled)]).unwrap();
        let total = PolicySet::default_set().unwrap().len();
        prop_assert!(set.len() + 1 >= total, "one mangled statement costs at most one policy");
        prop_assert!(errors.len() <= 1);
    }
}

#[test]
fn deciders_and_executors_are_shared_across_threads() {
    fn assert_shared<T: Send + Sync>() {}
    assert_shared::<Decider>();
    assert_shared::<PolicySet>();
    assert_shared::<FileAppend>();
    assert_shared::<Webhook>();
    assert_shared::<DryRun>();
}

#[test]
fn facts_of_another_incident_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let mut all = cases().into_iter();
    let (first, _) = all.next().unwrap();
    let (second, _) = all.next().unwrap();
    let facts = Facts::from_incident(&second.incident, &second.alerts, &criticality);
    let err = decider().decide(&first.incident, &facts, &log).unwrap_err();
    assert!(err.to_string().contains("Facts::from_incident"), "{err}");
    assert_eq!(log.len().unwrap(), 0);
}
