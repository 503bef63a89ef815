//! One module per subcommand. Each exposes its clap arguments and a `run` function.

pub mod audit;
pub mod config;
pub mod dead_letters;
pub mod demo;
pub mod model;
pub mod run;
pub mod runs;
pub mod trust;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use rampart_store::SqliteStore;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs the chosen subcommand.
pub fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    let config = || Config::load(global.config.as_deref());
    match &cli.command {
        Command::Run(args) => run::run(args, &global.data_dir(), &config()?, global.json),
        Command::Demo(args) => demo::run(args, global.data_dir.as_deref(), &config()?, global.json),
        Command::DeadLetters(args) => dead_letters::run(args, &global.data_dir(), global.json),
        Command::Runs(args) => runs::run(args, &global.data_dir(), global.json),
        Command::Model(args) => model::run(args, &global.data_dir(), global.json),
        Command::Trust(args) => trust::run(args, &global.data_dir(), global.json),
        Command::Audit(command) => audit::run(command, &global.data_dir(), global.json),
        Command::Config(command) => config::run(command, global.config.as_deref()),
    }
    .map(|()| ExitCode::SUCCESS)
}

/// Opens the store in `data_dir`, creating it if needed.
pub fn open_store(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(data_dir)
        .with_context(|| format!("cannot open the store in `{}`", data_dir.display()))
}

/// Opens the store in `data_dir`, which must already exist (for read-only commands).
pub fn open_existing_store(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    anyhow::ensure!(
        data_dir.exists(),
        "data dir `{}` does not exist; run `rampart run --input PATH` or `rampart demo` first, or pass `--data-dir`",
        data_dir.display()
    );
    open_store(data_dir)
}
