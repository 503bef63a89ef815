//! The hook for protecting sensitive fields at rest.
//!
//! Detection runs on plaintext in memory; only what is written to disk is protected. A
//! [`FieldProtector`] sees every event and dead letter just before it is encoded for storage
//! and again just after it is decoded, so envelope encryption of sensitive fields (the raw
//! original included) and keyed pseudonymisation of join keys can be added without changing
//! the store or its callers.

use std::borrow::Cow;

use rampart_core::{DeadLetter, Event};

use crate::StoreError;

/// Transforms records on their way into and out of storage.
///
/// INVARIANT: `protect_*` must keep a record's id, and `reveal_*(protect_*(x))` must give `x`
/// back for the fields the protector encrypts (pseudonymised fields stay pseudonymised).
/// The store checks the id and refuses a batch whose protected record changed it.
pub trait FieldProtector: Send + Sync {
    /// Returns the event as it should be stored. Borrowing when nothing changes keeps the
    /// write path free of copies.
    fn protect_event<'a>(&self, event: &'a Event) -> Result<Cow<'a, Event>, StoreError>;

    /// Returns the event as callers should see it.
    fn reveal_event(&self, event: Event) -> Result<Event, StoreError>;

    /// Returns the dead letter as it should be stored; by default unchanged.
    fn protect_dead_letter<'a>(
        &self,
        dead_letter: &'a DeadLetter,
    ) -> Result<Cow<'a, DeadLetter>, StoreError> {
        Ok(Cow::Borrowed(dead_letter))
    }

    /// Returns the dead letter as callers should see it; by default unchanged.
    fn reveal_dead_letter(&self, dead_letter: DeadLetter) -> Result<DeadLetter, StoreError> {
        Ok(dead_letter)
    }
}

/// Stores records as they are: the default until encryption at rest is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProtection;

impl FieldProtector for NoProtection {
    fn protect_event<'a>(&self, event: &'a Event) -> Result<Cow<'a, Event>, StoreError> {
        Ok(Cow::Borrowed(event))
    }

    fn reveal_event(&self, event: Event) -> Result<Event, StoreError> {
        Ok(event)
    }
}
