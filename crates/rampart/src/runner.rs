//! The pipeline runner: one framing thread, parse workers on every core, and one writer,
//! connected by bounded channels so memory stays bounded by queue sizes, not input size.
//!
//! ```text
//! read_inputs (framing) --batches--> parse workers (N) --items--> writer (store, counts)
//! ```
//!
//! Backpressure: when the store is slower than parsing, the writer's queue fills, workers
//! block on send, the framing queue fills and framing blocks. Nothing is dropped.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossbeam_channel::{Receiver, Sender, bounded};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rampart_audit::{AuditEvent, AuditKind, AuditSink};
use rampart_core::{Alert, Format, Ingested, RunRecord};
use rampart_ingest::{Delivery, ReadOptions};
use rampart_store::Store;
use tracing::info;

use crate::config::Config;
use crate::detection::Detectors;
use crate::response::Responder;

/// What the parse workers hand to the writer.
struct Parsed {
    items: Vec<Ingested>,
    alerts: Vec<Alert>,
    bytes: u64,
}

/// The outcome of one run.
#[derive(Debug)]
pub struct RunOutcome {
    /// The stored run record with its final counts.
    pub run: RunRecord,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// What the response stage did.
    pub response: crate::response::ResponseSummary,
}

/// Runs ingestion over `inputs` into `store`, recording the run.
pub fn run(
    store: &dyn Store,
    audit: &dyn AuditSink,
    inputs: &[PathBuf],
    format: Option<Format>,
    config: &Config,
    detectors: &Detectors,
    mut responder: Responder<'_>,
) -> anyhow::Result<RunOutcome> {
    let started = Instant::now();
    for input in inputs {
        anyhow::ensure!(
            input.exists(),
            "input `{}` does not exist; pass files or directories to read",
            input.display()
        );
    }
    let mut run = RunRecord::start(inputs.iter().map(|p| p.display().to_string()).collect());
    store
        .begin_run(&run)
        .context("cannot record the run in the store")?;
    audit
        .record(AuditEvent::new(
            AuditKind::RunStarted,
            "rampart run",
            run.id.to_string(),
            serde_json::json!({ "inputs": run.inputs, "format": format.map(Format::name) }),
        ))
        .context("cannot write the run's start to the audit log")?;
    info!(run = %run.id, inputs = inputs.len(), "run started");

    let workers = config.workers();
    let queue = config.runner.queue_batches;
    let (batch_tx, batch_rx) = bounded::<Delivery>(queue);
    let (parsed_tx, parsed_rx) = bounded::<Parsed>(queue);
    let options = ReadOptions {
        format,
        limits: config.ingest.clone(),
    };
    let progress = Progress::new(estimate_input_bytes(inputs));

    let result = std::thread::scope(|scope| -> anyhow::Result<()> {
        let reader = scope.spawn(move || {
            let mut send = |delivery: Delivery| {
                // A closed channel means the writer failed; its error is reported instead.
                let _ = batch_tx.send(delivery);
            };
            rampart_ingest::read_inputs(inputs, &options, &mut send)
        });
        for _ in 0..workers {
            let rx = batch_rx.clone();
            let tx = parsed_tx.clone();
            scope.spawn(move || parse_worker(&rx, &tx, detectors));
        }
        drop(batch_rx);
        drop(parsed_tx);

        let written = write_all(
            store,
            &mut run,
            &parsed_rx,
            config,
            &progress,
            detectors,
            &mut responder,
        );
        // Unblock the framing thread if the writer stopped early.
        drop(parsed_rx);
        let read = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the input reader thread panicked"))?;
        written?;
        read.context("reading inputs failed")?;
        Ok(())
    });
    progress.finish();
    // Incidents still open when the input ends are closed, decided and narrated now.
    let result = result.and_then(|()| {
        let response = responder.finish()?;
        run.counts.incidents = response.incidents;
        run.counts.decisions = response.decisions;
        Ok(response)
    });
    run.finished_at = Some(chrono::Utc::now());
    store
        .update_run(&run)
        .context("cannot record the run's counts")?;
    audit
        .record(AuditEvent::new(
            AuditKind::RunFinished,
            "rampart run",
            run.id.to_string(),
            serde_json::json!({ "counts": run.counts, "ok": result.is_ok() }),
        ))
        .context("cannot write the run's end to the audit log")?;
    let response = result?;
    anyhow::ensure!(
        run.counts.is_balanced(),
        "internal error: run counts do not add up: {:?}",
        run.counts
    );
    let elapsed = started.elapsed();
    info!(run = %run.id, records = run.counts.records_read, secs = elapsed.as_secs_f64(), "run finished");
    Ok(RunOutcome {
        run,
        elapsed,
        response,
    })
}

fn parse_worker(rx: &Receiver<Delivery>, tx: &Sender<Parsed>, detectors: &Detectors) {
    for delivery in rx {
        let mut parsed = match delivery {
            Delivery::Batch(batch) => Parsed {
                bytes: batch
                    .frames
                    .iter()
                    .map(|frame| match frame {
                        rampart_ingest::Frame::Record(r)
                        | rampart_ingest::Frame::Bad { record: r, .. } => r.bytes.len() as u64 + 1,
                    })
                    .sum(),
                items: batch.parse(),
                alerts: Vec::new(),
            },
            Delivery::Unreadable(dead) => Parsed {
                bytes: dead.raw_len,
                items: vec![Ingested::DeadLetter(dead)],
                alerts: Vec::new(),
            },
        };
        for item in &parsed.items {
            if let Ingested::Event(event) = item {
                detectors.detect(event, &mut parsed.alerts);
            }
        }
        if tx.send(parsed).is_err() {
            return;
        }
    }
}

fn format_name(item: &Ingested) -> &'static str {
    let format = match item {
        Ingested::Event(e) => e.provenance.format,
        Ingested::Intel(i) => i.provenance.format,
        Ingested::DeadLetter(d) => d.provenance.format,
    };
    format.map_or("unsupported", Format::name)
}

fn write_all(
    store: &dyn Store,
    run: &mut RunRecord,
    rx: &Receiver<Parsed>,
    config: &Config,
    progress: &Progress,
    detectors: &Detectors,
    responder: &mut Responder<'_>,
) -> anyhow::Result<()> {
    // Correlation rules keep state across events, so they run here, in the one writer thread.
    let mut correlators = detectors.correlators();
    let mut pending = Pending {
        items: Vec::with_capacity(config.runner.write_batch_records),
        alerts: Vec::new(),
    };
    let mut last_update = Instant::now();
    for parsed in rx {
        for item in &parsed.items {
            *run.counts
                .by_format
                .entry(format_name(item).to_owned())
                .or_default() += 1;
        }
        run.counts.records_read += parsed.items.len() as u64;
        for item in &parsed.items {
            if let Ingested::Event(event) = item {
                for correlator in &mut correlators {
                    pending.alerts.extend(correlator.observe(event));
                }
            }
        }
        pending.items.extend(parsed.items);
        pending.alerts.extend(parsed.alerts);
        progress.advance(parsed.bytes, run.counts.records_read);
        if pending.items.len() >= config.runner.write_batch_records {
            flush(store, run, &mut pending, responder)?;
        }
        if last_update.elapsed() >= Duration::from_secs(1) {
            store
                .update_run(run)
                .context("cannot record the run's progress")?;
            last_update = Instant::now();
        }
    }
    for correlator in &mut correlators {
        pending.alerts.extend(correlator.flush());
    }
    for alert in &mut pending.alerts {
        detectors.name_tactics(alert);
    }
    flush(store, run, &mut pending, responder)
}

/// Records and alerts waiting for the next store transaction.
struct Pending {
    items: Vec<Ingested>,
    alerts: Vec<Alert>,
}

/// Stores the pending records, then the alerts that cite them, so a stored alert never
/// points at an event that is not stored.
fn flush(
    store: &dyn Store,
    run: &mut RunRecord,
    pending: &mut Pending,
    responder: &mut Responder<'_>,
) -> anyhow::Result<()> {
    if !pending.items.is_empty() {
        let outcome = store
            .write_batch(run.id, &pending.items)
            .context("cannot write a batch to the store")?;
        run.counts.events_stored += outcome.events_stored;
        run.counts.intel_objects_stored += outcome.intel_objects_stored;
        run.counts.duplicates_skipped += outcome.duplicates_skipped;
        run.counts.dead_letters += outcome.dead_letters;
        pending.items.clear();
    }
    if !pending.alerts.is_empty() {
        // One call per source, so that newly inserted alerts are counted per source; a
        // re-run finds them all stored already.
        pending.alerts.sort_by_key(|a| a.source);
        for group in pending.alerts.chunk_by(|a, b| a.source == b.source) {
            let outcome = store
                .put_alerts(group)
                .context("cannot write alerts to the store")?;
            if let Some(first) = group.first() {
                *run.counts
                    .alerts_by_source
                    .entry(source_name(first))
                    .or_default() += outcome.inserted;
            }
        }
        responder.observe(&pending.alerts)?;
        pending.alerts.clear();
    }
    Ok(())
}

fn source_name(alert: &Alert) -> String {
    serde_json::to_value(alert.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A rough size of the inputs in bytes once decompressed, for the progress bar's ETA:
/// plain files count their size, gzip files their trailer's size, other archives five times
/// their size.
fn estimate_input_bytes(inputs: &[PathBuf]) -> u64 {
    fn visit(path: &std::path::Path, total: &mut u64, budget: &mut usize) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                for entry in entries.flatten() {
                    visit(&entry.path(), total, budget);
                }
            }
            return;
        }
        let name = path.to_string_lossy();
        let size = meta.len();
        *total += if name.ends_with(".gz") || name.ends_with(".tgz") {
            gzip_trailer_size(path).unwrap_or(size.saturating_mul(5))
        } else if name.ends_with(".zip") {
            size.saturating_mul(5)
        } else {
            size
        };
    }
    let mut total = 0;
    let mut budget = 100_000;
    for input in inputs {
        visit(input, &mut total, &mut budget);
    }
    total
}

fn gzip_trailer_size(path: &std::path::Path) -> Option<u64> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::End(-4)).ok()?;
    let mut trailer = [0u8; 4];
    file.read_exact(&mut trailer).ok()?;
    Some(u64::from(u32::from_le_bytes(trailer)))
}

/// A progress bar on a terminal, periodic log lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_log: std::cell::Cell<Instant>,
}

impl Progress {
    fn new(total_bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total_bytes.max(1)), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {msg} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            last_log: std::cell::Cell::new(Instant::now()),
        }
    }

    fn rate(&self, records: u64) -> f64 {
        records as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    fn advance(&self, bytes: u64, records: u64) {
        if let Some(bar) = &self.bar {
            let length = bar.length().unwrap_or(0);
            let position = bar.position().saturating_add(bytes);
            if position > length {
                bar.set_length(position);
            }
            bar.set_position(position);
            bar.set_message(format!(
                "{} records, {:.0}/s",
                crate::output::thousands(records),
                self.rate(records)
            ));
        } else if self.last_log.get().elapsed() >= Duration::from_secs(5) {
            info!(
                records,
                rate = format!("{:.0}/s", self.rate(records)),
                "progress"
            );
            self.last_log.set(Instant::now());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
