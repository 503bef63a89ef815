//! `rampart config`: show the defaults and the effective configuration.

use std::path::Path;

use clap::Subcommand;

use crate::config::Config;

/// Subcommands of `rampart config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every key with its default value, as a rampart.toml to start from.
    Defaults,
    /// Print the effective configuration (defaults, file, then RAMPART_* overrides).
    Show,
}

/// Runs `rampart config`.
pub fn run(command: &ConfigCommand, file: Option<&Path>) -> anyhow::Result<()> {
    let config = match command {
        ConfigCommand::Defaults => Config::default(),
        ConfigCommand::Show => Config::load(file)?,
    };
    print!("{}", toml::to_string(&config)?);
    Ok(())
}
