//! One module per subcommand. Each exposes its clap arguments and a `run` function.

pub mod alerts;
pub mod audit;
pub mod config;
pub mod dead_letters;
pub mod decisions;
pub mod demo;
pub mod explain;
pub mod guard;
pub mod incidents;
pub mod keys;
pub mod model;
pub mod narrate;
pub mod run;
pub mod runs;
pub mod train;
pub mod trust;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use rampart_store::{SqliteOptions, SqliteStore};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::protection::EventProtector;

/// Runs the chosen subcommand.
pub fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    let config = || Config::load(global.config.as_deref());
    match &cli.command {
        Command::Run(args) => run::run(args, &global.data_dir(), &config()?, global.json),
        Command::Demo(args) => demo::run(args, global.data_dir.as_deref(), &config()?, global.json),
        Command::DeadLetters(args) => {
            dead_letters::run(args, &global.data_dir(), &config()?, global.json)
        }
        Command::Runs(args) => runs::run(args, &global.data_dir(), &config()?, global.json),
        Command::Model(args) => model::run(args, &global.data_dir(), &config()?, global.json),
        Command::Alerts(command) => {
            alerts::run(command, &global.data_dir(), &config()?, global.json)
        }
        Command::Incidents(command) => {
            incidents::run(command, &global.data_dir(), &config()?, global.json)
        }
        Command::Decisions(command) => {
            decisions::run(command, &global.data_dir(), &config()?, global.json)
        }
        Command::Narrate(args) => narrate::run(args, &global.data_dir(), &config()?, global.json),
        Command::Train(args) => train::run(args, &global.data_dir(), &config()?, global.json),
        Command::Eval(args) => train::eval(args, &global.data_dir(), &config()?, global.json),
        Command::Trust(args) => trust::run(args, &global.data_dir(), global.json),
        Command::Audit(command) => audit::run(command, &global.data_dir(), global.json),
        Command::Config(command) => config::run(command, global.config.as_deref()),
        Command::Keys(args) => keys::run(args, &global.data_dir(), global.json),
        // Its own exit code: `--fail-on-flag` exits 3 when something was flagged.
        Command::Guard(command) => return guard::run(command, global.json),
    }
    .map(|()| ExitCode::SUCCESS)
}

/// Opens the store in `data_dir`, creating it if needed, with sensitive fields encrypted at
/// rest when `[protection].enabled`.
pub fn open_store(data_dir: &Path, config: &Config) -> anyhow::Result<SqliteStore> {
    let mut options = SqliteOptions::default();
    if config.protection.enabled {
        let protector = EventProtector::open(data_dir, &config.protection).with_context(|| {
            format!(
                "cannot load the field-protection keys of `{}`",
                data_dir.display()
            )
        })?;
        options.protector = Arc::new(protector);
    }
    SqliteStore::open_with(data_dir, options)
        .with_context(|| format!("cannot open the store in `{}`", data_dir.display()))
}

/// Opens the store in `data_dir`, which must already exist (for read-only commands).
pub fn open_existing_store(data_dir: &Path, config: &Config) -> anyhow::Result<SqliteStore> {
    anyhow::ensure!(
        data_dir.exists(),
        "data dir `{}` does not exist; run `rampart run --input PATH` or `rampart demo` first, or pass `--data-dir`",
        data_dir.display()
    );
    open_store(data_dir, config)
}
