//! Every real Windows event file in the shared data sets: `evtx_dump` JSON lines and the
//! native `.evtx` files of the EVTX samples, the Sigma regression events, the OTRF Windows
//! archives and the Splunk `attack_data` archives. All of them are well formed, so none may
//! produce a dead letter. Prints counts per data set and the ECS field fill rates
//! (`cargo test -p rampart-ingest --test windows_corpus -- --nocapture`).
//!
//! The data is read from `$RAMPART_SHARED_DATA` (default: `shared/data` beside the workspace
//! root); the test is skipped, loudly, when it is absent. Nothing from these data sets is
//! copied into the repository (the EVTX samples are GPL, the OTRF archives are not ours).

#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]
#![expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "the data sets' file names are fixed"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rampart_core::{Format, Ingested};
use rampart_ingest::{ReadOptions, read_all};

fn shared_data() -> Option<PathBuf> {
    let root = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    root.is_dir().then_some(root)
}

/// Files under `dir` (recursively) whose name satisfies `keep`, sorted.
fn files(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().and_then(|n| n.to_str()).is_some_and(keep) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The ECS fields whose fill rate the table shows.
const FIELDS: [&str; 16] = [
    "@timestamp",
    "event.code",
    "event.action",
    "event.category",
    "host.name",
    "user.name",
    "process.pid",
    "process.executable",
    "process.command_line",
    "process.parent.executable",
    "source.ip",
    "destination.ip",
    "file.path",
    "dns.question.name",
    "winlog.event_data",
    "winlog.record_id",
];

#[derive(Default)]
struct Tally {
    files: usize,
    events: usize,
    dead: Vec<String>,
    formats: BTreeMap<String, usize>,
    filled: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn add(&mut self, items: &[Ingested]) {
        for item in items {
            match item {
                Ingested::Event(event) => {
                    self.events += 1;
                    let format = event.provenance.format.map_or("none", Format::name);
                    *self.formats.entry(format.to_owned()).or_default() += 1;
                    let flat = event.ecs.flatten();
                    for field in FIELDS {
                        let filled = flat.contains_key(field)
                            || event.attributes.keys().any(|key| key.starts_with(field));
                        if filled {
                            *self.filled.entry(field).or_default() += 1;
                        }
                    }
                }
                Ingested::DeadLetter(letter) => self.dead.push(format!(
                    "{} at {}: {}",
                    letter.provenance.source, letter.provenance.position, letter.reason
                )),
                Ingested::Intel(_) => {}
            }
        }
    }

    fn rate(&self, field: &str) -> String {
        if self.events == 0 {
            return "-".to_owned();
        }
        let filled = self.filled.get(field).copied().unwrap_or(0);
        format!("{:.1}%", 100.0 * filled as f64 / self.events as f64)
    }
}

fn read(paths: &[PathBuf]) -> Tally {
    let mut tally = Tally {
        files: paths.len(),
        ..Tally::default()
    };
    for path in paths {
        let items = read_all(std::slice::from_ref(path), &ReadOptions::default()).unwrap();
        tally.add(&items);
    }
    tally
}

#[test]
fn every_real_windows_file_reads_without_dead_letters() {
    let Some(data) = shared_data() else {
        eprintln!(
            "SKIPPED windows_corpus: shared data not found; set RAMPART_SHARED_DATA to the \
             shared/data folder"
        );
        return;
    };
    let sets: Vec<(&str, Vec<PathBuf>)> = vec![
        (
            "evtx-samples jsonl",
            files(&data.join("evtx-samples-dev/jsonl"), &|n| {
                n.ends_with(".jsonl")
            }),
        ),
        (
            "evtx-samples evtx",
            files(&data.join("evtx-samples-dev/evtx"), &|n| {
                n.ends_with(".evtx")
            }),
        ),
        (
            "sigma regression",
            files(&data.join("sigma-rules/regression_cases"), &|n| {
                n.starts_with("event_") && n.ends_with(".json")
            }),
        ),
        (
            "otrf windows zips",
            files(&data.join("otrf-security-datasets/atomic/windows"), &|n| {
                n.ends_with(".zip") || n.ends_with(".tar.gz")
            }),
        ),
        (
            "splunk attack_data",
            files(&data.join("splunk-attack-data-sample"), &|n| {
                n.ends_with(".tar.gz")
            }),
        ),
    ];
    let mut failures = Vec::new();
    let mut header = String::from("| data set | files | events | dead letters |");
    let mut rule = String::from("|---|---:|---:|---:|");
    for field in FIELDS {
        write!(header, " {field} |").unwrap();
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    for (name, paths) in &sets {
        assert!(!paths.is_empty(), "no files found for {name}");
        let tally = read(paths);
        let mut row = format!(
            "| {name} | {} | {} | {} |",
            tally.files,
            tally.events,
            tally.dead.len()
        );
        for field in FIELDS {
            write!(row, " {} |", tally.rate(field)).unwrap();
        }
        println!("{row}");
        eprintln!("{name}: formats {:?}", tally.formats);
        for letter in tally.dead.iter().take(5) {
            eprintln!("  dead letter: {letter}");
        }
        if !tally.dead.is_empty() || tally.events == 0 {
            failures.push(format!(
                "{name}: {} dead letters, {} events",
                tally.dead.len(),
                tally.events
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
