//! `rampart run`: the main job.

use std::path::{Path, PathBuf};

use clap::Args;
use rampart_core::Format;
use serde::Serialize;

use crate::config::Config;
use crate::detection::Detectors;
use crate::output::{print_json, thousands};
use crate::response::Responder;
use crate::runner::{self, RunOutcome};

/// Arguments of `rampart run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Files or directories to read (directories recursively; .gz, .zip and .tar.gz transparently).
    #[arg(long, short, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Read every input as this format instead of detecting it from content.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
}

pub(crate) fn parse_format(text: &str) -> Result<Format, String> {
    text.parse()
        .map_err(|e: rampart_core::CoreError| e.to_string())
}

/// The `--json` summary of a run.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: String,
    /// The input paths as given.
    pub inputs: Vec<String>,
    /// Records read from all inputs (= the sum of the next four counts).
    pub records_read: u64,
    /// New events stored by this run.
    pub events_stored: u64,
    /// New threat-intel objects stored by this run.
    pub intel_objects_stored: u64,
    /// Records already stored by an earlier run.
    pub duplicates_skipped: u64,
    /// Records that could not be read.
    pub dead_letters: u64,
    /// Records per format.
    pub by_format: std::collections::BTreeMap<String, u64>,
    /// New alerts, all sources.
    pub alerts_raised: u64,
    /// New alerts per source (`scorer`, `anomaly`, `sigma`, …).
    pub alerts_by_source: std::collections::BTreeMap<String, u64>,
    /// Incidents stored or updated.
    pub incidents: u64,
    /// New decisions.
    pub decisions: u64,
    /// Actions executed (automatic ones; approved ones run on approval).
    pub actions_executed: u64,
    /// Narratives written.
    pub narratives: u64,
    /// LLM narratives refused by validation and replaced by the deterministic one.
    pub narrative_fallbacks: u64,
    /// Wall time in seconds.
    pub elapsed_s: f64,
    /// Records per second over the whole run.
    pub events_per_s: f64,
    /// The data dir the run wrote to.
    pub data_dir: String,
}

impl RunSummary {
    /// Builds the summary of a finished run.
    pub fn new(outcome: &RunOutcome, data_dir: &Path) -> Self {
        let counts = &outcome.run.counts;
        let elapsed_s = outcome.elapsed.as_secs_f64();
        Self {
            run_id: outcome.run.id.to_string(),
            inputs: outcome.run.inputs.clone(),
            records_read: counts.records_read,
            events_stored: counts.events_stored,
            intel_objects_stored: counts.intel_objects_stored,
            duplicates_skipped: counts.duplicates_skipped,
            dead_letters: counts.dead_letters,
            by_format: counts.by_format.clone(),
            alerts_raised: counts.alerts_by_source.values().sum(),
            alerts_by_source: counts.alerts_by_source.clone(),
            incidents: counts.incidents,
            decisions: counts.decisions,
            actions_executed: outcome.response.actions_executed,
            narratives: outcome.response.narratives,
            narrative_fallbacks: outcome.response.narrative_fallbacks,
            elapsed_s,
            events_per_s: if elapsed_s > 0.0 {
                counts.records_read as f64 / elapsed_s
            } else {
                0.0
            },
            data_dir: data_dir.display().to_string(),
        }
    }

    /// Prints the human-readable summary.
    pub fn print_human(&self) {
        println!(
            "run {} read {} records in {:.2} s ({:.0} records/s)",
            self.run_id,
            thousands(self.records_read),
            self.elapsed_s,
            self.events_per_s
        );
        println!(
            "  events stored         {:>10}",
            thousands(self.events_stored)
        );
        println!(
            "  intel objects stored  {:>10}",
            thousands(self.intel_objects_stored)
        );
        println!(
            "  duplicates skipped    {:>10}",
            thousands(self.duplicates_skipped)
        );
        println!(
            "  dead letters          {:>10}",
            thousands(self.dead_letters)
        );
        for (format, count) in &self.by_format {
            println!("    {format:<20}{:>10}", thousands(*count));
        }
        println!(
            "  alerts raised         {:>10}",
            thousands(self.alerts_raised)
        );
        for (source, count) in &self.alerts_by_source {
            println!("    {source:<20}{:>10}", thousands(*count));
        }
        if self.incidents > 0 || self.decisions > 0 {
            println!("  incidents             {:>10}", thousands(self.incidents));
            println!("  decisions             {:>10}", thousands(self.decisions));
            println!(
                "  actions executed      {:>10}",
                thousands(self.actions_executed)
            );
            println!("  narratives            {:>10}", thousands(self.narratives));
        }
        if self.dead_letters > 0 {
            println!(
                "  see why with: rampart dead-letters --run {} --data-dir {}",
                self.run_id, self.data_dir
            );
        }
        println!("  data dir: {}", self.data_dir);
    }
}

/// Runs `rampart run`.
pub fn run(args: &RunArgs, data_dir: &Path, config: &Config, json: bool) -> anyhow::Result<()> {
    let store = super::open_store(data_dir, config)?;
    let audit = crate::audit_log::open(data_dir)?;
    let detectors = Detectors::build(data_dir, config, &store, &audit)?;
    let responder = Responder::new(data_dir, config, &detectors, &store, &audit)?;
    let outcome = runner::run(
        &store,
        &audit,
        &args.input,
        args.format,
        config,
        &detectors,
        responder,
    )?;
    let summary = RunSummary::new(&outcome, data_dir);
    if json {
        print_json(&summary)
    } else {
        summary.print_human();
        Ok(())
    }
}
