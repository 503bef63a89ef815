//! `rampart dead-letters`: what could not be read, and why.

use std::path::Path;

use clap::Args;
use rampart_core::RunId;
use rampart_store::{Page, Store as _};

use crate::output::print_json;

/// Arguments of `rampart dead-letters`.
#[derive(Debug, Args)]
pub struct DeadLettersArgs {
    /// Only the dead letters seen by this run (see `rampart runs`).
    #[arg(long)]
    pub run: Option<RunId>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// Runs `rampart dead-letters`.
pub fn run(
    args: &DeadLettersArgs,
    data_dir: &Path,
    config: &crate::config::Config,
    json: bool,
) -> anyhow::Result<()> {
    let store = super::open_existing_store(data_dir, config)?;
    let letters = store.dead_letters(args.run, Page::first(args.limit))?.items;
    if json {
        return print_json(&letters);
    }
    if letters.is_empty() {
        println!("no dead letters");
        return Ok(());
    }
    for letter in &letters {
        let p = &letter.provenance;
        println!("{} {} at {}", letter.id, p.source, p.position);
        println!("  reason: {}", letter.reason);
        let preview: String = letter.raw.chars().take(120).collect();
        println!(
            "  bytes:  {} ({} bytes)",
            preview.escape_debug(),
            letter.raw_len
        );
    }
    Ok(())
}
