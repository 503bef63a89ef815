//! Native EVTX reader against the `evtx_dump` JSON export of the same files (EVTX samples in
//! the shared data folder): same records, same ECS fields and `winlog.*` attributes per
//! record id. Damaged files must give dead letters, never a panic. The samples are GPL and
//! are only read from the shared data folder; the test skips, loudly, when it is absent.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test by panicking"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart_core::{Event, Format, Ingested, Position};
use rampart_ingest::{ReadOptions, read_bytes_all, read_path_all};
use serde_json::{Value, json};

fn shared_data() -> Option<PathBuf> {
    let root = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    root.is_dir().then_some(root)
}

fn evtx_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![data.join("evtx-samples-dev/evtx")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "evtx") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn events_by_record(items: Vec<Ingested>) -> BTreeMap<u64, Event> {
    let mut out = BTreeMap::new();
    for item in items {
        let Ingested::Event(event) = item else {
            panic!("unexpected {item:?}")
        };
        let id = event.attributes["winlog.record_id"].as_u64().unwrap();
        assert!(out.insert(id, *event).is_none(), "record {id} twice");
    }
    out
}

/// The export was written by the `evtx` Python package 0.14, which renders `SystemTime` in
/// microseconds; the `evtx` crate 0.15 keeps the 100 ns ticks of the FILETIME. Compare at the
/// export's precision.
fn to_micros(mut ecs: rampart_core::Ecs) -> rampart_core::Ecs {
    ecs.timestamp = ecs.timestamp.map(|time| {
        let micros = time.timestamp_micros();
        chrono::DateTime::from_timestamp_micros(micros).unwrap()
    });
    ecs
}

/// The two renderers write GUIDs differently (`{5770385f-…}` by the crate, as Windows does;
/// `5770385F-…` by the Python package); GUIDs are case-insensitive, so compare them bare and
/// uppercase.
fn guids_canonical(attributes: &serde_json::Map<String, Value>) -> BTreeMap<String, Value> {
    let is_guid = |text: &str| {
        let bare = text.trim_start_matches('{').trim_end_matches('}');
        bare.len() == 36
            && bare.chars().enumerate().all(|(at, c)| {
                if matches!(at, 8 | 13 | 18 | 23) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    attributes
        .iter()
        .map(|(key, value)| {
            let value = match value.as_str() {
                Some(text) if is_guid(text) => Value::String(
                    text.trim_start_matches('{')
                        .trim_end_matches('}')
                        .to_ascii_uppercase(),
                ),
                _ => value.clone(),
            };
            (key.clone(), value)
        })
        .collect()
}

fn forced() -> ReadOptions {
    ReadOptions {
        format: Some(Format::Evtx),
        ..ReadOptions::default()
    }
}

#[test]
fn evtx_files_agree_with_their_json_export() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED evtx agreement: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let files = evtx_files(&data);
    assert_eq!(files.len(), 16);
    let mut total = 0;
    for evtx in files {
        let relative = evtx
            .strip_prefix(data.join("evtx-samples-dev/evtx"))
            .unwrap();
        let jsonl = data
            .join("evtx-samples-dev/jsonl")
            .join(relative)
            .with_extension("jsonl");
        let native = events_by_record(read_path_all(&evtx, &ReadOptions::default()).unwrap());
        let export = events_by_record(read_path_all(&jsonl, &ReadOptions::default()).unwrap());
        assert_eq!(native.len(), export.len(), "{}", evtx.display());
        assert_eq!(
            native.keys().collect::<Vec<_>>(),
            export.keys().collect::<Vec<_>>(),
            "{}",
            evtx.display()
        );
        for (id, event) in &native {
            let other = &export[id];
            assert_eq!(event.provenance.format, Some(Format::Evtx));
            // The position is the record number of the file's record header; exported logs
            // (as these samples are) renumber those from 1 while `EventRecordID` keeps the
            // number of the original log.
            assert!(matches!(event.provenance.position, Position::Record(_)));
            assert_eq!(other.provenance.format, Some(Format::WindowsJson));
            assert_eq!(
                to_micros(event.ecs.clone()),
                other.ecs,
                "{} record {id}",
                evtx.display()
            );
            assert_eq!(
                guids_canonical(&event.attributes),
                guids_canonical(&other.attributes),
                "{} record {id}",
                evtx.display()
            );
        }
        let mut positions: Vec<_> = native.values().map(|e| e.provenance.position).collect();
        positions.dedup();
        assert_eq!(
            positions.len(),
            native.len(),
            "positions repeat in {}",
            evtx.display()
        );
        total += native.len();
    }
    println!("evtx agreement: {total} records agree");
    assert_eq!(total, 1550);
}

#[test]
fn golden_evtx_record() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED evtx golden: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let path = data.join("evtx-samples-dev/evtx/Other/emotet/exec_emotet_sysmon_1.evtx");
    let items = read_path_all(&path, &ReadOptions::default()).unwrap();
    let [Ingested::Event(event)] = &items[..] else {
        panic!("{items:?}")
    };
    // Which ECS fields are filled, not their values: the sample is GPL, its content stays out of the repo.
    let pick = |key: &str| event.attributes.get(key).cloned().unwrap_or(Value::Null);
    insta::assert_json_snapshot!(
        "evtx_sysmon_1",
        json!({
            "position": event.provenance.position,
            "parser": event.provenance.parser,
            "ecs_fields": event.ecs.flatten().keys().collect::<Vec<_>>(),
            "winlog.channel": pick("winlog.channel"),
        })
    );
}

/// A real multi-chunk file, or `None` when the shared data is absent.
fn big_sample() -> Option<Vec<u8>> {
    let data = shared_data()?;
    std::fs::read(
        data.join(
            "evtx-samples-dev/evtx/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
        ),
    )
    .ok()
}

#[test]
fn corrupt_chunks_become_dead_letters_and_the_rest_still_reads() {
    let Some(mut bytes) = big_sample() else {
        eprintln!("SKIPPED evtx corruption: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let intact = read_bytes_all("sample.evtx", &bytes, &forced()).len();
    // Break the magic of the second chunk and scribble over the records of the fourth.
    let chunk = |n: usize| 4096 + n * 65_536;
    bytes[chunk(1)..chunk(1) + 8].copy_from_slice(b"garbage!");
    for (offset, byte) in bytes[chunk(3) + 512..chunk(3) + 8192]
        .iter_mut()
        .enumerate()
    {
        *byte = u8::try_from(offset % 253).unwrap();
    }
    let items = read_bytes_all("sample.evtx", &bytes, &forced());
    let dead: Vec<_> = items
        .iter()
        .filter_map(|item| match item {
            Ingested::DeadLetter(letter) => Some(letter),
            _ => None,
        })
        .collect();
    let events = items.len() - dead.len();
    println!(
        "intact {intact} items; damaged: {events} events, {} dead letters",
        dead.len()
    );
    assert!(!dead.is_empty());
    assert!(events > intact / 2, "{events} of {intact}");
    assert!(
        dead.iter()
            .all(|letter| letter.reason.starts_with("corrupt EVTX data"))
    );
    assert!(
        dead.iter()
            .any(|letter| letter.provenance.position == Position::Offset(chunk(1) as u64))
    );
}

#[test]
fn oversized_files_are_one_dead_letter() {
    let Some(bytes) = big_sample() else {
        eprintln!("SKIPPED evtx cap: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let mut options = forced();
    options.limits.max_document_bytes = 100_000;
    let items = read_bytes_all("sample.evtx", &bytes, &options);
    assert_eq!(items.len(), 1);
    let Ingested::DeadLetter(letter) = &items[0] else {
        panic!("{items:?}")
    };
    assert!(
        letter.reason.contains("max_document_bytes"),
        "{}",
        letter.reason
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(tail in prop::collection::vec(any::<u8>(), 0..70_000)) {
        let mut bytes = b"ElfFile\0".to_vec();
        bytes.extend_from_slice(&tail);
        for item in read_bytes_all("input.evtx", &bytes, &forced()) {
            prop_assert!(matches!(item, Ingested::Event(_) | Ingested::DeadLetter(_)));
        }
    }

    #[test]
    fn damaged_real_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..64),
        cut in any::<prop::sample::Index>(),
    ) {
        let Some(mut bytes) = shared_data().and_then(|data| {
            std::fs::read(data.join("evtx-samples-dev/evtx/Other/emotet/exec_emotet_ps_4104.evtx")).ok()
        }) else {
            return Ok(());
        };
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let cut = cut.index(bytes.len() + 1);
        for item in read_bytes_all("input.evtx", &bytes[..cut], &forced()) {
            prop_assert!(matches!(item, Ingested::Event(_) | Ingested::DeadLetter(_)));
        }
    }
}
