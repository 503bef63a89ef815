//! `rampart trust add|list|remove`: which public keys may sign which models
//! (`DATA_DIR/trust.toml`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_registry::{KeyStore, MAX_KEY_BYTES, TrustPolicy};
use serde::Serialize;

use crate::output::print_json;

/// Arguments of `rampart trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TrustCommand,
}

/// `rampart trust` subcommands.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust a public key to sign models whose names match the globs.
    Add(TrustAddArgs),
    /// List trusted keys and the models each may sign.
    List,
    /// Stop trusting a key (by name or key id).
    Remove(TrustRemoveArgs),
}

/// Arguments of `rampart trust add`.
#[derive(Debug, Args)]
pub struct TrustAddArgs {
    /// PEM public key file (ECDSA P-256).
    pub public_key: PathBuf,
    /// Name for the key in listings and audit records.
    #[arg(long)]
    pub name: String,
    /// Model-name glob this key may sign (`*` any run of characters, `?` one character);
    /// repeatable. Default: `*`.
    #[arg(long = "models", value_name = "GLOB")]
    pub models: Vec<String>,
}

/// Arguments of `rampart trust remove`.
#[derive(Debug, Args)]
pub struct TrustRemoveArgs {
    /// Key name or key id (full, or at least its first 16 hex digits).
    pub key: String,
}

#[derive(Serialize)]
struct KeyRow {
    name: String,
    key_id: String,
    models: Vec<String>,
}

/// Runs `rampart trust`.
pub fn run(args: &TrustArgs, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    // Opening the key store first makes sure the local key exists and is trusted before the
    // policy is edited, so `trust add` on a fresh data dir does not lock out local models.
    let store = KeyStore::open_or_init(data_dir)
        .with_context(|| format!("cannot open the key store in `{}`", data_dir.display()))?;
    let path = TrustPolicy::path_in(data_dir);
    let mut policy = store.trust().clone();
    match &args.command {
        TrustCommand::Add(add) => {
            let size = std::fs::metadata(&add.public_key)
                .with_context(|| format!("cannot read `{}`", add.public_key.display()))?
                .len();
            anyhow::ensure!(
                size <= MAX_KEY_BYTES,
                "`{}` is {size} bytes, too large for a PEM public key",
                add.public_key.display()
            );
            let pem = std::fs::read_to_string(&add.public_key)
                .with_context(|| format!("cannot read `{}`", add.public_key.display()))?;
            let globs: Vec<&str> = add.models.iter().map(String::as_str).collect();
            let id = policy
                .add_key(&pem, &add.name, &globs)
                .with_context(|| format!("cannot trust `{}`", add.public_key.display()))?;
            policy.save(&path)?;
            if json {
                return print_json(&rows(&policy));
            }
            println!(
                "trusted key `{}` ({}) for models {}",
                add.name,
                id.short(),
                if globs.is_empty() {
                    "*".to_owned()
                } else {
                    globs.join(", ")
                }
            );
        }
        TrustCommand::List => {
            if json {
                return print_json(&rows(&policy));
            }
            if policy.keys().is_empty() {
                println!("no trusted keys; add one with `rampart trust add PUB.pem --name NAME`");
            }
            for row in rows(&policy) {
                println!(
                    "{:<24} {}  models: {}",
                    row.name,
                    row.key_id,
                    row.models.join(", ")
                );
            }
        }
        TrustCommand::Remove(remove) => {
            let removed = policy.remove_key(&remove.key)?;
            policy.save(&path)?;
            if json {
                return print_json(&rows(&policy));
            }
            println!(
                "no longer trusting `{}` ({})",
                removed.name(),
                removed.key_id().short()
            );
        }
    }
    Ok(())
}

fn rows(policy: &TrustPolicy) -> Vec<KeyRow> {
    policy
        .keys()
        .iter()
        .map(|k| KeyRow {
            name: k.name().to_owned(),
            key_id: k.key_id().to_string(),
            models: k.models().iter().map(ToString::to_string).collect(),
        })
        .collect()
}
