//! `rampart runs`: past runs with their counts.

use std::path::Path;

use clap::Args;
use rampart_store::Store as _;

use crate::output::{print_json, thousands};

/// Arguments of `rampart runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {}

/// Runs `rampart runs`.
pub fn run(
    _args: &RunsArgs,
    data_dir: &Path,
    config: &crate::config::Config,
    json: bool,
) -> anyhow::Result<()> {
    let store = super::open_existing_store(data_dir, config)?;
    let runs = store.runs()?;
    if json {
        return print_json(&runs);
    }
    for run in &runs {
        let state = if run.finished_at.is_some() {
            "finished"
        } else {
            "unfinished"
        };
        let alerts: u64 = run.counts.alerts_by_source.values().sum();
        println!(
            "{} {} {state}: {} read, {} events, {} intel, {} duplicates, {} dead letters; {} alerts, {} incidents, {} decisions",
            run.id,
            run.started_at.format("%Y-%m-%d %H:%M:%S"),
            thousands(run.counts.records_read),
            thousands(run.counts.events_stored),
            thousands(run.counts.intel_objects_stored),
            thousands(run.counts.duplicates_skipped),
            thousands(run.counts.dead_letters),
            thousands(alerts),
            thousands(run.counts.incidents),
            thousands(run.counts.decisions),
        );
    }
    Ok(())
}
