//! The `Store` trait: everything the pipeline, the CLI and the API persist, behind one
//! backend-neutral interface.

use std::collections::BTreeMap;

use rampart_core::{
    Alert, AlertId, DeadLetter, Decision, DecisionId, Event, EventId, Format, Incident, IncidentId,
    Ingested, IntelObject, RunId, RunRecord,
};

use crate::{BatchOutcome, EventQuery, Listing, Page, PutOutcome, StoreError};

/// Persistent storage for runs, ingested records and what later stages derive from them.
///
/// Synchronous by design: the embedded backend is, and async code calls it through
/// `spawn_blocking`. Object-safe and `Send + Sync`, so one `Arc<dyn Store>` serves every
/// stage and request. Nothing in it names a database: backends map their own errors to
/// [`StoreError`].
///
/// Idempotence (invariant 6): every record is keyed by its content-derived id, and storing a
/// record whose key is already present changes nothing. Re-processing the same input therefore
/// stores nothing twice, and a run interrupted between batches can simply be run again.
pub trait Store: Send + Sync {
    // ---- runs ----

    /// Records the start of a run. Fails with [`StoreError::RunExists`] if its id is taken.
    fn begin_run(&self, run: &RunRecord) -> Result<(), StoreError>;

    /// Replaces a run's counts, inputs and `finished_at` with the given record's.
    fn update_run(&self, run: &RunRecord) -> Result<(), StoreError>;

    /// One run by id.
    fn run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError>;

    /// Every run, newest first.
    fn runs(&self) -> Result<Vec<RunRecord>, StoreError>;

    /// The most recently started run.
    fn latest_run(&self) -> Result<Option<RunRecord>, StoreError>;

    // ---- ingested records ----

    /// Stores a batch of ingested records for `run`, all or nothing, in one transaction.
    ///
    /// Events already present (by [`EventId`]) and intel objects already present (by STIX id
    /// and `modified`) count as duplicates and are left untouched. Dead letters are stored
    /// once by id and linked to every run that saw them.
    fn write_batch(&self, run: RunId, items: &[Ingested]) -> Result<BatchOutcome, StoreError>;

    /// One event by id.
    fn event(&self, id: EventId) -> Result<Option<Event>, StoreError>;

    /// One page of events matching `query`, in storage order.
    fn events(&self, query: &EventQuery) -> Result<Listing<Event>, StoreError>;

    /// How many events are stored.
    fn count_events(&self) -> Result<u64, StoreError>;

    /// How many events are stored per format (`None`: no reader recognised the input).
    fn count_events_by_format(&self) -> Result<BTreeMap<Option<Format>, u64>, StoreError>;

    /// One page of intel objects, optionally only those of one STIX type (`indicator`, …).
    fn intel_objects(
        &self,
        stix_type: Option<&str>,
        page: Page,
    ) -> Result<Listing<IntelObject>, StoreError>;

    /// One page of dead letters: those a given run saw, or all of them.
    fn dead_letters(
        &self,
        run: Option<RunId>,
        page: Page,
    ) -> Result<Listing<DeadLetter>, StoreError>;

    /// How many dead letters a given run saw, or how many are stored in all.
    fn count_dead_letters(&self, run: Option<RunId>) -> Result<u64, StoreError>;

    // ---- findings ----

    /// Stores alerts, replacing any stored alert with the same id.
    fn put_alerts(&self, alerts: &[Alert]) -> Result<PutOutcome, StoreError>;

    /// One alert by id.
    fn alert(&self, id: AlertId) -> Result<Option<Alert>, StoreError>;

    /// One page of alerts, in storage order.
    fn alerts(&self, page: Page) -> Result<Listing<Alert>, StoreError>;

    /// Stores incidents, replacing any stored incident with the same id.
    fn put_incidents(&self, incidents: &[Incident]) -> Result<PutOutcome, StoreError>;

    /// One incident by id.
    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError>;

    /// One page of incidents, in storage order.
    fn incidents(&self, page: Page) -> Result<Listing<Incident>, StoreError>;

    /// Stores decisions. A decision is a record of what was decided when: one already stored
    /// under the same id is kept as it is, and counted as unchanged.
    fn put_decisions(&self, decisions: &[Decision]) -> Result<PutOutcome, StoreError>;

    /// One decision by id.
    fn decision(&self, id: DecisionId) -> Result<Option<Decision>, StoreError>;

    /// One page of decisions, about one incident or all, in storage order.
    fn decisions(
        &self,
        incident: Option<IncidentId>,
        page: Page,
    ) -> Result<Listing<Decision>, StoreError>;
}

/// Streams every event matching a query, one page at a time, so that a million events never
/// sit in memory at once. Built by [`scan_events`].
pub struct EventScan<'a> {
    store: &'a dyn Store,
    query: EventQuery,
    buffered: std::vec::IntoIter<Event>,
    done: bool,
}

/// Every item of a paged listing (alerts, incidents, decisions, intel objects), fetched
/// [`Page::MAX_LIMIT`] at a time. For events, [`scan_events`] streams instead.
pub fn collect_pages<T>(
    mut fetch: impl FnMut(Page) -> Result<Listing<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let mut page = Page::first(Page::MAX_LIMIT);
    loop {
        let listing = fetch(page)?;
        out.extend(listing.items);
        match listing.next {
            Some(cursor) => {
                page = Page {
                    after: Some(cursor),
                    limit: Page::MAX_LIMIT,
                };
            }
            None => return Ok(out),
        }
    }
}

/// Iterates over every event matching `query` (its page limit sets the page size; its cursor,
/// where to start). Stops after the first error.
pub fn scan_events(store: &dyn Store, query: EventQuery) -> EventScan<'_> {
    EventScan {
        store,
        query,
        buffered: Vec::new().into_iter(),
        done: false,
    }
}

impl Iterator for EventScan<'_> {
    type Item = Result<Event, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.buffered.next() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            match self.store.events(&self.query) {
                Ok(listing) => {
                    self.query.page.after = listing.next;
                    self.done = listing.next.is_none();
                    self.buffered = listing.items.into_iter();
                }
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
    }
}
