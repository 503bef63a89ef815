//! Encryption at rest, end to end: the real binary writes the store, the same protector reads
//! it back, and the database bytes never hold the sensitive plaintext.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers fail the test by panicking"
)]

#[path = "../src/protection.rs"]
#[expect(dead_code, reason = "`rampart keys` uses items these tests do not")]
mod protection;

mod support;

use support::{json_of as ok, rampart};

use std::path::Path;
use std::sync::Arc;

use rampart_core::Event;
use rampart_store::{EventQuery, Page, SqliteOptions, SqliteStore, Store as _, scan_events};

use protection::{EventProtector, KeyDir, ProtectionConfig};

const USER: &str = "zanzibar_operator";
const COMMAND_1: &str = "cmd.exe /c type quokka-secret-one.txt";
const COMMAND_2: &str = "cmd.exe /c type quokka-secret-two.txt";

fn security_line(command: &str, record: u32) -> String {
    serde_json::json!({
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security",
        "Hostname": "DC01.example.org",
        "@timestamp": "2023-07-19T09:02:23.992Z",
        "EventID": 4688,
        "RecordNumber": record,
        "SubjectUserSid": "S-1-5-21-1-2-3-500",
        "SubjectUserName": USER,
        "SubjectDomainName": "EXAMPLE",
        "NewProcessId": "0xef0",
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "ProcessId": "0x828",
        "CommandLine": command,
        "ParentProcessName": "C:\\Windows\\explorer.exe"
    })
    .to_string()
}

/// Runs `rampart run` on two events by the same user; returns the data dir.
fn ingest(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("security.ndjson");
    let text = format!(
        "{}\n{}\n",
        security_line(COMMAND_1, 1),
        security_line(COMMAND_2, 2)
    );
    std::fs::write(&input, text).unwrap();
    let data = dir.join("data");
    let summary = ok(&rampart(
        &data,
        &["run", "--json", "--input", input.to_str().unwrap()],
    ));
    assert_eq!(summary["events_stored"], 2, "{summary}");
    data
}

fn stored_bytes(data: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["rampart.db", "rampart.db-wal", "rampart.db-shm"] {
        if let Ok(b) = std::fs::read(data.join(name)) {
            bytes.extend(b);
        }
    }
    assert!(!bytes.is_empty(), "no database in {}", data.display());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn read_events(data: &Path) -> Result<Vec<Event>, String> {
    let protector =
        EventProtector::open(data, &ProtectionConfig::default()).map_err(|e| format!("{e:#}"))?;
    let options = SqliteOptions {
        protector: Arc::new(protector),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(data, options).map_err(|e| e.to_string())?;
    let query = EventQuery {
        page: Page::first(100),
        ..EventQuery::default()
    };
    scan_events(&store, query)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The events as stored, read without the keys.
fn stored_events(data: &Path) -> Vec<Event> {
    SqliteStore::open(data)
        .unwrap()
        .events(&EventQuery {
            page: Page::first(100),
            ..EventQuery::default()
        })
        .unwrap()
        .items
}

#[test]
fn sensitive_fields_never_reach_disk_in_plaintext_and_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let data = ingest(dir.path());

    let bytes = stored_bytes(&data);
    for secret in [USER, COMMAND_1, COMMAND_2, "quokka-secret"] {
        assert!(!contains(&bytes, secret), "`{secret}` found in the store");
    }

    let events = read_events(&data).unwrap();
    assert_eq!(events.len(), 2);
    let mut commands: Vec<_> = events
        .iter()
        .map(|e| e.ecs.process.command_line.clone().unwrap())
        .collect();
    commands.sort();
    assert_eq!(commands, [COMMAND_1, COMMAND_2]);
    for event in &events {
        assert_eq!(event.ecs.user.name.as_deref(), Some(USER));
        assert_eq!(event.attributes["winlog.event_data.SubjectUserName"], USER);
        assert!(event.raw.contains("quokka-secret"), "raw restored");
        assert!(
            !event.attributes.keys().any(|k| k.starts_with("rampart.")),
            "sealed attributes dropped on read"
        );
    }

    // Without the keys, the stored join key is a pseudonym, the same for both events.
    let stored = stored_events(&data);
    let names: Vec<_> = stored
        .iter()
        .map(|e| e.ecs.user.name.clone().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names[0].starts_with("ps:"), "{names:?}");
    assert_eq!(names[0], names[1], "same user, same pseudonym");
    assert_eq!(
        stored[0].attributes["winlog.event_data.SubjectUserName"],
        names[0].as_str(),
        "user.name and SubjectUserName join"
    );
    assert!(stored.iter().all(|e| e.raw.is_empty()));
}

#[test]
fn rotation_rewraps_data_keys_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = ingest(dir.path());
    let keys = KeyDir::new(&data);
    let before = ok(&rampart(&data, &["keys", "list", "--json"]));
    let old_id = before[0]["kek_id"].as_str().unwrap().to_owned();
    assert_eq!(before[0]["primary"], true);
    assert!(before[0]["data_keys"].as_u64().unwrap() >= 1, "{before}");
    let stored_before = stored_events(&data);

    let rotation = ok(&rampart(&data, &["keys", "rotate", "--json"]));
    assert_eq!(rotation["retired"][0], old_id.as_str());
    assert!(!keys.kek_path(&old_id).exists(), "old KEK file deleted");
    let new_id = rotation["new_kek_id"].as_str().unwrap();
    assert!(keys.kek_path(new_id).exists());
    assert!(
        keys.wrapped_deks()
            .unwrap()
            .iter()
            .all(|w| w.kek_id == new_id)
    );
    assert!(
        stored_events(&data) == stored_before,
        "stored ciphertexts untouched"
    );

    let after = ok(&rampart(&data, &["keys", "list", "--json"]));
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after[0]["kek_id"], new_id);
    let events = read_events(&data).unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.ecs.user.name.as_deref() == Some(USER))
    );

    let audit = rampart(&data, &["audit", "verify"]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
}

#[test]
fn a_wrong_key_encryption_key_fails_closed_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = ingest(dir.path());
    let keys = KeyDir::new(&data);
    let list = ok(&rampart(&data, &["keys", "list", "--json"]));
    let id = list[0]["kek_id"].as_str().unwrap();
    std::fs::write(keys.kek_path(id), "11".repeat(32)).unwrap();

    let error = read_events(&data).unwrap_err();
    assert!(error.contains("cannot unwrap data key"), "{error}");
    assert!(error.contains("restore them from a backup"), "{error}");
}

#[test]
fn dead_letters_are_sealed_and_revealed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("broken.ndjson");
    let line = format!(
        "{}\n{{\"EventID\": \"quokka-broken-secret",
        security_line(COMMAND_1, 1)
    );
    std::fs::write(&input, line).unwrap();
    let data = dir.path().join("data");
    let summary = ok(&rampart(
        &data,
        &["run", "--json", "--input", input.to_str().unwrap()],
    ));
    assert!(summary["dead_letters"].as_u64().unwrap() >= 1, "{summary}");
    assert!(!contains(&stored_bytes(&data), "quokka"));
    let letters = ok(&rampart(&data, &["dead-letters", "--json"]));
    assert!(
        letters
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["raw"].as_str().unwrap().contains("quokka-broken-secret")),
        "{letters}"
    );

    // Fail closed: with another KEK the command errors instead of printing sealed bytes.
    let keys = KeyDir::new(&data);
    let list = ok(&rampart(&data, &["keys", "list", "--json"]));
    std::fs::write(
        keys.kek_path(list[0]["kek_id"].as_str().unwrap()),
        "22".repeat(32),
    )
    .unwrap();
    let failed = rampart(&data, &["dead-letters", "--json"]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("cannot unwrap data key"), "{stderr}");
}
