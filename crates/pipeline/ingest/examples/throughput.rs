//! Reads inputs with framing and parsing on one thread and prints records per second:
//! the parse throughput of the readers alone, without a store.
//!
//! `cargo run --release -p rampart-ingest --example throughput -- FILE_OR_DIR...`

use std::path::PathBuf;
use std::time::Instant;

use rampart_ingest::{Delivery, ReadOptions, read_inputs};

/// Bytes under a path: a file's length, or the sum over a directory tree.
fn size(path: &std::path::Path) -> u64 {
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|entry| size(&entry.path())).sum(),
        Err(_) => std::fs::metadata(path).map_or(0, |metadata| metadata.len()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        return Err("usage: throughput FILE_OR_DIR...".into());
    }
    let bytes: u64 = paths.iter().map(|path| size(path)).sum();
    let started = Instant::now();
    let mut items = 0usize;
    let report = read_inputs(
        &paths,
        &ReadOptions::default(),
        &mut |delivery| match delivery {
            Delivery::Batch(batch) => items += batch.parse().len(),
            Delivery::Unreadable(_) => items += 1,
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} records ({} items, {} unreadable) in {seconds:.3} s: {:.0} records/s, {:.1} MB/s of input files",
        report.records,
        items,
        report.unreadable,
        report.records as f64 / seconds,
        bytes as f64 / seconds / 1e6
    );
    Ok(())
}
