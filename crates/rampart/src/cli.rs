//! The command line: global options and one subcommand per job.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

/// Rampart turns security telemetry and threat intelligence into scored, correlated,
/// explained incidents, and keeps its own AI signed, verified and audited.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where Rampart keeps its state (store, keys, models, audit log) [default: ./rampart-data;
    /// for `demo`, a fresh temporary folder].
    #[arg(long, global = true, env = "RAMPART_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of human text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Configuration file (rampart.toml); `rampart config defaults` prints every key.
    #[arg(long, global = true, env = "RAMPART_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `rampart=debug`.
    #[arg(long, global = true, env = "RAMPART_LOG", default_value = "info")]
    pub log: String,
}

impl GlobalArgs {
    /// The data dir, defaulting to `./rampart-data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("rampart-data"))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Rampart's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline on files or directories.
    Run(commands::run::RunArgs),
    /// Run the whole pipeline on bundled real data in a fresh data dir and show what it found.
    Demo(commands::demo::DemoArgs),
    /// List the records that could not be read, with their reasons.
    DeadLetters(commands::dead_letters::DeadLettersArgs),
    /// List past runs with their counts.
    Runs(commands::runs::RunsArgs),
    /// List and show alerts with their explanations.
    #[command(subcommand)]
    Alerts(commands::alerts::AlertsCommand),
    /// List, show and explain incidents.
    #[command(subcommand)]
    Incidents(commands::incidents::IncidentsCommand),
    /// List decisions; approve or reject the ones that wait for approval.
    #[command(subcommand)]
    Decisions(commands::decisions::DecisionsCommand),
    /// Write an incident's narrative (deterministic, or with `--llm` through the guarded LLM).
    Narrate(commands::narrate::NarrateArgs),
    /// Train an anomaly detector or a threat scorer on labelled flows; publishes it signed.
    Train(commands::train::TrainArgs),
    /// Evaluate a signed model on labelled flows.
    Eval(commands::train::EvalArgs),
    /// Sign, verify, explain and inspect model directories (`OpenSSF` model-signing format).
    Model(commands::model::ModelArgs),
    /// Manage the keys trusted to sign models.
    Trust(commands::trust::TrustArgs),
    /// Verify the tamper-evident audit log, prove entries, export checkpoints.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Show the configuration.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Rotate and list the keys that encrypt sensitive fields at rest.
    Keys(commands::keys::KeysArgs),
    /// Scan text for prompt injection; retrain and evaluate the injection detector.
    #[command(subcommand)]
    Guard(commands::guard::GuardCommand),
}
