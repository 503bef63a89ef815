//! Which rules cost the most per event: times every rule of a directory on its own.
//!
//! ```text
//! cargo run --release -p rampart-detect --example rule_costs -- RULES_DIR EVENTS...
//! ```

use std::path::PathBuf;
use std::time::Instant;

use rampart_core::Ingested;
use rampart_detect::RuleSet;
use rampart_ingest::{ReadOptions, read_all};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let rules_dir = args.next().ok_or("usage: rule_costs RULES_DIR EVENTS...")?;
    let inputs: Vec<PathBuf> = args.collect();
    let events: Vec<_> = read_all(&inputs, &ReadOptions::default())?
        .into_iter()
        .filter_map(|item| match item {
            Ingested::Event(event) => Some(*event),
            _ => None,
        })
        .collect();
    let mut files = Vec::new();
    let mut stack = vec![rules_dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                files.push(path);
            }
        }
    }
    let mut costs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let Ok(rules) = RuleSet::from_yaml_str(&file.display().to_string(), &text) else {
            continue;
        };
        let started = Instant::now();
        for _ in 0..20 {
            for event in &events {
                std::hint::black_box(rules.evaluate(event));
            }
        }
        let per_event = started.elapsed().as_secs_f64() / (20.0 * events.len() as f64);
        costs.push((per_event, file));
    }
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = costs.iter().map(|c| c.0).sum();
    println!(
        "{} rules, {:.1} us per event in total",
        costs.len(),
        total * 1e6
    );
    for (cost, file) in costs.iter().take(25) {
        println!("{:8.2} us  {}", cost * 1e6, file.display());
    }
    Ok(())
}
