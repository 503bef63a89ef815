//! Behaviour of the `SQLite` store through the `Store` trait: idempotence, dead-letter links,
//! runs, persistence, paging, findings, field protection and crash safety.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

mod common;

use std::borrow::Cow;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rampart_core::{
    ActionMode, Alert, AlertId, AlertSource, ContentHash, DeadLetter, Decision, DecisionId, Ecs,
    Event, FeatureRecord, FeatureValue, Format, GroundTruth, Incident, IncidentId, Ingested,
    IntelObject, Level, Position, Provenance, RunRecord,
};
use rampart_store::{
    BatchOutcome, EventQuery, FieldProtector, Page, PutOutcome, SqliteOptions, SqliteStore, Store,
    StoreError, scan_events,
};
use serde_json::json;

const SOURCE: &str = "/data/suricata/eve.json";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn provenance(source: &str, position: Position, raw: &[u8], format: Option<Format>) -> Provenance {
    Provenance {
        source: source.into(),
        position,
        format,
        parser: "test/1".into(),
        ingested_at: at("2026-11-28T12:00:00Z"),
        content_hash: ContentHash::of(raw),
    }
}

fn dead_letter(line: u64, raw: &str) -> Ingested {
    let provenance = provenance("/data/bad.json", Position::Line(line), raw.as_bytes(), None);
    Ingested::DeadLetter(Box::new(DeadLetter::new(
        provenance,
        "expected a JSON object",
        raw.as_bytes(),
    )))
}

fn intel(index: u64, modified: Option<&str>) -> Ingested {
    let stix_id = format!("indicator--00000000-0000-4000-8000-{index:012}");
    let object = json!({"type": "indicator", "id": stix_id, "modified": modified, "pattern": "[ipv4-addr:value = '10.0.0.1']"});
    let raw = object.to_string();
    Ingested::Intel(Box::new(IntelObject {
        stix_id,
        stix_type: "indicator".into(),
        modified: modified.map(str::to_owned),
        object,
        provenance: provenance(
            "/data/bundle.json",
            Position::Index(index),
            raw.as_bytes(),
            Some(Format::Stix),
        ),
    }))
}

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("nested/data")).unwrap();
    (dir, store)
}

fn begin(store: &dyn Store) -> RunRecord {
    let run = RunRecord::start(vec![SOURCE.into()]);
    store.begin_run(&run).unwrap();
    run
}

/// Records the end of a run, which also makes every stored event findable through the index.
fn finish(store: &dyn Store, mut run: RunRecord) {
    run.finished_at = Some(Utc::now());
    store.update_run(&run).unwrap();
}

fn all_events(store: &dyn Store) -> Vec<Event> {
    let query = EventQuery {
        page: Page::first(97),
        ..EventQuery::default()
    };
    scan_events(store, query).collect::<Result<_, _>>().unwrap()
}

/// Everything ingested, in a canonical order, for comparing two stores.
fn snapshot(store: &dyn Store) -> (Vec<Event>, Vec<IntelObject>, Vec<DeadLetter>) {
    let mut events = all_events(store);
    for event in &events {
        assert_eq!(
            store.event(event.id).unwrap().as_ref(),
            Some(event),
            "found by id"
        );
    }
    events.sort_by_key(|event| event.id);
    let mut intel = store
        .intel_objects(None, Page::first(10_000))
        .unwrap()
        .items;
    intel.sort_by_key(IntelObject::version_key);
    let mut dead = store.dead_letters(None, Page::first(10_000)).unwrap().items;
    dead.sort_by_key(|dead_letter| dead_letter.id);
    (events, intel, dead)
}

#[test]
fn the_same_batch_twice_stores_nothing_the_second_time() {
    let (_dir, store) = open();
    let run = begin(&store);
    let mut items = common::batch(SOURCE, 1..101);
    items.push(intel(1, Some("2026-01-01T00:00:00Z")));
    items.push(dead_letter(7, "{oops"));

    let first = store.write_batch(run.id, &items).unwrap();
    assert_eq!(
        first,
        BatchOutcome {
            events_stored: 100,
            intel_objects_stored: 1,
            duplicates_skipped: 0,
            dead_letters: 1
        }
    );
    let second = store.write_batch(run.id, &items).unwrap();
    assert_eq!(
        second,
        BatchOutcome {
            events_stored: 0,
            intel_objects_stored: 0,
            duplicates_skipped: 101,
            dead_letters: 1
        }
    );
    assert_eq!(second.items(), 102);
    assert_eq!(store.count_events().unwrap(), 100);
    assert_eq!(store.count_dead_letters(None).unwrap(), 1);
    assert_eq!(store.count_dead_letters(Some(run.id)).unwrap(), 1);
}

#[test]
fn identical_raw_bytes_at_different_positions_are_distinct_events() {
    let (_dir, store) = open();
    let run = begin(&store);
    let raw = r#"{"event_type":"alert"}"#;
    let event_at = |line| {
        Event::new(
            Ecs::default(),
            raw.into(),
            provenance(
                SOURCE,
                Position::Line(line),
                raw.as_bytes(),
                Some(Format::SuricataEve),
            ),
        )
    };
    let (first, second) = (event_at(1), event_at(2));
    assert_ne!(first.id, second.id);
    let items = [
        Ingested::Event(Box::new(first.clone())),
        Ingested::Event(Box::new(second.clone())),
        // The very same record twice in one batch is one event.
        Ingested::Event(Box::new(first.clone())),
    ];
    let outcome = store.write_batch(run.id, &items).unwrap();
    assert_eq!(outcome.events_stored, 2);
    assert_eq!(outcome.duplicates_skipped, 1);
    assert_eq!(store.event(first.id).unwrap(), Some(first));
    assert_eq!(store.event(second.id).unwrap(), Some(second));
}

#[test]
fn intel_objects_are_versioned_by_stix_id_and_modified() {
    let (_dir, store) = open();
    let run = begin(&store);
    let items = [
        intel(1, Some("2026-01-01T00:00:00Z")),
        intel(1, Some("2026-02-01T00:00:00Z")),
        intel(1, Some("2026-01-01T00:00:00Z")),
        intel(2, None),
        intel(2, None),
    ];
    let outcome = store.write_batch(run.id, &items).unwrap();
    assert_eq!(outcome.intel_objects_stored, 3);
    assert_eq!(outcome.duplicates_skipped, 2);
    let listed = store
        .intel_objects(Some("indicator"), Page::first(10))
        .unwrap();
    assert_eq!(listed.items.len(), 3);
    assert_eq!(listed.items[2].modified, None);
    assert!(
        store
            .intel_objects(Some("malware"), Page::first(10))
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn dead_letters_are_stored_once_and_linked_to_every_run_that_saw_them() {
    let (_dir, store) = open();
    let first_run = begin(&store);
    let second_run = begin(&store);
    let (a, b, c) = (
        dead_letter(1, "{a"),
        dead_letter(2, "{b"),
        dead_letter(3, "{c"),
    );
    store
        .write_batch(first_run.id, &[a.clone(), b.clone()])
        .unwrap();
    let outcome = store.write_batch(second_run.id, &[a, c]).unwrap();
    assert_eq!(outcome.dead_letters, 2);

    let reasons = |run| {
        store
            .dead_letters(run, Page::first(10))
            .unwrap()
            .items
            .into_iter()
            .map(|dead_letter| dead_letter.raw)
            .collect::<Vec<_>>()
    };
    assert_eq!(reasons(None), ["{a", "{b", "{c"]);
    assert_eq!(reasons(Some(first_run.id)), ["{a", "{b"]);
    assert_eq!(reasons(Some(second_run.id)), ["{a", "{c"]);
    assert_eq!(store.count_dead_letters(None).unwrap(), 3);
    assert_eq!(store.count_dead_letters(Some(second_run.id)).unwrap(), 2);

    let page = store
        .dead_letters(Some(second_run.id), Page::first(1))
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let rest = store
        .dead_letters(
            Some(second_run.id),
            Page {
                after: page.next,
                limit: 10,
            },
        )
        .unwrap();
    assert_eq!(rest.items[0].raw, "{c");
    assert_eq!(rest.next, None);
}

#[test]
fn runs_are_recorded_updated_and_listed_newest_first() {
    let (_dir, store) = open();
    assert_eq!(store.latest_run().unwrap(), None);
    let mut older = RunRecord::start(vec!["a".into()]);
    older.started_at = at("2026-01-01T00:00:00Z");
    let mut newer = RunRecord::start(vec!["b".into(), "c".into()]);
    newer.started_at = at("2026-01-02T00:00:00Z");
    store.begin_run(&newer).unwrap();
    store.begin_run(&older).unwrap();
    assert!(matches!(
        store.begin_run(&older),
        Err(StoreError::RunExists(id)) if id == older.id
    ));

    newer.counts.records_read = 12;
    newer.counts.events_stored = 10;
    newer.counts.dead_letters = 2;
    newer.counts.by_format.insert("suricata-eve".into(), 12);
    newer.finished_at = Some(at("2026-01-02T00:05:00.123456789Z"));
    store.update_run(&newer).unwrap();

    assert_eq!(store.run(newer.id).unwrap(), Some(newer.clone()));
    assert_eq!(store.latest_run().unwrap(), Some(newer.clone()));
    assert_eq!(store.runs().unwrap(), vec![newer, older]);

    let unknown = RunRecord::start(vec![]);
    assert!(matches!(
        store.update_run(&unknown),
        Err(StoreError::UnknownRun(_))
    ));
    assert!(matches!(
        store.write_batch(unknown.id, &common::batch(SOURCE, 1..2)),
        Err(StoreError::UnknownRun(_))
    ));
    assert_eq!(store.count_events().unwrap(), 0);
}

#[test]
fn everything_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (run, before) = {
        let store = SqliteStore::open(dir.path()).unwrap();
        let run = begin(&store);
        let mut items = common::batch(SOURCE, 1..51);
        items.push(dead_letter(1, "{x"));
        items.push(intel(3, None));
        store.write_batch(run.id, &items).unwrap();
        (run, snapshot(&store))
    };
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.run(run.id).unwrap(), Some(run.clone()));
    assert_eq!(store.count_dead_letters(Some(run.id)).unwrap(), 1);
    // A second open applied no migration twice and still writes.
    let outcome = store
        .write_batch(run.id, &common::batch(SOURCE, 1..52))
        .unwrap();
    assert_eq!((outcome.events_stored, outcome.duplicates_skipped), (1, 50));
}

#[test]
fn a_fresh_directory_is_created_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a/b/c");
    let store = SqliteStore::open(&data).unwrap();
    assert_eq!(store.path(), data.join(rampart_store::DATABASE_FILE));
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let version: i64 = conn
        .query_row("SELECT max(version) FROM schema_version", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(version, SqliteStore::schema_version());
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_on_disk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = SqliteStore::open(dir.path()).unwrap().path().to_owned();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO schema_version VALUES (?1, 0, 'future')",
            [SqliteStore::schema_version() + 1],
        )
        .unwrap();
    let error = SqliteStore::open(dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::SchemaTooNew { .. }), "{error}");
    assert!(error.to_string().contains("upgrade rampart"), "{error}");
}

#[test]
fn events_round_trip_exactly() {
    let (_dir, store) = open();
    let run = begin(&store);
    let raw = "0,tcp,http,SF,215,45076,0,0,0,0,0,1,normal,21";
    let mut flow = Event::new(
        Ecs::default(),
        raw.into(),
        provenance(
            "archive.zip!KDDTrain+.txt",
            Position::Record(u64::MAX),
            raw.as_bytes(),
            Some(Format::FlowCsv),
        ),
    );
    flow.features = Some(FeatureRecord {
        layout: "nsl-kdd".into(),
        values: vec![
            ("duration".into(), FeatureValue::Number(0.0)),
            ("protocol_type".into(), FeatureValue::Category("tcp".into())),
            ("rate".into(), FeatureValue::Number(0.1 + 0.2)),
            ("huge".into(), FeatureValue::Number(f64::INFINITY)),
        ],
    });
    flow.ground_truth = Some(GroundTruth {
        label: "normal".into(),
        malicious: Some(false),
        category: None,
    });
    flow.attributes
        .insert("flow.odd".into(), json!({"nested": [1, 2.5, null, "x"]}));
    let unknown_format = Event::new(
        Ecs::default(),
        "\u{fffd}binary".into(),
        provenance(SOURCE, Position::Offset(0), b"\xffbinary", None),
    );
    let alert = common::suricata_alert(SOURCE, 42);
    let items: Vec<Ingested> = [&flow, &unknown_format, &alert]
        .into_iter()
        .map(|event| Ingested::Event(Box::new(event.clone())))
        .collect();
    store.write_batch(run.id, &items).unwrap();
    for event in [&flow, &unknown_format, &alert] {
        assert_eq!(store.event(event.id).unwrap().as_ref(), Some(event));
    }
    // One batch of three formats: listing by format picks each out of its own span.
    for (format, expected) in [(Format::FlowCsv, &flow), (Format::SuricataEve, &alert)] {
        let query = EventQuery {
            format: Some(format),
            run: Some(run.id),
            ..EventQuery::default()
        };
        assert_eq!(store.events(&query).unwrap().items, vec![expected.clone()]);
    }
    let counts = store.count_events_by_format().unwrap();
    assert_eq!(counts.get(&Some(Format::FlowCsv)), Some(&1));
    assert_eq!(counts.get(&Some(Format::SuricataEve)), Some(&1));
    assert_eq!(counts.get(&None), Some(&1));
}

#[test]
fn paging_visits_every_matching_event_exactly_once() {
    let (_dir, store) = open();
    let first_run = begin(&store);
    let second_run = begin(&store);
    store
        .write_batch(first_run.id, &common::batch(SOURCE, 0..1500))
        .unwrap();
    store
        .write_batch(second_run.id, &common::batch(SOURCE, 1000..2500))
        .unwrap();
    assert_eq!(store.count_events().unwrap(), 2500);

    let mut query = EventQuery {
        page: Page::first(1000),
        ..EventQuery::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let listing = store.events(&query).unwrap();
        pages += 1;
        seen.extend(
            listing
                .items
                .into_iter()
                .map(|event| event.provenance.position),
        );
        match listing.next {
            Some(next) => query.page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<_> = (0..2500).map(Position::Line).collect();
    assert_eq!(seen, expected, "storage order, no gaps, no repeats");

    // Events first stored by the second run: lines 1500..2500.
    let by_run = EventQuery {
        run: Some(second_run.id),
        page: Page::first(300),
        ..EventQuery::default()
    };
    let lines: Vec<_> = scan_events(&store, by_run)
        .map(|event| event.unwrap().provenance.position)
        .collect();
    assert_eq!(lines, (1500..2500).map(Position::Line).collect::<Vec<_>>());

    // The fixture's clock is 20:MM:SS on one day with MM:SS = line mod 3600 seconds.
    let window = EventQuery {
        since: Some(at("2018-03-24T20:01:00Z")),
        until: Some(at("2018-03-24T20:02:00Z")),
        format: Some(Format::SuricataEve),
        page: Page::first(10_000),
        ..EventQuery::default()
    };
    let listing = store.events(&window).unwrap();
    assert!(listing.items.iter().all(|event| {
        let time = event.ecs.timestamp.unwrap();
        time >= at("2018-03-24T20:01:00Z") && time < at("2018-03-24T20:02:00Z")
    }));
    assert_eq!(listing.items.len(), 60, "lines 60..120 only, once each");
    let other_format = EventQuery {
        format: Some(Format::Zeek),
        ..EventQuery::default()
    };
    assert!(store.events(&other_format).unwrap().items.is_empty());
}

#[test]
fn cursors_print_and_parse() {
    let cursor = rampart_store::Cursor::from_seq(42);
    assert_eq!(
        cursor.to_string().parse::<rampart_store::Cursor>().unwrap(),
        cursor
    );
    assert!("42".parse::<rampart_store::Cursor>().is_err());
}

fn alert(rule: &str, score: Option<f64>) -> Alert {
    Alert {
        id: AlertId::derive(&[rule.as_bytes()]),
        source: AlertSource::Sigma,
        rule_id: rule.into(),
        title: format!("rule {rule} matched"),
        level: Level::High,
        score,
        techniques: vec!["T1059.001".into()],
        tactics: vec!["execution".into()],
        entities: vec![],
        event_ids: vec![common::suricata_alert(SOURCE, 1).id],
        first_seen: Some(at("2018-03-24T20:00:00Z")),
        last_seen: None,
        explanation: None,
    }
}

#[test]
fn findings_are_upserted_by_id_and_decisions_keep_the_first_record() {
    let (_dir, store) = open();
    let alerts = [alert("r1", Some(0.5)), alert("r2", None)];
    assert_eq!(
        store.put_alerts(&alerts).unwrap(),
        PutOutcome {
            inserted: 2,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(store.put_alerts(&alerts).unwrap().unchanged, 2);
    let mut changed = alerts[0].clone();
    changed.title = "retitled".into();
    assert_eq!(store.put_alerts(&[changed.clone()]).unwrap().updated, 1);
    assert_eq!(store.alert(changed.id).unwrap(), Some(changed.clone()));
    let listed = store.alerts(Page::first(10)).unwrap();
    assert_eq!(listed.items, vec![changed, alerts[1].clone()]);
    assert!(matches!(
        store.put_alerts(&[alert("r3", Some(f64::NAN))]),
        Err(StoreError::Encode { .. })
    ));

    let incident = Incident {
        id: IncidentId::derive(&[b"r1", b"r2"]),
        title: "two rules on one host".into(),
        alert_ids: alerts.iter().map(|alert| alert.id).collect(),
        entities: vec![],
        tactics: vec!["execution".into()],
        techniques: vec![],
        score: 87.5,
        first_seen: None,
        last_seen: None,
    };
    assert_eq!(
        store
            .put_incidents(std::slice::from_ref(&incident))
            .unwrap()
            .inserted,
        1
    );
    assert_eq!(
        store
            .put_incidents(std::slice::from_ref(&incident))
            .unwrap()
            .unchanged,
        1
    );
    assert_eq!(store.incident(incident.id).unwrap(), Some(incident.clone()));
    assert_eq!(
        store.incidents(Page::first(5)).unwrap().items,
        vec![incident.clone()]
    );

    let decision = Decision {
        id: DecisionId::derive(&[incident.id.as_bytes(), b"escalate"]),
        incident_id: incident.id,
        action: "escalate".into(),
        mode: ActionMode::NeedsApproval(2),
        policy_id: "p1".into(),
        facts: json!({"score": 87.5}),
        decided_at: at("2026-11-28T12:00:00Z"),
    };
    assert_eq!(
        store
            .put_decisions(std::slice::from_ref(&decision))
            .unwrap()
            .inserted,
        1
    );
    let mut redecided = decision.clone();
    redecided.decided_at = at("2026-11-29T12:00:00Z");
    assert_eq!(store.put_decisions(&[redecided]).unwrap().unchanged, 1);
    assert_eq!(store.decision(decision.id).unwrap(), Some(decision.clone()));
    assert_eq!(
        store
            .decisions(Some(incident.id), Page::first(5))
            .unwrap()
            .items,
        vec![decision]
    );
    assert!(
        store
            .decisions(Some(IncidentId::derive(&[b"other"])), Page::first(5))
            .unwrap()
            .items
            .is_empty()
    );
}

/// A stand-in for envelope encryption: reverses the raw text on disk.
struct Reversing;

impl FieldProtector for Reversing {
    fn protect_event<'a>(&self, event: &'a Event) -> Result<Cow<'a, Event>, StoreError> {
        let mut protected = event.clone();
        protected.raw = event.raw.chars().rev().collect();
        Ok(Cow::Owned(protected))
    }

    fn reveal_event(&self, mut event: Event) -> Result<Event, StoreError> {
        event.raw = event.raw.chars().rev().collect();
        Ok(event)
    }
}

/// A broken protector that rewrites ids.
struct Renaming;

impl FieldProtector for Renaming {
    fn protect_event<'a>(&self, event: &'a Event) -> Result<Cow<'a, Event>, StoreError> {
        let mut renamed = event.clone();
        renamed.id = rampart_core::EventId::derive(&[b"other"]);
        Ok(Cow::Owned(renamed))
    }

    fn reveal_event(&self, event: Event) -> Result<Event, StoreError> {
        Ok(event)
    }
}

#[test]
fn the_field_protector_sees_every_event_on_its_way_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        protector: Arc::new(Reversing),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(dir.path(), options).unwrap();
    let run = begin(&store);
    let event = common::suricata_alert(SOURCE, 5);
    store
        .write_batch(run.id, &[Ingested::Event(Box::new(event.clone()))])
        .unwrap();
    assert_eq!(store.event(event.id).unwrap(), Some(event.clone()));
    let on_disk: String = rusqlite::Connection::open(store.path())
        .unwrap()
        .query_row("SELECT raw FROM events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(on_disk, event.raw.chars().rev().collect::<String>());

    let options = SqliteOptions {
        protector: Arc::new(Renaming),
        ..SqliteOptions::default()
    };
    let broken = SqliteStore::open_with(dir.path(), options).unwrap();
    let error = broken
        .write_batch(run.id, &common::batch(SOURCE, 6..8))
        .unwrap_err();
    assert!(matches!(error, StoreError::Protection(_)), "{error}");
    assert_eq!(
        store.count_events().unwrap(),
        1,
        "the failed batch left nothing"
    );
}

/// A protector that refuses one event, as a failing key service would.
struct RefusingLine(u64);

impl FieldProtector for RefusingLine {
    fn protect_event<'a>(&self, event: &'a Event) -> Result<Cow<'a, Event>, StoreError> {
        if event.provenance.position == rampart_core::Position::Line(self.0) {
            return Err(StoreError::Protection(format!("refused line {}", self.0)));
        }
        Reversing.protect_event(event)
    }

    fn reveal_event(&self, event: Event) -> Result<Event, StoreError> {
        Reversing.reveal_event(event)
    }
}

#[test]
fn one_refused_event_fails_a_large_batch_and_rows_keep_item_order() {
    let dir = tempfile::tempdir().unwrap();
    let open = |protector: Arc<dyn FieldProtector>| {
        SqliteStore::open_with(
            dir.path(),
            SqliteOptions {
                protector,
                ..SqliteOptions::default()
            },
        )
        .unwrap()
    };
    let refusing = open(Arc::new(RefusingLine(700)));
    let run = begin(&refusing);
    let error = refusing
        .write_batch(run.id, &common::batch(SOURCE, 0..1000))
        .unwrap_err();
    assert!(error.to_string().contains("refused line 700"), "{error}");
    assert_eq!(
        refusing.count_events().unwrap(),
        0,
        "the failed batch left nothing"
    );

    let store = open(Arc::new(Reversing));
    let batch = common::batch(SOURCE, 0..1000);
    let outcome = store.write_batch(run.id, &batch).unwrap();
    assert_eq!(outcome.events_stored, 1000);
    let stored: Vec<(Vec<u8>, String)> = {
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        let mut statement = conn
            .prepare("SELECT id, raw FROM events ORDER BY seq")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(stored.len(), 1000);
    for (item, (id, raw)) in batch.iter().zip(&stored) {
        let Ingested::Event(event) = item else {
            unreachable!()
        };
        assert_eq!(
            id.as_slice(),
            event.id.as_bytes().as_slice(),
            "stored out of order"
        );
        assert_eq!(*raw, event.raw.chars().rev().collect::<String>());
        assert_eq!(
            store.event(event.id).unwrap().as_ref(),
            Some(event.as_ref())
        );
    }
}

#[test]
fn readers_and_a_writer_share_one_store_across_threads() {
    let (_dir, store) = open();
    let store: Arc<dyn Store> = Arc::new(store);
    let run = begin(store.as_ref());
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for start in (0..2000).step_by(200) {
                store
                    .write_batch(run.id, &common::batch(SOURCE, start..start + 200))
                    .unwrap();
            }
        })
    };
    let mut last = 0;
    while !writer.is_finished() {
        let count = store.count_events().unwrap();
        assert!(
            count >= last && count.is_multiple_of(200),
            "batches are all or nothing"
        );
        last = count;
    }
    writer.join().unwrap();
    assert_eq!(store.count_events().unwrap(), 2000);
}

// ---- crash safety with a real process killed by SIGKILL ----

const CHILD_DIR: &str = "RAMPART_STORE_CRASH_CHILD_DIR";
const CRASH_BATCH: u64 = 500;
const CRASH_BATCHES: u64 = 20;

/// The input of the crash test, built once per process.
fn crash_input(batch: u64) -> &'static [Ingested] {
    static INPUT: std::sync::OnceLock<Vec<Vec<Ingested>>> = std::sync::OnceLock::new();
    let batches = INPUT.get_or_init(|| {
        (0..CRASH_BATCHES)
            .map(|batch| {
                let start = batch * CRASH_BATCH;
                common::batch(SOURCE, start..start + CRASH_BATCH)
            })
            .collect()
    });
    batches.get(usize::try_from(batch).unwrap()).unwrap()
}

/// Writes batches as fast as it can, announcing each commit, until it is killed.
#[test]
#[ignore = "the child process of kill_nine_mid_run_then_rerun_ends_like_a_clean_run"]
fn crash_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = SqliteStore::open(dir).unwrap();
    let run = begin(&store);
    for batch in 0..CRASH_BATCHES {
        store.write_batch(run.id, crash_input(batch)).unwrap();
        println!("committed {batch}");
    }
    println!("finished");
}

#[test]
fn kill_nine_mid_run_then_rerun_ends_like_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child_writer", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        assert_ne!(line, "finished", "the child must be killed mid-run");
        // By now the child is inside the transaction of the fourth batch.
        if line == "committed 2" {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructors, no rollback, no checkpoint.
    child.wait().unwrap();

    let store = SqliteStore::open(dir.path()).unwrap();
    let survived = store.count_events().unwrap();
    assert_eq!(survived % CRASH_BATCH, 0, "a batch is all or nothing");
    assert!((3 * CRASH_BATCH..CRASH_BATCHES * CRASH_BATCH).contains(&survived));
    let killed = store.latest_run().unwrap().unwrap();
    assert_eq!(killed.finished_at, None);

    let rerun = begin(&store);
    let mut total = BatchOutcome::default();
    for batch in 0..CRASH_BATCHES {
        total += store.write_batch(rerun.id, crash_input(batch)).unwrap();
    }
    assert_eq!(total.duplicates_skipped, survived);
    assert_eq!(total.events_stored + survived, CRASH_BATCHES * CRASH_BATCH);
    finish(&store, rerun);

    let clean_dir = tempfile::tempdir().unwrap();
    let clean = SqliteStore::open(clean_dir.path()).unwrap();
    let clean_run = begin(&clean);
    for batch in 0..CRASH_BATCHES {
        clean.write_batch(clean_run.id, crash_input(batch)).unwrap();
    }
    finish(&clean, clean_run);
    assert_eq!(snapshot(&store), snapshot(&clean));
}

// ---- splitting a batch never changes the result ----

/// A record from a small pool, so that random picks repeat and collide.
fn pooled_item(kind: u8, n: u64) -> Ingested {
    match kind % 3 {
        0 => Ingested::Event(Box::new(common::suricata_alert(SOURCE, n % 40))),
        1 => intel(
            n % 5,
            ["2026-01-01", "2026-02-01"]
                .get(usize::try_from(n % 3).unwrap())
                .copied(),
        ),
        _ => dead_letter(n % 8, &format!("{{bad {}", n % 8)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_split_of_the_input_gives_the_same_store(
        picks in proptest::collection::vec((0u8..3, 0u64..1000), 0..120),
        cuts in proptest::collection::vec(1usize..40, 0..12),
    ) {
        let items: Vec<Ingested> = picks.iter().map(|(kind, n)| pooled_item(*kind, *n)).collect();
        let (_whole_dir, whole) = open();
        let whole_run = begin(&whole);
        let whole_outcome = whole.write_batch(whole_run.id, &items).unwrap();
        prop_assert_eq!(whole_outcome.items(), items.len() as u64);

        let (_split_dir, split) = open();
        let split_run = begin(&split);
        let mut split_outcome = BatchOutcome::default();
        let mut rest = items.as_slice();
        for (index, cut) in cuts.iter().chain(std::iter::once(&usize::MAX)).enumerate() {
            let (head, tail) = rest.split_at((*cut).min(rest.len()));
            split_outcome += split.write_batch(split_run.id, head).unwrap();
            rest = tail;
            if index % 2 == 1 {
                // Finishing a run indexes every event by id; the next chunks start a new tail.
                let mut finished = split_run.clone();
                finished.finished_at = Some(Utc::now());
                split.update_run(&finished).unwrap();
            }
        }
        prop_assert_eq!(split_outcome, whole_outcome);
        prop_assert_eq!(snapshot(&split), snapshot(&whole));
        prop_assert_eq!(
            split.count_dead_letters(Some(split_run.id)).unwrap(),
            whole.count_dead_letters(Some(whole_run.id)).unwrap()
        );

        // Writing everything again, in one go, adds nothing.
        let again = split.write_batch(split_run.id, &items).unwrap();
        prop_assert_eq!(again.events_stored + again.intel_objects_stored, 0);
        prop_assert_eq!(snapshot(&split), snapshot(&whole));
    }
}

#[test]
fn an_up_to_date_store_opens_while_another_process_holds_the_write_lock() {
    // A bulk run takes the write lock back after every batch; opening the store for reading
    // (`rampart runs` during a run) must not queue for it.
    let (dir, store) = open();
    let run = begin(&store);
    let holder = rusqlite::Connection::open(store.path()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let options = SqliteOptions {
        busy_timeout: std::time::Duration::from_millis(50),
        ..SqliteOptions::default()
    };
    let second = SqliteStore::open_with(dir.path().join("nested/data"), options).unwrap();
    assert_eq!(second.run(run.id).unwrap().map(|r| r.id), Some(run.id));
    holder.execute_batch("ROLLBACK").unwrap();
}
