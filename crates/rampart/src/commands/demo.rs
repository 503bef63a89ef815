//! `rampart demo`: the whole pipeline on bundled real data, in a fresh data dir.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use rampart_core::{Alert, AlertSource, Incident};
use rampart_store::Store;

use crate::commands::run::RunSummary;
use crate::commands::train::{FitOnArg, Kind, TrainArgs, TrainReport, train_and_publish};
use crate::config::Config;
use crate::output::print_json;

/// Arguments of `rampart demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// The `--json` output of the demo.
#[derive(Debug, Serialize)]
struct DemoReport {
    data_dir: String,
    models: Vec<TrainReport>,
    ingest: RunSummary,
    top_alerts: Vec<Alert>,
    incidents: Vec<Incident>,
    audit: AuditSummary,
}

/// How many scored alerts the demo shows with their explanations.
const SHOWN_ALERTS: usize = 3;

/// The audit log's state at the end of the demo.
#[derive(Debug, Serialize)]
struct AuditSummary {
    entries: u64,
    root_hash: String,
    checkpoint: String,
}

/// Runs `rampart demo`.
pub fn run(
    _args: &DemoArgs,
    data_dir: Option<&Path>,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let data_dir = match data_dir {
        Some(dir) => dir.to_path_buf(),
        None => fresh_data_dir()?,
    };
    let inputs = crate::demo_data::write_to(&data_dir)?;
    let training = crate::demo_data::write_training(&data_dir)?;
    let store = super::open_store(&data_dir, config)?;
    let audit = crate::audit_log::open(&data_dir)?;
    if !json {
        println!("Rampart demo: data dir {}", data_dir.display());
        println!(
            "step 1/4  train and sign a threat scorer and an anomaly detector on 4,000 NSL-KDD flows"
        );
    }
    let models = train_models(&training, &data_dir, config, &audit, json)?;
    if !json {
        println!();
        println!(
            "step 2/4  ingest bundled real data (Windows events, STIX intel, NSL-KDD flows); detect with the bundled Sigma rules, score with the verified models, correlate, decide, narrate"
        );
    }
    let detectors = crate::detection::Detectors::build(&data_dir, config, &store, &audit)?;
    let responder = crate::response::Responder::new(&data_dir, config, &detectors, &store, &audit)?;
    let outcome = crate::runner::run(&store, &audit, &inputs, None, config, &detectors, responder)?;
    let ingest = RunSummary::new(&outcome, &data_dir);
    let top_alerts = top_scored_alerts(&store)?;
    let mut incidents = super::incidents::all_incidents(&store)?;
    incidents.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    let verified = audit.verify().context("the audit log does not verify")?;
    let checkpoint = audit.checkpoint()?.to_note_text();
    if json {
        return print_json(&DemoReport {
            data_dir: data_dir.display().to_string(),
            models,
            ingest,
            top_alerts,
            incidents,
            audit: AuditSummary {
                entries: verified.entries,
                root_hash: hex::encode(verified.root),
                checkpoint,
            },
        });
    }
    ingest.print_human();
    println!();
    println!("the highest-scored alerts, with the exact contributions behind each score:");
    for alert in &top_alerts {
        println!("  {}", super::alerts::one_line(alert));
        if let Some(e) = &alert.explanation {
            for c in &e.contributions {
                println!(
                    "      {:>+9.4}  {} (input {})",
                    c.contribution, c.feature, c.value
                );
            }
        }
    }
    println!();
    if let Some(top) = incidents.first() {
        println!(
            "step 3/4  the highest-risk of {} incidents, end to end (alerts, score breakdown, decisions, narrative)",
            incidents.len()
        );
        super::incidents::show(
            &super::incidents::ShowArgs { id: top.id },
            &store,
            &data_dir,
            config,
            false,
        )?;
        println!();
    }
    println!("step 4/4  verify the tamper-evident audit log");
    println!(
        "audit log verified: {} entries, root {}; latest signed checkpoint:",
        verified.entries,
        hex::encode(verified.root)
    );
    for line in checkpoint.lines() {
        println!("  {line}");
    }
    println!();
    println!("inspect it further:");
    println!("  rampart incidents list --data-dir {}", data_dir.display());
    println!("  rampart decisions list --data-dir {}", data_dir.display());
    println!("  rampart alerts list --data-dir {}", data_dir.display());
    println!("  rampart runs --data-dir {}", data_dir.display());
    println!("  rampart dead-letters --data-dir {}", data_dir.display());
    println!("  rampart audit verify --data-dir {}", data_dir.display());
    Ok(())
}

/// Trains and publishes the demo's scorer and anomaly detector.
fn train_models(
    training: &Path,
    data_dir: &Path,
    config: &Config,
    audit: &dyn rampart_audit::AuditSink,
    json: bool,
) -> anyhow::Result<Vec<TrainReport>> {
    let mut models = Vec::new();
    for kind in [Kind::Scorer, Kind::Anomaly] {
        let args = TrainArgs {
            kind,
            input: vec![training.to_path_buf()],
            from_store: false,
            run: None,
            out: None,
            replace: true,
            format: None,
            layout: None,
            fit_on: FitOnArg::Normal,
            held_out: 0.2,
            seed: 0,
            trees: None,
        };
        let report = train_and_publish(&args, data_dir, config, audit, false)?;
        if !json {
            report.print_human();
        }
        models.push(report);
    }
    Ok(models)
}

/// The scorer alerts with the highest scores (ties by id), explanations included.
fn top_scored_alerts(store: &dyn Store) -> anyhow::Result<Vec<Alert>> {
    let mut alerts: Vec<Alert> = super::alerts::all_alerts(store)?
        .into_iter()
        .filter(|a| a.source == AlertSource::Scorer && a.explanation.is_some())
        .collect();
    alerts.sort_by(|a, b| {
        b.score
            .unwrap_or(0.0)
            .total_cmp(&a.score.unwrap_or(0.0))
            .then(a.id.cmp(&b.id))
    });
    alerts.truncate(SHOWN_ALERTS);
    Ok(alerts)
}

/// A new temporary folder that outlives the process, so later commands can inspect it.
fn fresh_data_dir() -> anyhow::Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix("rampart-demo-")
        .tempdir()
        .context("cannot create a temporary data dir; pass `--data-dir`")?;
    Ok(dir.keep())
}
