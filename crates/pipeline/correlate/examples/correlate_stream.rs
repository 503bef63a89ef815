//! Streams alerts through the correlator and reports throughput and peak memory as JSON.
//!
//! ```text
//! correlate_stream [--alerts N] [--input alerts.jsonl] [--out results.json]
//! ```
//!
//! Without `--input` it generates `N` (default 1,000,000) realistic synthetic alerts on the fly
//! (see `benches/common/synthetic.rs`), so memory holds only what the correlator keeps. With
//! `--input` it replays a JSON-lines file of `Alert`s.

use std::io::BufRead as _;
use std::time::{Duration, Instant};

use rampart_core::Alert;
use rampart_correlate::{CorrelateConfig, Correlator};
use serde_json::json;

#[path = "../benches/common/synthetic.rs"]
mod synthetic;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut count: u64 = 1_000_000;
    let mut input: Option<String> = None;
    let mut out: Option<String> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--alerts" => count = args.next().ok_or("--alerts needs a number")?.parse()?,
            "--input" => input = Some(args.next().ok_or("--input needs a path")?),
            "--out" => out = Some(args.next().ok_or("--out needs a path")?),
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }

    let mut correlator = Correlator::new(CorrelateConfig::default())?;
    let mut observe_time = Duration::ZERO;
    let mut incidents: u64 = 0;
    let mut multi_alert: u64 = 0;
    let mut largest: usize = 0;
    let mut observed: u64 = 0;
    let mut sample_rss = Vec::new();
    let mut feed = |alert: Alert, correlator: &mut Correlator| {
        let start = Instant::now();
        let closed = correlator.observe(alert);
        observe_time += start.elapsed();
        observed += 1;
        for incident in &closed {
            incidents += 1;
            let n = incident.incident.alert_ids.len();
            largest = largest.max(n);
            if n > 1 {
                multi_alert += 1;
            }
        }
        if observed.is_multiple_of(100_000) {
            sample_rss.push(json!({"alerts": observed, "rss_kib": status_kib("VmRSS")}));
        }
    };
    let wall = Instant::now();
    let source = if let Some(path) = &input {
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        for line in file.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            feed(serde_json::from_str(&line)?, &mut correlator);
        }
        format!("replay of {path}")
    } else {
        let stream = synthetic::AlertStream::new(42, 2600, synthetic::techniques());
        for alert in stream.take(usize::try_from(count)?) {
            feed(alert, &mut correlator);
        }
        "synthetic (benches/common/synthetic.rs, seed 42, ATT&CK v18.1 techniques)".to_owned()
    };
    let start = Instant::now();
    let rest = correlator.finish();
    observe_time += start.elapsed();
    for incident in &rest {
        incidents += 1;
        let n = incident.incident.alert_ids.len();
        largest = largest.max(n);
        if n > 1 {
            multi_alert += 1;
        }
    }
    let wall = wall.elapsed();
    let stats = correlator.stats();
    let report = json!({
        "benchmark": "correlate",
        "source": source,
        "alerts": stats.observed,
        "merged_repeats": stats.merged,
        "late": stats.late,
        "incidents": incidents,
        "multi_alert_incidents": multi_alert,
        "largest_incident_alerts": largest,
        "peak_open_alerts": stats.peak_open_alerts,
        "hubs_at_end": stats.hubs,
        "ledger_contributions_at_end": correlator.ledger().len(),
        "correlate_seconds": observe_time.as_secs_f64(),
        "wall_seconds_including_generation": wall.as_secs_f64(),
        "alerts_per_second": stats.observed as f64 / observe_time.as_secs_f64(),
        "peak_rss_kib": status_kib("VmHWM"),
        "rss_samples": sample_rss,
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(path) = out {
        std::fs::write(path, text + "\n")?;
    }
    Ok(())
}

/// A `kB` line of `/proc/self/status` (Linux), or null elsewhere.
fn status_kib(key: &str) -> serde_json::Value {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(serde_json::Value::Null, |v| json!(v))
}
