//! Rampart's domain types at every stage boundary: events, ids, provenance, alerts, the Stage contract.
