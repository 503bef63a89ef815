//! Alert rates and throughput of all `SigmaHQ` rules over real Windows telemetry.
//!
//! Reads the OTRF Security-Datasets and Splunk attack-data samples through the ingest stage,
//! loads every rule of the `SigmaHQ` archive, evaluates every event against all of them on one
//! thread, and prints a JSON report: rules loaded and rejected, events, alerts per 10,000
//! events, events per second per core, and the rules that fire most.
//!
//! ```text
//! cargo run --release -p rampart-detect --example sigma_rates -- [RULES] [DATA...]
//! ```
//!
//! Defaults: `$RAMPART_SHARED_DATA/sigma-rules/sigmahq_rules_all.tar.gz` and the two data
//! sets under `$RAMPART_SHARED_DATA` (default `../shared/data` beside the workspace).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rampart_core::{Event, Ingested};
use rampart_detect::RuleSet;
use rampart_ingest::{ReadOptions, read_all};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shared = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let rules_path = args
        .next()
        .unwrap_or_else(|| shared.join("sigma-rules/sigmahq_rules_all.tar.gz"));
    let mut data: Vec<PathBuf> = args.collect();
    if data.is_empty() {
        data = vec![
            shared.join("otrf-security-datasets"),
            shared.join("splunk-attack-data-sample"),
        ];
    }

    let started = Instant::now();
    let (rules, report) = RuleSet::load(&rules_path)?;
    let load_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (by_dataset, dead_letters) = read_datasets(&data)?;
    let ingest_seconds = started.elapsed().as_secs_f64();

    let mut datasets = BTreeMap::new();
    let mut total_events = 0usize;
    let mut total_alerts = 0usize;
    let mut total_seconds = 0.0;
    let mut by_rule: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for (name, events) in &by_dataset {
        // Warm up once so the measured pass sees steady-state caches.
        for event in events.iter().take(1000) {
            std::hint::black_box(rules.evaluate(event));
        }
        let started = Instant::now();
        let mut alerts = 0usize;
        let mut windows_events = 0usize;
        for event in events {
            if event.attributes.contains_key("winlog.event_id") {
                windows_events += 1;
            }
            let raised = rules.evaluate(event);
            alerts += raised.len();
            for alert in raised {
                by_rule
                    .entry(alert.rule_id.clone())
                    .or_insert_with(|| (alert.title.clone(), 0))
                    .1 += 1;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        total_events += events.len();
        total_alerts += alerts;
        total_seconds += seconds;
        datasets.insert(
            name.clone(),
            json!({
                "events": events.len(),
                "windows_events": windows_events,
                "alerts": alerts,
                "alerts_per_10k_events": per_10k(alerts, events.len()),
                "seconds": seconds,
                "events_per_second_per_core": events.len() as f64 / seconds.max(1e-9),
            }),
        );
    }
    let mut top: Vec<(String, String, usize)> = by_rule
        .into_iter()
        .map(|(id, (title, count))| (id, title, count))
        .collect();
    top.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let out = json!({
        "rules": {
            "path": rules_path.display().to_string(),
            "files": report.files,
            "loaded": report.loaded,
            "correlations": report.correlations,
            "rejected": report.rejections.len(),
            "rejected_by_reason": report.by_reason,
            "load_seconds": load_seconds,
        },
        "ingest": {"seconds": ingest_seconds, "dead_letters": dead_letters},
        "datasets": datasets,
        "total": {
            "events": total_events,
            "alerts": total_alerts,
            "alerts_per_10k_events": per_10k(total_alerts, total_events),
            "match_seconds": total_seconds,
            "events_per_second_per_core": total_events as f64 / total_seconds.max(1e-9),
        },
        "top_rules": top.iter().take(15).map(|(id, title, count)| json!({"id": id, "title": title, "alerts": count})).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Events by data set, named by its folder.
type Datasets = BTreeMap<String, Vec<Event>>;

/// Events per data set and the number of dead letters.
fn read_datasets(data: &[PathBuf]) -> Result<(Datasets, u64), Box<dyn std::error::Error>> {
    let mut by_dataset: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    let mut dead_letters = 0u64;
    for path in data {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let events = by_dataset.entry(name).or_default();
        for item in read_all(std::slice::from_ref(path), &ReadOptions::default())? {
            match item {
                Ingested::Event(event) => events.push(*event),
                Ingested::DeadLetter(_) => dead_letters += 1,
                Ingested::Intel(_) => {}
            }
        }
    }
    Ok((by_dataset, dead_letters))
}

fn per_10k(alerts: usize, events: usize) -> f64 {
    if events == 0 {
        0.0
    } else {
        alerts as f64 * 10_000.0 / events as f64
    }
}
