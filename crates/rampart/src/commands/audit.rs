//! `rampart audit`: verify the tamper-evident log, prove entries, export checkpoints.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::print_json;

/// Subcommands of `rampart audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the tree, check every checkpoint signature and name the first bad entry.
    Verify(VerifyArgs),
    /// Print an inclusion proof for one entry that a third party can check.
    Prove(ProveArgs),
    /// Sign and print the latest checkpoint (C2SP signed note).
    Checkpoint(CheckpointArgs),
    /// List log entries.
    Entries(EntriesArgs),
}

/// Arguments of `rampart audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also prove that the log extends these checkpoints exported earlier (`audit checkpoint --out`).
    #[arg(long)]
    pub checkpoint: Vec<PathBuf>,
}

/// Arguments of `rampart audit prove`.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// Zero-based index of the entry.
    #[arg(long)]
    pub entry: u64,
}

/// Arguments of `rampart audit checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Also write the signed checkpoint to this file, to keep outside the data dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `rampart audit entries`.
#[derive(Debug, Args)]
pub struct EntriesArgs {
    /// First entry to show.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u64,
}

/// Runs `rampart audit`.
pub fn run(command: &AuditCommand, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        data_dir.exists(),
        "data dir `{}` does not exist; pass `--data-dir`",
        data_dir.display()
    );
    let log = crate::audit_log::open(data_dir)?;
    match command {
        AuditCommand::Verify(args) => {
            let mut exported = Vec::new();
            for path in &args.checkpoint {
                exported.push(std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read exported checkpoint `{}`", path.display())
                })?);
            }
            let report = if exported.is_empty() {
                log.verify()
            } else {
                let texts: Vec<&str> = exported.iter().map(String::as_str).collect();
                log.verify_against_all(&texts)
            }
            .context("audit log verification failed")?;
            if json {
                print_json(&json!({
                    "ok": true,
                    "entries": report.entries,
                    "checkpoints": report.checkpoints,
                    "root_hash": hex::encode(report.root),
                    "exported_checkpoints_checked": exported.len(),
                }))
            } else {
                println!(
                    "audit log verified: {} entries, {} signed checkpoints, root {}",
                    report.entries,
                    report.checkpoints,
                    hex::encode(report.root)
                );
                if !exported.is_empty() {
                    println!("it extends all {} exported checkpoints", exported.len());
                }
                Ok(())
            }
        }
        AuditCommand::Prove(args) => {
            let proof = log
                .prove(args.entry)
                .with_context(|| format!("cannot prove entry `{}`", args.entry))?;
            println!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(())
        }
        AuditCommand::Checkpoint(args) => {
            let note = log.checkpoint()?.to_note_text();
            if let Some(out) = &args.out {
                std::fs::write(out, &note)
                    .with_context(|| format!("cannot write `{}`", out.display()))?;
            }
            if json {
                print_json(&json!({ "checkpoint": note }))
            } else {
                print!("{note}");
                Ok(())
            }
        }
        AuditCommand::Entries(args) => {
            let end = args.from.saturating_add(args.limit).min(log.len()?);
            let mut entries = Vec::new();
            for index in args.from..end {
                let (entry, _) = log.entry(index)?;
                entries.push(entry);
            }
            if json {
                return print_json(&entries);
            }
            for entry in &entries {
                println!("{}", serde_json::to_string(entry)?);
            }
            Ok(())
        }
    }
}
