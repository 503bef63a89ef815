//! End-to-end tests of the `rampart` binary: real processes, real files, real `SQLite`.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed step should abort the test with its message"
)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{json_of, rampart};

fn count(summary: &Value, key: &str) -> u64 {
    summary[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` missing in {summary}"))
}

fn assert_balanced(summary: &Value) {
    assert_eq!(
        count(summary, "records_read"),
        count(summary, "events_stored")
            + count(summary, "intel_objects_stored")
            + count(summary, "duplicates_skipped")
            + count(summary, "dead_letters"),
        "counts do not add up: {summary}"
    );
}

/// A Suricata EVE alert line, shaped like the real ones, varied by `n`.
fn eve_line(n: u64) -> String {
    format!(
        r#"{{"timestamp":"2017-03-25T16:49:58.{:06}-0600","flow_id":{},"event_type":"alert","src_ip":"10.0.{}.{}","src_port":{},"dest_ip":"192.168.1.10","dest_port":80,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":2000355,"rev":5,"signature":"ET CHAT IRC authorization message","category":"Misc activity","severity":3}},"app_proto":"http","flow":{{"pkts_toserver":7,"pkts_toclient":8,"bytes_toserver":708,"bytes_toclient":4091,"start":"2017-03-25T16:49:58.044623-0600"}}}}"#,
        n % 1_000_000,
        1_000_000 + n,
        (n / 250) % 250,
        n % 250,
        1024 + n % 60_000
    )
}

fn write_eve(path: &Path, lines: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for n in 0..lines {
        writeln!(file, "{}", eve_line(n)).unwrap();
    }
}

fn demo_inputs(dir: &Path) -> PathBuf {
    let out = rampart(dir, &["demo", "--json"]);
    json_of(&out);
    dir.join("demo-input")
}

#[test]
fn demo_ingests_bundled_real_data_without_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let report = json_of(&rampart(dir.path(), &["demo", "--json"]));
    let ingest = &report["ingest"];
    assert_balanced(ingest);
    assert!(count(ingest, "events_stored") > 1000, "{ingest}");
    assert!(count(ingest, "intel_objects_stored") > 100, "{ingest}");
    assert_eq!(count(ingest, "dead_letters"), 0, "{ingest}");
    let by_format = ingest["by_format"].as_object().unwrap();
    for format in ["windows-json", "stix", "flow-csv"] {
        assert!(by_format.contains_key(format), "{format} missing: {ingest}");
    }
}

#[test]
fn second_run_on_the_same_input_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo_inputs(dir.path());
    let input = input.to_str().unwrap();
    let second = json_of(&rampart(dir.path(), &["run", "--json", "--input", input]));
    assert_balanced(&second);
    assert_eq!(count(&second, "events_stored"), 0, "{second}");
    assert_eq!(count(&second, "intel_objects_stored"), 0, "{second}");
    assert_eq!(
        count(&second, "duplicates_skipped"),
        count(&second, "records_read") - count(&second, "dead_letters")
    );
}

#[test]
fn identical_records_at_different_positions_are_distinct_events() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("eve.json");
    let line = eve_line(7);
    std::fs::write(&input, format!("{line}\n{line}\n{line}\n")).unwrap();
    let summary = json_of(&rampart(
        &dir.path().join("data"),
        &["run", "--json", "--input", input.to_str().unwrap()],
    ));
    assert_eq!(count(&summary, "events_stored"), 3, "{summary}");
}

#[test]
fn corrupted_inputs_become_dead_letters_and_good_records_survive() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();

    // Truncated JSON between good lines.
    let truncated = format!(
        "{}\n{{\"timestamp\":\"2017-03-25T16:49\n{}\n",
        eve_line(1),
        eve_line(2)
    );
    std::fs::write(inputs.join("truncated.json"), truncated).unwrap();
    // Binary garbage.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    std::fs::write(inputs.join("garbage.bin"), garbage).unwrap();
    // A 50 MB single line followed by good lines.
    {
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(inputs.join("long-line.json")).unwrap());
        writeln!(file, "{}", eve_line(3)).unwrap();
        file.write_all(b"{\"event_type\":\"alert\",\"pad\":\"")
            .unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..50 {
            file.write_all(&chunk).unwrap();
        }
        file.write_all(b"\"}\n").unwrap();
        writeln!(file, "{}", eve_line(4)).unwrap();
        writeln!(file, "{}", eve_line(5)).unwrap();
    }
    // A zip bomb: a small archive whose member expands far past the compression-ratio cap.
    {
        let file = std::fs::File::create(inputs.join("bomb.zip")).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("zeros.json", options).unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..64 {
            zip.write_all(&zeros).unwrap();
        }
        zip.start_file("good.json", options).unwrap();
        writeln!(zip, "{}", eve_line(6)).unwrap();
        zip.finish().unwrap();
    }

    let summary = json_of(&rampart(
        &dir.path().join("data"),
        &["run", "--json", "--input", inputs.to_str().unwrap()],
    ));
    assert_balanced(&summary);
    // Lines 1, 2, 3, 4, 5 and the zip's good member: six good records.
    assert_eq!(count(&summary, "events_stored"), 6, "{summary}");
    // The truncated line, the garbage file, the long line and the bomb member.
    assert!(count(&summary, "dead_letters") >= 4, "{summary}");

    let letters = json_of(&rampart(
        &dir.path().join("data"),
        &["dead-letters", "--json"],
    ));
    let reasons: Vec<String> = letters
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{} {}", l["provenance"]["source"], l["reason"]))
        .collect();
    for needle in [
        "truncated.json",
        "garbage.bin",
        "long-line.json",
        "bomb.zip",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "no dead letter for {needle}: {reasons:#?}"
        );
    }
}

#[test]
fn killed_run_resumes_to_the_same_events_as_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("eve.json");
    write_eve(&input, 60_000);
    let input = input.to_str().unwrap();

    let clean = json_of(&rampart(
        &dir.path().join("clean"),
        &["run", "--json", "--input", input],
    ));
    let expected = count(&clean, "events_stored");
    assert_eq!(expected, 60_000);

    // Start a run with small batches, wait until at least one batch is committed, kill -9.
    let killed_dir = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["run", "--json", "--input", input, "--data-dir"])
        .arg(&killed_dir)
        .env("RAMPART_RUNNER__WRITE_BATCH_RECORDS", "500")
        .env("RAMPART_RUNNER__WORKERS", "1")
        .env("RAMPART_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut killed_mid_run = false;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let out = rampart(&killed_dir, &["runs", "--json"]);
        if !out.status.success() {
            continue;
        }
        let Ok(runs) = serde_json::from_slice::<Value>(&out.stdout) else {
            continue;
        };
        let stored = runs[0]["counts"]["events_stored"].as_u64().unwrap_or(0);
        if stored > 0 && stored < expected {
            child.kill().unwrap(); // SIGKILL on Unix
            killed_mid_run = true;
            break;
        }
    }
    child.wait().unwrap();
    assert!(
        killed_mid_run,
        "the run finished before it could be killed; make the input larger"
    );

    // The rerun finds the committed batches as duplicates and stores exactly the rest...
    let rerun = json_of(&rampart(&killed_dir, &["run", "--json", "--input", input]));
    assert_balanced(&rerun);
    assert!(count(&rerun, "duplicates_skipped") > 0, "{rerun}");
    assert_eq!(
        count(&rerun, "events_stored") + count(&rerun, "duplicates_skipped"),
        expected
    );
    // ...so a third run finds every event of the clean run already stored, and nothing more.
    let third = json_of(&rampart(&killed_dir, &["run", "--json", "--input", input]));
    assert_eq!(count(&third, "events_stored"), 0, "{third}");
    assert_eq!(count(&third, "duplicates_skipped"), expected, "{third}");
}

#[test]
fn unknown_config_keys_are_rejected_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, "[runner]\nworkerz = 2\n").unwrap();
    let out = rampart(
        dir.path(),
        &["config", "show", "--config", config.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("workerz"), "{stderr}");
}

#[test]
fn missing_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = rampart(dir.path(), &["run", "--input", "/nonexistent/eve.json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/eve.json"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
