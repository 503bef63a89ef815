//! Framing plus parsing throughput of the network readers on real samples, in bytes and in
//! records per second (`cargo bench -p rampart-ingest --bench ingest`).
//!
//! Samples come from the shared data folder (`$RAMPART_SHARED_DATA`, default `shared/data`
//! beside the workspace): the Suricata alerts rewritten as NDJSON, the Suricata array as is,
//! a labelled Zeek conn log, NSL-KDD and a CIC-IDS2017 file. Each sample is repeated to a few
//! megabytes so that per-file costs do not dominate. Missing samples are skipped loudly.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::Ingested;
use rampart_ingest::{ReadOptions, read_bytes_all};

const TARGET_BYTES: usize = 4 << 20;

fn data_dir() -> PathBuf {
    std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    )
}

/// Repeats whole lines of `body` after `header` up to about [`TARGET_BYTES`].
fn repeat_lines(header: &str, body: &str) -> Vec<u8> {
    let mut out = header.as_bytes().to_vec();
    while out.len() < TARGET_BYTES {
        out.extend_from_slice(body.as_bytes());
        if !body.ends_with('\n') {
            out.push(b'\n');
        }
    }
    out
}

/// The EVE alerts as NDJSON: one compact line per alert.
fn eve_ndjson(array: &str) -> String {
    let alerts: Vec<serde_json::Value> = serde_json::from_str(array).unwrap_or_default();
    alerts
        .iter()
        .filter_map(|alert| serde_json::to_string(alert).ok())
        .map(|line| line + "\n")
        .collect()
}

/// Splits a Zeek TSV log into its header lines and its rows.
fn split_zeek(text: &str) -> (String, String) {
    let mut header = String::new();
    let mut rows = String::new();
    for line in text.lines() {
        let target = if line.starts_with('#') {
            &mut header
        } else {
            &mut rows
        };
        target.push_str(line);
        target.push('\n');
    }
    (header, rows)
}

fn samples() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let dir = data_dir();
    let read = |path: &str| std::fs::read_to_string(dir.join(path)).ok();
    let mut out = Vec::new();
    if let Some(array) = read("suricata-eve-alerts/wrccdc-2018/alerts-only.json") {
        out.push((
            "suricata-eve-ndjson",
            "eve.json",
            repeat_lines("", &eve_ndjson(&array)),
        ));
        let mut arrays = String::from("[");
        let body = array.trim().trim_start_matches('[').trim_end_matches(']');
        while arrays.len() < TARGET_BYTES {
            if arrays.len() > 1 {
                arrays.push(',');
            }
            arrays.push_str(body);
        }
        arrays.push(']');
        out.push((
            "suricata-eve-array",
            "alerts-only.json",
            arrays.into_bytes(),
        ));
    }
    if let Some(text) = read("stratosphere-zeek-labeled/008-zeek-mixed/data/conn.log.labeled") {
        let (header, rows) = split_zeek(&text);
        out.push((
            "zeek-tsv-conn-labeled",
            "conn.log.labeled",
            repeat_lines(&header, &rows),
        ));
    }
    if let Some(text) = read("stratosphere-zeek-labeled/002-zeek-scenario-port-scanning/conn.log") {
        out.push(("zeek-json-conn", "conn.log", repeat_lines("", &text)));
    }
    if let Some(text) = read("nsl-kdd/KDDTrain+_20Percent.txt") {
        out.push(("flow-csv-nsl-kdd", "KDDTrain+.txt", repeat_lines("", &text)));
    }
    if let Some(text) = read("cic-ids2017-improved-sample/DDoS_2500.csv") {
        let (header, rows) = text.split_once('\n').unwrap_or_default();
        out.push((
            "flow-csv-cic-ids2017",
            "DDoS.csv",
            repeat_lines(&format!("{header}\n"), rows),
        ));
    }
    if out.is_empty() {
        eprintln!(
            "SKIPPED: no samples under {}; set RAMPART_SHARED_DATA",
            dir.display()
        );
    }
    out
}

fn readers(c: &mut Criterion) {
    let options = ReadOptions::default();
    for (name, file, bytes) in samples() {
        let records = read_bytes_all(file, &bytes, &options);
        let dead = records
            .iter()
            .filter(|item| matches!(item, Ingested::DeadLetter(_)))
            .count();
        assert_eq!(dead, 0, "{name}: dead letters in the benchmark sample");
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("bytes", |b| {
            b.iter(|| read_bytes_all(file, &bytes, &options).len());
        });
        group.throughput(Throughput::Elements(records.len() as u64));
        group.bench_function("records", |b| {
            b.iter(|| read_bytes_all(file, &bytes, &options).len());
        });
        group.finish();
    }
}

criterion_group!(benches, readers);
criterion_main!(benches);
