//! `rampart alerts list|show`: every alert with its detector, rule or model, entities, the
//! events it cites and, for model alerts, the exact contributions behind its score.

use std::path::Path;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_core::{Alert, AlertId, AlertSource, EntityRef, EventId, Explanation, Level};
use rampart_store::Store;
use serde::Serialize;

use crate::config::Config;
use crate::output::{print_json, thousands};

/// `rampart alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, oldest stored first.
    List(ListArgs),
    /// Show one alert with its explanation and the events it cites.
    Show(ShowArgs),
}

/// Arguments of `rampart alerts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// At most this many [default: all].
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only alerts of this kind (sigma, correlation, anomaly, scorer, indicator, imported).
    #[arg(long, value_parser = parse_source)]
    pub kind: Option<AlertSource>,
}

/// Arguments of `rampart alerts show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The alert's id (`alr_…`).
    pub id: AlertId,
}

fn parse_source(text: &str) -> Result<AlertSource, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        format!("unknown alert kind `{text}`; expected sigma, correlation, anomaly, scorer, indicator or imported")
    })
}

/// An alert as the CLI reports it.
#[derive(Debug, Serialize)]
pub struct AlertView {
    id: AlertId,
    kind: AlertSource,
    rule_id: String,
    title: String,
    level: Level,
    score: Option<f64>,
    techniques: Vec<String>,
    tactics: Vec<String>,
    entities: Vec<EntityRef>,
    event_ids: Vec<EventId>,
    first_seen: Option<chrono::DateTime<chrono::Utc>>,
    last_seen: Option<chrono::DateTime<chrono::Utc>>,
    provenance: AlertProvenance,
    explanation: Option<Explanation>,
}

/// Where an alert came from: the detector, the rule or model version, and the inputs of the
/// events it cites.
#[derive(Debug, Serialize)]
struct AlertProvenance {
    detector: AlertSource,
    rule_id: String,
    model_version: Option<String>,
    sources: Vec<String>,
}

impl AlertView {
    /// Builds the view, reading the cited events' sources from the store.
    pub fn new(alert: Alert, store: &dyn Store) -> anyhow::Result<Self> {
        let mut sources = Vec::new();
        for id in alert.event_ids.iter().take(16) {
            if let Some(event) = store.event(*id).context("cannot read an event")? {
                let source = format!("{}:{}", event.provenance.source, event.provenance.position);
                if !sources.contains(&source) {
                    sources.push(source);
                }
            }
        }
        Ok(Self {
            provenance: AlertProvenance {
                detector: alert.source,
                rule_id: alert.rule_id.clone(),
                model_version: alert.explanation.as_ref().map(|e| e.model_version.clone()),
                sources,
            },
            id: alert.id,
            kind: alert.source,
            rule_id: alert.rule_id,
            title: alert.title,
            level: alert.level,
            score: alert.score,
            techniques: alert.techniques,
            tactics: alert.tactics,
            entities: alert.entities,
            event_ids: alert.event_ids,
            first_seen: alert.first_seen,
            last_seen: alert.last_seen,
            explanation: alert.explanation,
        })
    }
}

/// Runs `rampart alerts`.
pub fn run(
    command: &AlertsCommand,
    data_dir: &Path,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let store = super::open_existing_store(data_dir, config)?;
    match command {
        AlertsCommand::List(args) => list(args, &store, json),
        AlertsCommand::Show(args) => show(args, &store, json),
    }
}

/// Every stored alert.
pub fn all_alerts(store: &dyn Store) -> anyhow::Result<Vec<Alert>> {
    rampart_store::collect_pages(|page| store.alerts(page)).context("cannot list alerts")
}

fn list(args: &ListArgs, store: &dyn Store, json: bool) -> anyhow::Result<()> {
    let mut alerts = all_alerts(store)?;
    if let Some(kind) = args.kind {
        alerts.retain(|a| a.source == kind);
    }
    if let Some(limit) = args.limit {
        alerts.truncate(limit);
    }
    if json {
        let views = alerts
            .into_iter()
            .map(|a| AlertView::new(a, store))
            .collect::<anyhow::Result<Vec<_>>>()?;
        return print_json(&views);
    }
    if alerts.is_empty() {
        println!("no alerts");
        return Ok(());
    }
    for alert in &alerts {
        println!("{}", one_line(alert));
    }
    println!(
        "{} alerts; `rampart alerts show ID` explains one",
        thousands(alerts.len() as u64)
    );
    Ok(())
}

/// One line per alert: id, level, kind, score, title, main entities.
pub fn one_line(alert: &Alert) -> String {
    let score = alert.score.map(|s| format!(" {s:.2}")).unwrap_or_default();
    let entities: Vec<String> = alert
        .entities
        .iter()
        .take(3)
        .map(ToString::to_string)
        .collect();
    format!(
        "{}  {:<13} {:<11}{score}  {}  [{}]",
        alert.id,
        format!("{:?}", alert.level).to_lowercase(),
        format!("{:?}", alert.source).to_lowercase(),
        alert.title,
        entities.join(", ")
    )
}

fn show(args: &ShowArgs, store: &dyn Store, json: bool) -> anyhow::Result<()> {
    let alert = store
        .alert(args.id)
        .context("cannot read the alert")?
        .with_context(|| format!("no alert `{}` in this data dir", args.id))?;
    let view = AlertView::new(alert, store)?;
    if json {
        return print_json(&view);
    }
    println!("{}  {}", view.id, view.title);
    println!(
        "  kind {:?}, rule {}, level {:?}{}",
        view.kind,
        view.rule_id,
        view.level,
        view.score
            .map(|s| format!(", score {s:.4}"))
            .unwrap_or_default()
    );
    if !view.techniques.is_empty() {
        println!("  techniques: {}", view.techniques.join(", "));
    }
    if !view.tactics.is_empty() {
        println!("  tactics: {}", view.tactics.join(", "));
    }
    for entity in &view.entities {
        println!("  entity {entity}");
    }
    if let (Some(first), Some(last)) = (view.first_seen, view.last_seen) {
        println!("  seen {first} .. {last}");
    }
    for (id, source) in view.event_ids.iter().zip(&view.provenance.sources) {
        println!("  event {id} from {source}");
    }
    if let Some(e) = &view.explanation {
        println!(
            "  why ({} {}): raw output {:.4} = base {:.4} + contributions; largest:",
            e.model, e.model_version, e.raw_output, e.base_value
        );
        for c in &e.contributions {
            println!(
                "    {:>+9.4}  {} (input {})",
                c.contribution, c.feature, c.value
            );
        }
    }
    Ok(())
}
