//! Every real file of the network formats in the shared data folder: detection, no dead
//! letters where the data is well formed, counts and ECS field fill rates (printed; run with
//! `--nocapture` to see the table). Skips loudly when the data folder is absent.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]
#![expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "the data sets' file names are fixed"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_core::{Format, Ingested};
use rampart_ingest::{Delivery, ReadOptions, read_all, read_inputs};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: shared data folder {} is absent; set RAMPART_SHARED_DATA",
            dir.display()
        );
        None
    }
}

/// The files of one data set that hold records of our formats, sorted.
fn files(root: &Path, dataset: &str, keep: fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dataset)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path.file_name().unwrap().to_string_lossy()) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[derive(Default)]
struct Tally {
    events: u64,
    dead: Vec<String>,
    ground_truth: u64,
    malicious: BTreeMap<String, u64>,
    features: u64,
    fields: BTreeMap<String, u64>,
}

fn tally(read: &[Ingested]) -> Tally {
    let mut tally = Tally::default();
    for item in read {
        match item {
            Ingested::Event(event) => {
                tally.events += 1;
                for path in event.ecs.flatten().into_keys() {
                    *tally.fields.entry(path).or_default() += 1;
                }
                if let Some(truth) = &event.ground_truth {
                    tally.ground_truth += 1;
                    *tally
                        .malicious
                        .entry(format!("{:?}", truth.malicious))
                        .or_default() += 1;
                }
                if event.features.is_some() {
                    tally.features += 1;
                }
            }
            Ingested::DeadLetter(letter) => tally.dead.push(format!(
                "{} {}: {}",
                letter.provenance.source, letter.provenance.position, letter.reason
            )),
            Ingested::Intel(_) => {}
        }
    }
    tally
}

fn report(name: &str, tally: &Tally) {
    let rates: Vec<String> = tally
        .fields
        .iter()
        .map(|(field, count)| {
            format!(
                "{field} {:.0}%",
                100.0 * *count as f64 / tally.events.max(1) as f64
            )
        })
        .collect();
    eprintln!(
        "| {name} | {} | {} | {} {:?} | {} | {} |",
        tally.events,
        tally.dead.len(),
        tally.ground_truth,
        tally.malicious,
        tally.features,
        rates.join(", ")
    );
}

fn check(
    root: &Path,
    name: &str,
    dataset: &str,
    keep: fn(&str) -> bool,
    expected: Option<u64>,
) -> Tally {
    let paths = files(root, dataset, keep);
    assert!(!paths.is_empty(), "no files in {dataset}");
    let read = read_all(&paths, &ReadOptions::default()).unwrap();
    let tally = tally(&read);
    report(name, &tally);
    assert!(
        tally.dead.is_empty(),
        "{name}: dead letters in well-formed data: {:#?}",
        tally.dead.iter().take(5).collect::<Vec<_>>()
    );
    if let Some(expected) = expected {
        assert_eq!(tally.events, expected, "{name}");
    }
    tally
}

#[test]
fn real_network_data_reads_without_dead_letters() {
    let Some(root) = data_dir() else {
        return;
    };
    eprintln!(
        "| data set | events | dead letters | ground truth (malicious) | feature records | ECS fill rates |"
    );
    eprintln!("|---|---:|---:|---|---:|---|");
    let eve = check(
        &root,
        "suricata-eve-alerts",
        "suricata-eve-alerts",
        |name| name == "alerts-only.json",
        Some(548),
    );
    assert_eq!(eve.fields.get("rule.id"), Some(&548));
    assert_eq!(eve.fields.get("@timestamp"), Some(&548));
    let zeek = check(
        &root,
        "stratosphere-zeek-labeled",
        "stratosphere-zeek-labeled",
        |name| name.ends_with(".log") || name.ends_with(".labeled"),
        None,
    );
    assert!(zeek.ground_truth > 10_000, "{}", zeek.ground_truth);
    let nsl = check(
        &root,
        "nsl-kdd",
        "nsl-kdd",
        |name| name.starts_with("KDD"),
        None,
    );
    assert_eq!(nsl.features, nsl.events);
    assert_eq!(nsl.ground_truth, nsl.events);
    let cic = check(
        &root,
        "cic-ids2017-improved-sample",
        "cic-ids2017-improved-sample",
        |name| name.ends_with(".csv"),
        Some(25_127),
    );
    assert_eq!(cic.ground_truth, 25_127);
    assert_eq!(cic.malicious.get("Some(false)"), Some(&2_500));
    check(
        &root,
        "unsw-nb15-layout",
        "unsw-nb15-layout",
        |name| name == "columns.csv",
        Some(0),
    );
}

/// What each real file is detected as: `Ok(format)` per record batch, `Err(reason)` for
/// unreadable inputs, keyed by source (archive members included).
fn detected(paths: &[PathBuf]) -> BTreeMap<String, Result<Format, String>> {
    let mut out = BTreeMap::new();
    read_inputs(
        paths,
        &ReadOptions::default(),
        &mut |delivery| match delivery {
            Delivery::Batch(batch) => {
                out.insert(batch.source.source.clone(), Ok(batch.parser.format()));
            }
            Delivery::Unreadable(letter) => {
                out.insert(letter.provenance.source.clone(), Err(letter.reason.clone()));
            }
        },
    )
    .unwrap();
    out
}

#[test]
fn detection_on_every_real_telemetry_file() {
    let Some(root) = data_dir() else {
        return;
    };
    let datasets = [
        "suricata-eve-alerts",
        "stratosphere-zeek-labeled",
        "nsl-kdd",
        "cic-ids2017-improved-sample",
        "unsw-nb15-layout",
        "otrf-security-datasets",
        "evtx-samples-dev",
        "splunk-attack-data-sample",
        "threat-intel-stix-misp/stix21",
    ];
    let paths: Vec<PathBuf> = datasets.iter().map(|dataset| root.join(dataset)).collect();
    let detected = detected(&paths);
    let mut summary: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (source, result) in &detected {
        let expected = expected_format(source);
        let got = match result {
            Ok(format) => format.name().to_owned(),
            Err(reason) => {
                assert!(
                    reason.starts_with("unsupported format"),
                    "{source}: {reason}"
                );
                reason.clone()
            }
        };
        let dataset = datasets
            .iter()
            .find(|dataset| source.contains(*dataset))
            .copied()
            .unwrap_or("?");
        *summary
            .entry((dataset.to_owned(), got.clone()))
            .or_default() += 1;
        if let Some(expected) = expected {
            assert_eq!(got, expected, "{source}");
        }
    }
    for ((dataset, got), count) in summary {
        eprintln!("{dataset}: {count} × {got}");
    }
}

/// The format each real file must be detected as; `None` where any answer is fine.
fn expected_format(source: &str) -> Option<&'static str> {
    let name = source.rsplit(['/', '!']).next().unwrap_or(source);
    let unsupported_doc = name.ends_with(".md")
        || name.ends_with(".yml")
        || name.ends_with(".yaml")
        || name.ends_with(".cff")
        || name.starts_with("LICENSE");
    if unsupported_doc {
        return None;
    }
    let in_otrf = |part: &str| source.contains(&format!("otrf-security-datasets/atomic/{part}"));
    let rules = [
        (
            source.contains("suricata-eve-alerts") && name == "alerts-only.json",
            "suricata-eve",
        ),
        (
            source.contains("stratosphere-zeek-labeled")
                && (name.ends_with(".log") || name.ends_with(".labeled")),
            "zeek",
        ),
        (
            source.contains("nsl-kdd") && name.starts_with("KDD"),
            "flow-csv",
        ),
        (
            source.contains("cic-ids2017") && name.ends_with(".csv"),
            "flow-csv",
        ),
        (
            source.contains("unsw-nb15-layout") && name == "columns.csv",
            "flow-csv",
        ),
        (name.ends_with(".evtx"), "evtx"),
        (source.contains("evtx-samples-dev/jsonl"), "windows-json"),
        (
            in_otrf("windows") || source.contains("splunk-attack-data-sample"),
            "windows-json",
        ),
        (in_otrf("linux"), "unsupported format: Linux auditd log"),
        (
            in_otrf("aws") && name.ends_with(".json"),
            "unsupported format: AWS CloudTrail JSON",
        ),
        (source.contains("stix21/examples"), "stix"),
    ];
    rules
        .iter()
        .find(|(applies, _)| *applies)
        .map(|(_, format)| *format)
}
