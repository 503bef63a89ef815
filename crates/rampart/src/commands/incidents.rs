//! `rampart incidents list|show|explain`: incidents with their timeline, entities, techniques
//! by name, the exact risk contributions behind their score, and their decisions.

use std::path::Path;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_core::{Alert, AlertId, Decision, Incident, IncidentId};
use rampart_correlate::{RiskExplanation, RiskLedger};
use rampart_enrich::{Catalog, Inventory};
use rampart_store::{Page, Store};
use serde::Serialize;

use crate::config::Config;
use crate::output::{print_json, thousands};
use crate::response::criticality_of;

/// `rampart incidents` subcommands.
#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents, highest score first.
    List(ListArgs),
    /// Show one incident: timeline, entities, techniques, score breakdown, decisions, narrative.
    Show(ShowArgs),
    /// Why an incident has its score: every risk contribution; `--without` replays it as if an
    /// alert were a false positive.
    Explain(ExplainArgs),
}

/// Arguments of `rampart incidents list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// At most this many.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Arguments of `rampart incidents show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The incident's id (`inc_…`).
    pub id: IncidentId,
}

/// Arguments of `rampart incidents explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The incident's id (`inc_…`).
    pub id: IncidentId,
    /// Recompute the score as if this alert were a false positive (repeatable).
    #[arg(long, value_name = "ALERT_ID")]
    pub without: Vec<AlertId>,
}

/// Runs `rampart incidents`.
pub fn run(
    command: &IncidentsCommand,
    data_dir: &Path,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let store = super::open_existing_store(data_dir, config)?;
    match command {
        IncidentsCommand::List(args) => list(args, &store, json),
        IncidentsCommand::Show(args) => show(args, &store, data_dir, config, json),
        IncidentsCommand::Explain(args) => explain(args, &store, data_dir, config, json),
    }
}

/// Every stored incident.
pub fn all_incidents(store: &dyn Store) -> anyhow::Result<Vec<Incident>> {
    rampart_store::collect_pages(|page| store.incidents(page)).context("cannot list incidents")
}

fn list(args: &ListArgs, store: &dyn Store, json: bool) -> anyhow::Result<()> {
    let mut incidents = all_incidents(store)?;
    incidents.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    if let Some(limit) = args.limit {
        incidents.truncate(limit);
    }
    if json {
        return print_json(&incidents);
    }
    if incidents.is_empty() {
        println!("no incidents");
        return Ok(());
    }
    for incident in &incidents {
        println!(
            "{}  score {:>8.1}  {:>4} alerts  {}",
            incident.id,
            incident.score,
            incident.alert_ids.len(),
            incident.title
        );
    }
    println!(
        "{} incidents; `rampart incidents show ID` for one",
        thousands(incidents.len() as u64)
    );
    Ok(())
}

/// The incident with its alerts, read from the store.
fn load(store: &dyn Store, id: IncidentId) -> anyhow::Result<(Incident, Vec<Alert>)> {
    let incident = store
        .incident(id)
        .context("cannot read the incident")?
        .with_context(|| format!("no incident `{id}` in this data dir"))?;
    let mut alerts = Vec::with_capacity(incident.alert_ids.len());
    for alert_id in &incident.alert_ids {
        if let Some(alert) = store.alert(*alert_id).context("cannot read an alert")? {
            alerts.push(alert);
        }
    }
    alerts.sort_by_key(|a| (a.first_seen, a.id));
    Ok((incident, alerts))
}

/// The alerts behind the incident's score and the time it was read: the run's risk record
/// when there is one, else the incident's own alerts at its last event time.
fn risk_inputs(
    data_dir: &Path,
    incident: &Incident,
    alerts: &[Alert],
) -> anyhow::Result<(Vec<Alert>, chrono::DateTime<chrono::Utc>)> {
    if let Some(record) = crate::response::read_risk_record(data_dir, incident.id)? {
        return Ok((record.alerts, record.at));
    }
    let at = incident
        .last_seen
        .or_else(|| alerts.iter().filter_map(|a| a.last_seen).max())
        .unwrap_or_else(chrono::Utc::now);
    Ok((alerts.to_vec(), at))
}

/// Replays `contributing` through a fresh risk ledger, as the run's correlator fed its own.
fn replay(contributing: &[Alert], config: &Config) -> RiskLedger {
    let inventory = match &config.enrich.inventory {
        Some(path) => Inventory::load_csv(path).0,
        None => Inventory::default(),
    };
    let mut ledger = RiskLedger::new(config.correlate.risk.clone());
    let criticality = |e: &rampart_core::EntityRef| criticality_of(&inventory, e);
    for alert in contributing {
        ledger.add(alert, &criticality);
    }
    ledger
}

#[derive(Serialize)]
struct ShowReport<'a> {
    incident: &'a Incident,
    techniques: Vec<TechniqueName>,
    score: &'a RiskExplanation,
    timeline: Vec<super::alerts::AlertView>,
    decisions: Vec<Decision>,
    narrative: Option<rampart_narrate::Narrative>,
}

#[derive(Serialize)]
struct TechniqueName {
    id: String,
    name: Option<String>,
}

/// Prints (or writes as JSON) one incident in full.
pub fn show(
    args: &ShowArgs,
    store: &dyn Store,
    data_dir: &Path,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let (incident, alerts) = load(store, args.id)?;
    let (contributing, at) = risk_inputs(data_dir, &incident, &alerts)?;
    let explanation = replay(&contributing, config).explain_entities(&incident.entities, at);
    let decisions = store
        .decisions(Some(incident.id), Page::first(Page::MAX_LIMIT))
        .context("cannot read decisions")?
        .items;
    let catalog = Catalog::embedded();
    let techniques = incident
        .techniques
        .iter()
        .map(|id| TechniqueName {
            id: id.clone(),
            name: catalog.technique(id).map(|t| t.name.clone()),
        })
        .collect::<Vec<_>>();
    let narrative = crate::response::read_narrative(data_dir, &incident)?;
    if json {
        let timeline = alerts
            .into_iter()
            .map(|a| super::alerts::AlertView::new(a, store))
            .collect::<anyhow::Result<Vec<_>>>()?;
        return print_json(&ShowReport {
            incident: &incident,
            techniques,
            score: &explanation,
            timeline,
            decisions,
            narrative,
        });
    }
    println!("{}  {}", incident.id, incident.title);
    println!(
        "  score {:.1}, {} alerts, {} .. {}",
        incident.score,
        incident.alert_ids.len(),
        time(incident.first_seen),
        time(incident.last_seen)
    );
    println!("  tactics: {}", incident.tactics.join(" -> "));
    for t in &techniques {
        println!(
            "  technique {} {}",
            t.id,
            t.name.as_deref().unwrap_or("(unknown)")
        );
    }
    for entity in &incident.entities {
        println!("  entity {entity}");
    }
    println!("timeline:");
    for alert in &alerts {
        println!(
            "  {}  {}",
            time(alert.first_seen),
            super::alerts::one_line(alert)
        );
    }
    print_explanation(&explanation);
    println!("decisions:");
    if decisions.is_empty() {
        println!("  none");
    }
    for d in &decisions {
        println!(
            "  {}  {} ({:?}) by policy `{}` at {}",
            d.id, d.action, d.mode, d.policy_id, d.decided_at
        );
    }
    if let Some(n) = narrative {
        println!("narrative ({:?}):", n.renderer);
        for line in n.text.lines() {
            println!("  {line}");
        }
    }
    Ok(())
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "unknown time".to_owned(), |t| t.to_rfc3339())
}

fn print_explanation(e: &RiskExplanation) {
    println!(
        "score breakdown at {}: {:.3} = sum of {} contributions{}",
        e.at,
        e.total,
        e.contributions.len(),
        e.entity
            .as_ref()
            .map(|x| format!(" to {x}"))
            .unwrap_or_default()
    );
    for c in &e.contributions {
        println!(
            "  {:>8.3} = base {:.1} x criticality {:.2} x decay {:.3}{}  {} ({}) -> {}",
            c.value,
            c.base,
            c.criticality,
            c.decay,
            if c.capped { " capped" } else { "" },
            c.alert_id,
            c.rule_id,
            c.entity
        );
    }
}

#[derive(Serialize)]
struct ExplainReport<'a> {
    incident: IncidentId,
    stored_score: f64,
    explanation: &'a RiskExplanation,
    without: &'a [AlertId],
    without_explanation: Option<RiskExplanation>,
}

fn explain(
    args: &ExplainArgs,
    store: &dyn Store,
    data_dir: &Path,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let (incident, alerts) = load(store, args.id)?;
    let (contributing, at) = risk_inputs(data_dir, &incident, &alerts)?;
    for id in &args.without {
        anyhow::ensure!(
            contributing.iter().any(|a| a.id == *id),
            "alert `{id}` contributes nothing to incident `{}`",
            incident.id
        );
    }
    let ledger = replay(&contributing, config);
    let explanation = ledger.explain_entities(&incident.entities, at);
    let without = (!args.without.is_empty()).then(|| {
        args.without
            .iter()
            .fold(ledger.clone(), |ledger, id| ledger.without(id))
            .explain_entities(&incident.entities, at)
    });
    if json {
        return print_json(&ExplainReport {
            incident: incident.id,
            stored_score: incident.score,
            explanation: &explanation,
            without: &args.without,
            without_explanation: without,
        });
    }
    println!("{}  {}", incident.id, incident.title);
    print_explanation(&explanation);
    if let Some(w) = without {
        println!();
        println!(
            "without {}:",
            args.without
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        print_explanation(&w);
        println!("score change: {:+.3}", w.total - explanation.total);
    }
    Ok(())
}
