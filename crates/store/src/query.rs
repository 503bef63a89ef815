//! What callers ask the store for and what it answers: queries, pages and write outcomes.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rampart_core::{Format, RunCounts, RunId};

use crate::StoreError;

/// What one [`write_batch`](crate::Store::write_batch) did. The four counts always add up to
/// the number of items in the batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events stored for the first time.
    pub events_stored: u64,
    /// Threat-intel objects stored for the first time.
    pub intel_objects_stored: u64,
    /// Events and intel objects that were already stored (by an earlier batch, an earlier run
    /// or earlier in the same batch).
    pub duplicates_skipped: u64,
    /// Dead letters in the batch, whether or not an earlier run had already stored them.
    pub dead_letters: u64,
}

impl BatchOutcome {
    /// How many items the batch held.
    pub const fn items(&self) -> u64 {
        self.events_stored + self.intel_objects_stored + self.duplicates_skipped + self.dead_letters
    }

    /// Adds this batch to a run's counts. `records_read` and `by_format` are the reader's to
    /// count, so they are left alone.
    pub fn add_to(&self, counts: &mut RunCounts) {
        counts.events_stored += self.events_stored;
        counts.intel_objects_stored += self.intel_objects_stored;
        counts.duplicates_skipped += self.duplicates_skipped;
        counts.dead_letters += self.dead_letters;
    }
}

impl std::ops::AddAssign for BatchOutcome {
    fn add_assign(&mut self, other: Self) {
        self.events_stored += other.events_stored;
        self.intel_objects_stored += other.intel_objects_stored;
        self.duplicates_skipped += other.duplicates_skipped;
        self.dead_letters += other.dead_letters;
    }
}

/// What storing alerts, incidents or decisions did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOutcome {
    /// Records stored for the first time.
    pub inserted: u64,
    /// Records whose stored version changed.
    pub updated: u64,
    /// Records already stored as given (or, for decisions, already stored at all).
    pub unchanged: u64,
}

/// A position in a listing, in storage order. Opaque: pass back the `next` of a [`Listing`]
/// to get the following page. Prints and parses as text so that it can travel through an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(u64);

impl Cursor {
    /// Wraps a storage sequence number (for backends).
    pub const fn from_seq(seq: u64) -> Self {
        Self(seq)
    }

    /// The storage sequence number after which the next page starts (for backends).
    pub const fn seq(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('c')
            .and_then(|digits| digits.parse().ok())
            .map(Self)
            .ok_or_else(|| StoreError::Encode {
                what: "cursor",
                reason: format!("`{s}` is not a cursor; pass the `next` value of a listing"),
            })
    }
}

/// Which page of a listing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Start after this position; `None` starts at the beginning.
    pub after: Option<Cursor>,
    /// At most this many items; clamped to `1..=`[`Page::MAX_LIMIT`].
    pub limit: usize,
}

impl Page {
    /// The largest page a store returns, so that no listing loads unboundedly many records.
    pub const MAX_LIMIT: usize = 10_000;

    /// The first `limit` items.
    pub const fn first(limit: usize) -> Self {
        Self { after: None, limit }
    }

    /// The limit actually applied.
    pub fn clamped_limit(&self) -> usize {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::first(100)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    /// The items, in storage order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this page is the last.
    pub next: Option<Cursor>,
}

/// Which events to list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events first stored by this run.
    pub run: Option<RunId>,
    /// Only events read by this format's reader.
    pub format: Option<Format>,
    /// Only events whose `@timestamp` is at or after this time (events without one are left
    /// out when either time bound is set).
    pub since: Option<DateTime<Utc>>,
    /// Only events whose `@timestamp` is before this time.
    pub until: Option<DateTime<Utc>>,
    /// Which page.
    pub page: Page,
}
