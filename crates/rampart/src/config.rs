//! `rampart.toml`: one file, one section per stage, every key documented with its default.
//!
//! Precedence, lowest first: built-in defaults, the file (`--config` or `$RAMPART_CONFIG`),
//! then environment variables `RAMPART_<SECTION>__<KEY>` (double underscore between section
//! and key, e.g. `RAMPART_RUNNER__WORKERS=4`). Unknown sections and keys are errors, so a typo
//! never silently falls back to a default.

use std::path::Path;

use anyhow::{Context as _, bail};
use rampart_ingest::Limits;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[ingest]`: caps on untrusted input.
    pub ingest: Limits,
    /// `[runner]`: threads and queues.
    pub runner: RunnerConfig,
    /// `[protection]`: encryption at rest of sensitive fields.
    pub protection: crate::protection::ProtectionConfig,
    /// `[detect]`: which Sigma rules run.
    pub detect: crate::detection::DetectConfig,
    /// `[enrich]`: threat intel and the asset inventory.
    pub enrich: crate::detection::EnrichConfig,
    /// `[scoring]`: which signed models score events.
    pub scoring: crate::models::ScoringConfig,
    /// `[correlate]`: how alerts become incidents and how entity risk is weighed.
    pub correlate: rampart_correlate::CorrelateConfig,
    /// `[decide]`: which policies decide and what executes their actions.
    pub decide: crate::response::DecideConfig,
    /// `[narrate]`: the optional LLM renderer (the deterministic one is always there). Its API
    /// key is never printed.
    pub narrate: rampart_narrate::LlmConfig,
}

/// `[runner]`: how the pipeline is spread over threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunnerConfig {
    /// Parse worker threads; 0 means one per core. Default 0.
    pub workers: usize,
    /// Batches in flight between stages (bounds memory whatever the input size). Default 8.
    pub queue_batches: usize,
    /// Records per store transaction. Default 4,096.
    pub write_batch_records: usize,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            queue_batches: 8,
            write_batch_records: 4096,
        }
    }
}

/// The prefix of environment overrides.
const ENV_PREFIX: &str = "RAMPART_";

impl Config {
    /// Loads the configuration: defaults, then the file if given, then environment overrides.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file `{}`", path.display()))?;
                text.parse::<toml::Table>().with_context(|| {
                    format!("config file `{}` is not valid TOML", path.display())
                })?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, std::env::vars())?;
        let config: Self = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.runner.queue_batches == 0 {
            bail!("`runner.queue_batches` must be at least 1");
        }
        if self.runner.write_batch_records == 0 {
            bail!("`runner.write_batch_records` must be at least 1");
        }
        if self.ingest.batch_records == 0 {
            bail!("`ingest.batch_records` must be at least 1");
        }
        self.protection.validate()
    }

    /// The number of parse workers to start.
    pub fn workers(&self) -> usize {
        if self.runner.workers == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        } else {
            self.runner.workers
        }
    }
}

/// Variables that configure the CLI itself rather than a config section.
const CLI_VARIABLES: [&str; 7] = [
    "RAMPART_CONFIG",
    "RAMPART_DATA_DIR",
    "RAMPART_LOG",
    "RAMPART_SHARED_DATA",
    // The LLM renderer's endpoint, model and key (`[narrate]` takes them from here too).
    "RAMPART_LLM_ENDPOINT",
    "RAMPART_LLM_MODEL",
    "RAMPART_LLM_API_KEY",
];

/// Applies `RAMPART_<SECTION>__<KEY>=value` overrides. Values are parsed as TOML values
/// (`4`, `true`, `"text"`); anything that does not parse is taken as a string.
fn apply_env(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<()> {
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if CLI_VARIABLES.contains(&name.as_str()) || rest == "REQUIRE_SERVICES" {
            continue;
        }
        let Some((section, key)) = rest.split_once("__") else {
            bail!(
                "environment variable `{name}` is not a configuration override; expected `RAMPART_<SECTION>__<KEY>`"
            );
        };
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        let section = table
            .entry(section.to_lowercase())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section) = section.as_table_mut() else {
            bail!("`{name}` overrides a key of `{rest}`, which is not a section");
        };
        section.insert(key.to_lowercase(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_from(text: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let mut table: toml::Table = text.parse()?;
        apply_env(
            &mut table,
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )?;
        let config: Config = toml::Value::Table(table).try_into()?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(load_from("", &[]).unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = load_from("[runner]\nworkerz = 3\n", &[]).unwrap_err();
        assert!(format!("{err:#}").contains("workerz"), "{err:#}");
        assert!(load_from("[nope]\n", &[]).is_err());
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = load_from(
            "[runner]\nworkers = 3\n",
            &[
                ("RAMPART_RUNNER__WORKERS", "5"),
                ("RAMPART_DATA_DIR", "/x"),
                ("PATH", "/bin"),
            ],
        )
        .unwrap();
        assert_eq!(config.runner.workers, 5);
    }

    #[test]
    fn malformed_override_is_an_error() {
        assert!(load_from("", &[("RAMPART_WORKERS", "5")]).is_err());
        assert!(load_from("", &[("RAMPART_RUNNER__WORKERS", "many")]).is_err());
    }

    #[test]
    fn defaults_file_round_trips() {
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(load_from(&text, &[]).unwrap(), Config::default());
    }
}
