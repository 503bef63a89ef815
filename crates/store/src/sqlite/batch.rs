//! The write path: one transaction per batch of ingested records.
//!
//! Throughput matters here (the run's ceiling is this loop), so each record is serialized
//! into reused buffers, bound without copies, and inserted through statements prepared once
//! per batch. Source and parser names are interned into small tables and cached in memory.

use std::borrow::Cow;
use std::collections::HashMap;

use rampart_core::{DeadLetter, Event, Ingested, IntelObject, Provenance, RunId};
use rusqlite::{
    CachedStatement, Connection, OptionalExtension as _, Transaction, TransactionBehavior, params,
};

use super::codec::{
    StoredFeatures, exact_nanos, format_code, json_text, nanos, position_to_sql, write_json,
};
use super::id_index::{self, TailEntry};
use super::sql::SqlResult as _;
use crate::{BatchOutcome, FieldProtector, StoreError};

// The conflict is on (source, position_kind, position, id): see `id_index` for why not on id.
const INSERT_EVENT: &str = "INSERT INTO events (source, position_kind, position, id, event_time, \
     format, parser, ingested_at, content_hash, ecs, attributes, features, ground_truth, raw) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
     ON CONFLICT DO NOTHING";

const INSERT_SPAN: &str =
    "INSERT INTO event_spans (first_seq, last_seq, run, format) VALUES (?1, ?2, ?3, ?4)";

const INSERT_INTEL: &str = "INSERT INTO intel_objects (stix_id, modified, stix_type, format, \
     source, position_kind, position, parser, ingested_at, content_hash, run, object) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
     ON CONFLICT DO NOTHING";

const INSERT_DEAD_LETTER: &str = "INSERT INTO dead_letters (id, format, source, position_kind, \
     position, parser, ingested_at, content_hash, reason, raw_len, raw) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
     ON CONFLICT (id) DO NOTHING";

// The WHERE clause also keeps SQLite from reading `ON CONFLICT` as a join constraint.
const LINK_DEAD_LETTER: &str = "INSERT INTO run_dead_letters (run, dead_letter) \
     SELECT ?1, seq FROM dead_letters WHERE id = ?2 \
     ON CONFLICT DO NOTHING";

/// An interning table: `sources` or `parsers`.
#[derive(Clone, Copy)]
enum NameTable {
    Sources,
    Parsers,
}

/// Interned source and parser names.
#[derive(Default)]
pub(super) struct Names {
    sources: HashMap<String, i64>,
    parsers: HashMap<String, i64>,
}

impl Names {
    fn map(&self, table: NameTable) -> &HashMap<String, i64> {
        match table {
            NameTable::Sources => &self.sources,
            NameTable::Parsers => &self.parsers,
        }
    }

    fn map_mut(&mut self, table: NameTable) -> &mut HashMap<String, i64> {
        match table {
            NameTable::Sources => &mut self.sources,
            NameTable::Parsers => &mut self.parsers,
        }
    }

    fn absorb(&mut self, other: Self) {
        self.sources.extend(other.sources);
        self.parsers.extend(other.parsers);
    }
}

/// The single writing connection and what it caches.
///
/// INVARIANT: the caches change only after the transaction that justifies them commits, so a
/// rolled-back batch never leaves an id here that the database does not have.
pub(super) struct Writer {
    pub(super) conn: Connection,
    /// Interned names known to be committed.
    names: Names,
    /// The unindexed tail of `events` as this connection wrote it (see `id_index`).
    tail: Vec<TailEntry>,
    /// How long the tail may grow before a batch merges it into the id index.
    merge_at: i64,
}

impl Writer {
    pub(super) fn new(conn: Connection, merge_at: i64) -> Result<Self, StoreError> {
        let tail = id_index::load_tail(&conn)?;
        Ok(Self {
            conn,
            names: Names::default(),
            tail,
            merge_at,
        })
    }

    /// Writes one batch all or nothing.
    pub(super) fn write_batch(
        &mut self,
        protector: &dyn FieldProtector,
        run: RunId,
        items: &[Ingested],
    ) -> Result<BatchOutcome, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .sql("begin batch")?;
        let mut staged = Staged::default();
        let outcome = write_items(&tx, &self.names, &mut staged, protector, run, items)?;
        let merged = id_index::merge_tail(&tx, self.merge_at, &self.tail, &staged.tail)?;
        tx.commit().sql("commit batch")?;
        self.names.absorb(staged.names);
        if merged {
            self.tail.clear();
        } else {
            self.tail.extend(staged.tail);
        }
        Ok(outcome)
    }

    /// Runs `change` in a transaction that also indexes the whole tail, so that everything
    /// stored so far can be found by id (when a run finishes).
    pub(super) fn with_full_index(
        &mut self,
        change: impl FnOnce(&Connection) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .sql("begin indexing")?;
        change(&tx)?;
        let merged = id_index::merge_tail(&tx, 1, &self.tail, &[])?;
        tx.commit().sql("commit indexing")?;
        if merged {
            self.tail.clear();
        }
        Ok(())
    }
}

/// What a batch adds to the writer's caches once it commits.
#[derive(Default)]
pub(super) struct Staged {
    names: Names,
    tail: Vec<TailEntry>,
}

/// Writes `items` inside an open transaction. Split out so that tests can abandon the
/// transaction half-way, as a crash would.
pub(super) fn write_items(
    tx: &Transaction<'_>,
    committed: &Names,
    staged: &mut Staged,
    protector: &dyn FieldProtector,
    run: RunId,
    items: &[Ingested],
) -> Result<BatchOutcome, StoreError> {
    let run_seq: i64 = tx
        .prepare_cached("SELECT seq FROM runs WHERE id = ?1")
        .sql("prepare run lookup")?
        .query_row([run.as_bytes()], |row| row.get(0))
        .optional()
        .sql("look up run")?
        .ok_or(StoreError::UnknownRun(run))?;
    let mut batch = Batch {
        tx,
        committed,
        staged,
        protector,
        run: run_seq,
        insert_event: tx
            .prepare_cached(INSERT_EVENT)
            .sql("prepare event insert")?,
        ecs: Vec::with_capacity(1024),
        attributes: Vec::with_capacity(1024),
        features: Vec::new(),
        ground_truth: Vec::new(),
        object: Vec::new(),
        recent_source: None,
        recent_parser: None,
        span: None,
        outcome: BatchOutcome::default(),
    };
    for item in items {
        match item {
            Ingested::Event(event) => batch.event(event)?,
            Ingested::Intel(object) => batch.intel(object)?,
            Ingested::DeadLetter(dead_letter) => batch.dead_letter(dead_letter)?,
        }
    }
    batch.close_span()?;
    Ok(batch.outcome)
}

/// The state of one batch being written.
struct Batch<'t, 'c> {
    tx: &'t Transaction<'c>,
    committed: &'t Names,
    staged: &'t mut Staged,
    protector: &'t dyn FieldProtector,
    run: i64,
    insert_event: CachedStatement<'t>,
    // Reused serialization buffers: one allocation per batch, not per event.
    ecs: Vec<u8>,
    attributes: Vec<u8>,
    features: Vec<u8>,
    ground_truth: Vec<u8>,
    object: Vec<u8>,
    recent_source: Option<(String, i64)>,
    recent_parser: Option<(String, i64)>,
    /// New events of one format with consecutive sequence numbers, not yet recorded.
    span: Option<Span>,
    outcome: BatchOutcome,
}

/// A run of new events stored consecutively with one format: what `event_spans` records,
/// so that listing by run or format and counting by format need no per-event index.
struct Span {
    first: i64,
    last: i64,
    format: Option<i64>,
}

impl Batch<'_, '_> {
    fn event(&mut self, original: &Event) -> Result<(), StoreError> {
        let protected = self.protector.protect_event(original)?;
        let event: &Event = &protected;
        if let Cow::Owned(changed) = &protected
            && (changed.id != original.id || changed.provenance != original.provenance)
        {
            return Err(StoreError::Protection(format!(
                "the field protector changed the id or provenance of event `{}`",
                original.id
            )));
        }
        let origin = self.origin(&event.provenance, "event ingest time")?;
        write_json(&mut self.ecs, &event.ecs, "event ECS fields")?;
        let attributes = if event.attributes.is_empty() {
            None
        } else {
            write_json(&mut self.attributes, &event.attributes, "event attributes")?;
            Some(json_text(&self.attributes))
        };
        let features = match &event.features {
            Some(features) => {
                write_json(
                    &mut self.features,
                    &StoredFeatures(features),
                    "event features",
                )?;
                Some(json_text(&self.features))
            }
            None => None,
        };
        let ground_truth = match &event.ground_truth {
            Some(truth) => {
                write_json(&mut self.ground_truth, truth, "event ground truth")?;
                Some(json_text(&self.ground_truth))
            }
            None => None,
        };
        let inserted = self
            .insert_event
            .execute(params![
                origin.source,
                origin.position_kind,
                origin.position,
                event.id.as_bytes(),
                event.ecs.timestamp.and_then(nanos),
                origin.format,
                origin.parser,
                origin.ingested_at,
                &event.provenance.content_hash.0,
                json_text(&self.ecs),
                attributes,
                features,
                ground_truth,
                event.raw,
            ])
            .sql("insert event")?;
        if inserted == 0 {
            self.outcome.duplicates_skipped += 1;
            return Ok(());
        }
        self.outcome.events_stored += 1;
        let seq = self.tx.last_insert_rowid();
        self.staged.tail.push((*event.id.as_bytes(), seq));
        self.extend_span(seq, origin.format)
    }

    /// Adds a new event to the current span, or closes it and opens another when the format
    /// changes (or, defensively, when sequence numbers are not consecutive).
    fn extend_span(&mut self, seq: i64, format: Option<i64>) -> Result<(), StoreError> {
        match &mut self.span {
            Some(span) if span.format == format && span.last.checked_add(1) == Some(seq) => {
                span.last = seq;
                Ok(())
            }
            _ => {
                self.close_span()?;
                self.span = Some(Span {
                    first: seq,
                    last: seq,
                    format,
                });
                Ok(())
            }
        }
    }

    /// Records the current span, if any.
    fn close_span(&mut self) -> Result<(), StoreError> {
        if let Some(span) = self.span.take() {
            self.tx
                .prepare_cached(INSERT_SPAN)
                .sql("prepare span insert")?
                .execute(params![span.first, span.last, self.run, span.format])
                .sql("record event span")?;
        }
        Ok(())
    }

    fn intel(&mut self, object: &IntelObject) -> Result<(), StoreError> {
        let origin = self.origin(&object.provenance, "intel ingest time")?;
        write_json(&mut self.object, &object.object, "intel object")?;
        let inserted = self
            .tx
            .prepare_cached(INSERT_INTEL)
            .sql("prepare intel insert")?
            .execute(params![
                object.stix_id,
                object.modified,
                object.stix_type,
                origin.format,
                origin.source,
                origin.position_kind,
                origin.position,
                origin.parser,
                origin.ingested_at,
                &object.provenance.content_hash.0,
                self.run,
                json_text(&self.object),
            ])
            .sql("insert intel object")?;
        if inserted == 0 {
            self.outcome.duplicates_skipped += 1;
        } else {
            self.outcome.intel_objects_stored += 1;
        }
        Ok(())
    }

    fn dead_letter(&mut self, original: &DeadLetter) -> Result<(), StoreError> {
        let protected = self.protector.protect_dead_letter(original)?;
        let dead_letter: &DeadLetter = &protected;
        if let Cow::Owned(changed) = &protected
            && (changed.id != original.id || changed.provenance != original.provenance)
        {
            return Err(StoreError::Protection(format!(
                "the field protector changed the id or provenance of dead letter `{}`",
                original.id
            )));
        }
        let origin = self.origin(&dead_letter.provenance, "dead letter ingest time")?;
        self.tx
            .prepare_cached(INSERT_DEAD_LETTER)
            .sql("prepare dead letter insert")?
            .execute(params![
                dead_letter.id.as_bytes(),
                origin.format,
                origin.source,
                origin.position_kind,
                origin.position,
                origin.parser,
                origin.ingested_at,
                &dead_letter.provenance.content_hash.0,
                dead_letter.reason,
                super::codec::u64_to_sql(dead_letter.raw_len),
                dead_letter.raw,
            ])
            .sql("insert dead letter")?;
        self.tx
            .prepare_cached(LINK_DEAD_LETTER)
            .sql("prepare dead letter link")?
            .execute(params![self.run, dead_letter.id.as_bytes()])
            .sql("link dead letter to run")?;
        self.outcome.dead_letters += 1;
        Ok(())
    }

    /// The provenance columns shared by events, intel objects and dead letters.
    fn origin(
        &mut self,
        provenance: &Provenance,
        what: &'static str,
    ) -> Result<Origin, StoreError> {
        let (position_kind, position) = position_to_sql(provenance.position);
        Ok(Origin {
            format: provenance.format.map(format_code),
            source: self.name(NameTable::Sources, &provenance.source)?,
            position_kind,
            position,
            parser: self.name(NameTable::Parsers, &provenance.parser)?,
            ingested_at: exact_nanos(provenance.ingested_at, what)?,
        })
    }

    /// The id of an interned name, interning it on first sight.
    fn name(&mut self, table: NameTable, name: &str) -> Result<i64, StoreError> {
        // Consecutive records nearly always share their source and parser: compare before
        // hashing.
        let recent = match table {
            NameTable::Sources => &mut self.recent_source,
            NameTable::Parsers => &mut self.recent_parser,
        };
        if let Some((recent_name, id)) = recent.as_ref()
            && recent_name == name
        {
            return Ok(*id);
        }
        let id = self.intern(table, name)?;
        let recent = match table {
            NameTable::Sources => &mut self.recent_source,
            NameTable::Parsers => &mut self.recent_parser,
        };
        *recent = Some((name.to_owned(), id));
        Ok(id)
    }

    fn intern(&mut self, table: NameTable, name: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.committed.map(table).get(name) {
            return Ok(*id);
        }
        if let Some(id) = self.staged.names.map(table).get(name) {
            return Ok(*id);
        }
        let (insert, select) = match table {
            NameTable::Sources => (
                "INSERT INTO sources (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
                "SELECT id FROM sources WHERE name = ?1",
            ),
            NameTable::Parsers => (
                "INSERT INTO parsers (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
                "SELECT id FROM parsers WHERE name = ?1",
            ),
        };
        self.tx
            .prepare_cached(insert)
            .sql("prepare name insert")?
            .execute([name])
            .sql("intern name")?;
        let id: i64 = self
            .tx
            .prepare_cached(select)
            .sql("prepare name lookup")?
            .query_row([name], |row| row.get(0))
            .sql("look up name")?;
        self.staged.names.map_mut(table).insert(name.to_owned(), id);
        Ok(id)
    }
}

/// Encoded provenance columns, minus the content hash (bound straight from the record).
struct Origin {
    format: Option<i64>,
    source: i64,
    position_kind: i64,
    position: i64,
    parser: i64,
    ingested_at: i64,
}
