//! `rampart demo`: the whole pipeline on bundled real data, in a fresh data dir.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use crate::commands::run::RunSummary;
use crate::config::Config;
use crate::output::print_json;

/// Arguments of `rampart demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// The `--json` output of the demo.
#[derive(Debug, Serialize)]
struct DemoReport {
    data_dir: String,
    ingest: RunSummary,
    audit: AuditSummary,
}

/// The audit log's state at the end of the demo.
#[derive(Debug, Serialize)]
struct AuditSummary {
    entries: u64,
    root_hash: String,
    checkpoint: String,
}

/// Runs `rampart demo`.
pub fn run(
    _args: &DemoArgs,
    data_dir: Option<&Path>,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    let data_dir = match data_dir {
        Some(dir) => dir.to_path_buf(),
        None => fresh_data_dir()?,
    };
    let inputs = crate::demo_data::write_to(&data_dir)?;
    if !json {
        println!("Rampart demo: data dir {}", data_dir.display());
        println!("step 1/1  ingest bundled real data (Windows events, STIX intel, NSL-KDD flows)");
    }
    let store = super::open_store(&data_dir, config)?;
    let audit = crate::audit_log::open(&data_dir)?;
    let detectors = super::run::detectors(&data_dir, config, &audit)?;
    let outcome = crate::runner::run(&store, &audit, &inputs, None, config, &detectors)?;
    let ingest = RunSummary::new(&outcome, &data_dir);
    let verified = audit.verify().context("the audit log does not verify")?;
    let checkpoint = audit.checkpoint()?.to_note_text();
    if json {
        return print_json(&DemoReport {
            data_dir: data_dir.display().to_string(),
            ingest,
            audit: AuditSummary {
                entries: verified.entries,
                root_hash: hex::encode(verified.root),
                checkpoint,
            },
        });
    }
    ingest.print_human();
    println!();
    println!(
        "audit log verified: {} entries, root {}; latest signed checkpoint:",
        verified.entries,
        hex::encode(verified.root)
    );
    for line in checkpoint.lines() {
        println!("  {line}");
    }
    println!();
    println!("inspect it further:");
    println!("  rampart runs --data-dir {}", data_dir.display());
    println!("  rampart dead-letters --data-dir {}", data_dir.display());
    println!("  rampart audit verify --data-dir {}", data_dir.display());
    Ok(())
}

/// A new temporary folder that outlives the process, so later commands can inspect it.
fn fresh_data_dir() -> anyhow::Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix("rampart-demo-")
        .tempdir()
        .context("cannot create a temporary data dir; pass `--data-dir`")?;
    Ok(dir.keep())
}
