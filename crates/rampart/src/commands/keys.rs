//! `rampart keys rotate|list`: the key-encryption keys that protect sensitive fields at rest
//! (`DATA_DIR/keys/`, see the `protection` module).
//!
//! Rotation makes a new KEK, rewraps every stored data key under it (field ciphertexts in the
//! store are untouched: they name their data key, not the KEK), makes it primary, and only
//! then deletes the old KEK files. A rotation cut short leaves the old KEK in place, so every
//! data key stays readable; running it again finishes the job. Run it while no `rampart run`
//! writes to the same data dir.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_audit::{AuditEvent, AuditKind, AuditSink as _};
use serde::Serialize;

use crate::output::print_json;
use crate::protection::{KeyDir, new_kek_id};
use rampart_crypto::envelope::Keyring;

/// Arguments of `rampart keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `rampart keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Replace the key-encryption key: rewrap every data key, then retire the old key.
    Rotate,
    /// List key-encryption keys and how many data keys each wraps.
    List,
}

#[derive(Serialize)]
struct KekRow {
    kek_id: String,
    primary: bool,
    data_keys: usize,
}

#[derive(Serialize)]
struct Rotation {
    new_kek_id: String,
    retired: Vec<String>,
    data_keys_rewrapped: usize,
}

/// Runs `rampart keys`.
pub fn run(args: &KeysArgs, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let keys = KeyDir::new(data_dir);
    keys.ensure()?;
    match args.command {
        KeysCommand::List => list(&keys, json),
        KeysCommand::Rotate => {
            let rotation = rotate(&keys)?;
            crate::audit_log::open(data_dir)?
                .record(AuditEvent::new(
                    AuditKind::KeyChange,
                    "rampart keys rotate",
                    rotation.new_kek_id.clone(),
                    serde_json::json!({
                        "action": "rotate_kek",
                        "retired": rotation.retired,
                        "data_keys_rewrapped": rotation.data_keys_rewrapped,
                    }),
                ))
                .context("cannot write the key rotation to the audit log")?;
            if json {
                return print_json(&rotation);
            }
            println!(
                "new key-encryption key {}: {} data keys rewrapped, retired {}",
                rotation.new_kek_id,
                rotation.data_keys_rewrapped,
                if rotation.retired.is_empty() {
                    "none".to_owned()
                } else {
                    rotation.retired.join(", ")
                }
            );
            Ok(())
        }
    }
}

fn list(keys: &KeyDir, json: bool) -> anyhow::Result<()> {
    let ring = keys.keyring()?;
    let mut counts: BTreeMap<String, usize> = ring.ids().map(|id| (id.to_owned(), 0)).collect();
    for wrapped in keys.wrapped_deks()? {
        *counts.entry(wrapped.kek_id).or_default() += 1;
    }
    let rows: Vec<KekRow> = counts
        .into_iter()
        .map(|(kek_id, data_keys)| KekRow {
            primary: ring.primary_id() == Some(kek_id.as_str()),
            kek_id,
            data_keys,
        })
        .collect();
    if json {
        return print_json(&rows);
    }
    for row in &rows {
        let mark = if row.primary { " (primary)" } else { "" };
        let missing = if ring.ids().any(|id| id == row.kek_id) {
            ""
        } else {
            " MISSING: these data keys cannot be opened"
        };
        println!("{}{mark}  {} data keys{missing}", row.kek_id, row.data_keys);
    }
    Ok(())
}

/// Rotates the KEK (see the module docs).
fn rotate(keys: &KeyDir) -> anyhow::Result<Rotation> {
    let mut ring = keys.keyring()?;
    let new_id = new_kek_id()?;
    let kek = Keyring::generate_kek()?;
    // The new key is on disk before anything is wrapped with it.
    keys.write_kek(&new_id, &kek)?;
    ring.insert(&new_id, kek)?;
    let mut rewrapped = 0;
    for wrapped in keys.wrapped_deks()? {
        let moved = ring.rewrap(&wrapped, &new_id).with_context(|| {
            format!(
                "cannot rewrap data key `{}`; nothing was retired, fix the key and run `rampart keys rotate` again",
                wrapped.dek_id
            )
        })?;
        keys.write_dek(&moved)?;
        rewrapped += 1;
    }
    keys.set_primary(&new_id)?;
    // Retire only keys no data key still names.
    let still_used: Vec<String> = keys
        .wrapped_deks()?
        .into_iter()
        .map(|w| w.kek_id)
        .filter(|id| *id != new_id)
        .collect();
    anyhow::ensure!(
        still_used.is_empty(),
        "data keys under `{}` appeared during rotation; stop `rampart run` and rotate again",
        still_used.join(", ")
    );
    let mut retired = Vec::new();
    for id in keys.kek_ids()? {
        if id != new_id {
            let path = keys.kek_path(&id);
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot delete retired key `{}`", path.display()))?;
            retired.push(id);
        }
    }
    tracing::info!(kek = %new_id, rewrapped, "rotated the key-encryption key");
    Ok(Rotation {
        new_kek_id: new_id,
        retired,
        data_keys_rewrapped: rewrapped,
    })
}
