//! Windows JSON reader: golden ECS mappings of committed fixtures (a Splunk `attack_data`
//! excerpt, synthetic nested events) and of real samples read from the shared data folder
//! (OTRF, Splunk, EVTX-samples JSON), plus properties that hold for any input.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test by panicking"
)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart_core::{Event, Format, Ingested};
use rampart_ingest::{ReadOptions, read_bytes_all, read_path_all};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows")
        .join(name)
}

fn shared_data() -> Option<PathBuf> {
    let root = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        PathBuf::from,
    );
    root.is_dir().then_some(root)
}

fn forced() -> ReadOptions {
    ReadOptions {
        format: Some(Format::WindowsJson),
        ..ReadOptions::default()
    }
}

/// The value with every object's keys in sorted order, so snapshots do not depend on whether
/// `serde_json` preserves insertion order (a feature another dependency may switch on).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn events(items: Vec<Ingested>) -> Vec<Event> {
    items
        .into_iter()
        .map(|item| match item {
            Ingested::Event(event) => *event,
            other => panic!("expected an event, got {other:?}"),
        })
        .collect()
}

/// ECS fields and attributes, for committed fixtures.
fn full(event: &Event) -> Value {
    sorted(json!({
        "position": event.provenance.position,
        "ecs": event.ecs,
        "attributes": event.attributes,
    }))
}

/// ECS fields and the `winlog` identity of the record, for records of data sets that may
/// not be copied into the repository: the ECS mapping is what these snapshots pin.
/// The dotted ECS paths an event fills, without their values.
fn filled_fields(event: &Event) -> Value {
    json!(event.ecs.flatten().keys().collect::<Vec<_>>())
}

fn ecs_only(event: &Event) -> Value {
    let pick = |key: &str| event.attributes.get(key).cloned().unwrap_or(Value::Null);
    sorted(json!({
        "ecs": event.ecs,
        "winlog.channel": pick("winlog.channel"),
        "winlog.event_id": pick("winlog.event_id"),
        "winlog.record_id": pick("winlog.record_id"),
        "winlog.provider_name": pick("winlog.provider_name"),
    }))
}

#[test]
fn golden_splunk_attack_data_excerpt() {
    let events = events(
        read_path_all(
            &fixture("splunk-attack-data-T1027.ndjson"),
            &ReadOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(events.len(), 10);
    assert!(
        events
            .iter()
            .all(|e| e.provenance.format == Some(Format::WindowsJson))
    );
    let all: Vec<Value> = events.iter().map(full).collect();
    insta::assert_json_snapshot!("splunk_attack_data_t1027", all);
}

#[test]
fn golden_nested_events() {
    let events =
        events(read_path_all(&fixture("nested-synthetic.json"), &ReadOptions::default()).unwrap());
    assert_eq!(events.len(), 10);
    let network = &events[0].ecs;
    assert_eq!(network.destination.ip, "203.0.113.66".parse().ok());
    assert_eq!(network.network.direction.as_deref(), Some("egress"));
    assert_eq!(
        events[1].ecs.dns.question.name.as_deref(),
        Some("c2.example.net")
    );
    assert_eq!(events[4].ecs.event.outcome.as_deref(), Some("failure"));
    assert_eq!(events[4].ecs.source.ip, "198.51.100.23".parse().ok());
    assert_eq!(events[5].ecs.process.parent.pid, Some(0xf6c));
    assert_eq!(
        events[7].ecs.process.command_line.as_deref(),
        Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -nop -w hidden")
    );
    assert_eq!(events[8].ecs.user.name.as_deref(), Some("Administrator"));
    assert_eq!(events[9].ecs.event.kind.as_deref(), Some("alert"));
    let all: Vec<Value> = events.iter().map(full).collect();
    insta::assert_json_snapshot!("nested_synthetic", all);
}

/// The first event of `path` (a file or archive in the shared data) with this channel and
/// event id.
fn first(path: &Path, channel: &str, event_id: u64) -> Event {
    let items = read_path_all(path, &ReadOptions::default()).unwrap();
    items
        .into_iter()
        .find_map(|item| match item {
            Ingested::Event(event)
                if event.attributes.get("winlog.event_id") == Some(&json!(event_id))
                    && event
                        .attributes
                        .get("winlog.channel")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c.eq_ignore_ascii_case(channel)) =>
            {
                Some(*event)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {channel} {event_id} in {}", path.display()))
}

#[test]
fn golden_real_samples() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED windows golden samples: shared data not found; set RAMPART_SHARED_DATA");
        return;
    };
    let otrf = data.join("otrf-security-datasets/atomic/windows");
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let samples = [
        (
            "evtx_samples_jsonl_sysmon_1",
            data.join("evtx-samples-dev/jsonl/Other/emotet/exec_emotet_sysmon_1.jsonl"),
            sysmon,
            1,
        ),
        (
            "otrf_sysmon_1",
            otrf.join("collection/host/msf_record_mic.zip"),
            sysmon,
            1,
        ),
        (
            "otrf_security_4688",
            otrf.join("credential_access/host/cmd_dumping_ntds_dit_file_ntdsutil.zip"),
            "Security",
            4688,
        ),
        (
            "otrf_security_4624",
            otrf.join("collection/host/msf_record_mic.zip"),
            "Security",
            4624,
        ),
        (
            "otrf_powershell_4104",
            otrf.join("defense_evasion/host/empire_launcher_sct_regsvr32.zip"),
            "Microsoft-Windows-PowerShell/Operational",
            4104,
        ),
        (
            "splunk_t1047_sysmon_1",
            data.join("splunk-attack-data-sample/T1047/attack_data.tar.gz"),
            sysmon,
            1,
        ),
        (
            "splunk_t1047_security_4624",
            data.join("splunk-attack-data-sample/T1047/attack_data.tar.gz"),
            "Security",
            4624,
        ),
    ];
    for (name, path, channel, event_id) in samples {
        let event = first(&path, channel, event_id);
        // Splunk's attack_data is Apache-2.0 and may be pinned by value; the OTRF archives
        // (licence statements disagree) and the GPL EVTX samples may not enter the repo, so
        // their snapshots pin which ECS fields are filled, not the values.
        if name.starts_with("splunk") {
            insta::assert_json_snapshot!(name, ecs_only(&event));
        } else {
            insta::assert_json_snapshot!(name, filled_fields(&event));
        }
    }
}

fn flat_record() -> impl Strategy<Value = Value> {
    let channel = prop_oneof![
        Just("Security"),
        Just("security"),
        Just("Microsoft-Windows-Sysmon/Operational"),
        Just("Microsoft-Windows-PowerShell/Operational"),
        Just("Windows PowerShell"),
        Just("System"),
        Just("Microsoft-Windows-Windows Defender/Operational"),
    ];
    let event_id = prop_oneof![
        Just(1u32),
        Just(3),
        Just(7),
        Just(10),
        Just(11),
        Just(12),
        Just(13),
        Just(22),
        Just(400),
        Just(800),
        Just(1116),
        Just(4103),
        Just(4104),
        Just(4624),
        Just(4625),
        Just(4688),
        Just(4776),
        Just(5156),
        Just(7045),
        any::<u32>(),
    ];
    let field = prop_oneof![
        Just("ProcessId"),
        Just("Image"),
        Just("ParentImage"),
        Just("User"),
        Just("Hashes"),
        Just("SourceIp"),
        Just("DestinationPort"),
        Just("IpAddress"),
        Just("NewProcessId"),
        Just("Keywords"),
        Just("ContextInfo"),
        Just("Path"),
        Just("Initiated"),
        Just("Status"),
        Just("TargetUserName"),
        Just("@timestamp"),
        Just("UtcTime"),
        Just("Data"),
    ];
    let value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(json!("0xef0")),
        Just(json!("::ffff:10.0.0.1")),
        Just(json!("SHA1=AA,MD5==,SHA256")),
        Just(json!(
            "        Host Application = \"C:\\x.exe\n User = a\\b\n"
        )),
        "\\PC{0,16}".prop_map(Value::from),
        prop::collection::vec("\\PC{0,8}".prop_map(Value::from), 0..3).prop_map(Value::Array),
    ];
    (
        channel,
        event_id,
        prop::collection::btree_map(field, value, 0..10),
    )
        .prop_map(|(channel, event_id, fields)| {
            let mut object: serde_json::Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            object.insert("EventID".to_owned(), json!(event_id));
            object.insert("Channel".to_owned(), json!(channel));
            Value::Object(object)
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for item in read_bytes_all("events.json", &bytes, &forced()) {
            prop_assert!(matches!(item, Ingested::Event(_) | Ingested::DeadLetter(_)));
        }
    }

    #[test]
    fn arbitrary_flat_records_give_one_event(record in flat_record()) {
        let line = serde_json::to_vec(&record).unwrap();
        let items = read_bytes_all("events.json", &line, &forced());
        prop_assert_eq!(items.len(), 1);
        prop_assert!(matches!(items[0], Ingested::Event(_)), "{:?}", items[0]);
    }

    #[test]
    fn arbitrary_nested_records_give_one_item(record in flat_record(), pretty in any::<bool>()) {
        // The same fields in the nested shape: System from the flat keys, the rest as data.
        let Value::Object(mut flat) = record else { unreachable!() };
        let event_id = flat.remove("EventID").unwrap();
        let channel = flat.remove("Channel").unwrap();
        let nested = json!({"Event": {"System": {"EventID": event_id, "Channel": channel,
            "Provider": {"#attributes": {"Name": "x"}}}, "EventData": flat}});
        let bytes = if pretty { serde_json::to_vec_pretty(&nested) } else { serde_json::to_vec(&nested) }.unwrap();
        let items = read_bytes_all("events.json", &bytes, &forced());
        prop_assert_eq!(items.len(), 1);
    }

    #[test]
    fn damaged_real_records_never_panic(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = std::fs::read(fixture("nested-synthetic.json")).unwrap();
        let at = at.index(bytes.len());
        bytes[at] = byte;
        let cut = cut.index(bytes.len() + 1);
        for item in read_bytes_all("events.json", &bytes[..cut], &forced()) {
            prop_assert!(matches!(item, Ingested::Event(_) | Ingested::DeadLetter(_)));
        }
    }
}
