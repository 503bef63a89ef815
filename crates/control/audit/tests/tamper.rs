//! Tamper tests: every kind of change to the stored log is detected and located.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test helpers outside #[test] functions"
)]

use std::sync::Arc;

use chrono::{TimeZone as _, Utc};
use rampart_audit::merkle::{CHAIN_START, Frontier, chain_hash, leaf_hash};
use rampart_audit::{
    AuditEvent, AuditKind, AuditSink, InclusionProof, LogConfig, MemoryParts, MemoryStorage,
    SignedCheckpoint, StoredCheckpoint, TamperLocation, TransparencyLog,
};
use rampart_crypto::ed25519::Ed25519SigningKey;
use serde_json::json;

const ORIGIN: &str = "rampart.test/audit";

fn key() -> Ed25519SigningKey {
    let seed = rampart_crypto::Secret::new([42u8; 32]);
    Ed25519SigningKey::from_seed(&seed)
}

fn config() -> LogConfig {
    LogConfig {
        origin: ORIGIN.to_owned(),
        checkpoint_every: 10,
    }
}

fn event(i: u64) -> AuditEvent {
    AuditEvent::new(
        AuditKind::Decision,
        "policy-engine",
        format!("incident-{i}"),
        json!({"action": "notify", "score": i}),
    )
}

fn clock() -> rampart_audit::Clock {
    Arc::new(|| {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default()
    })
}

/// A log of `n` entries with checkpoints every 10, and the exported checkpoint at its end.
fn log_of(n: u64) -> (TransparencyLog<MemoryStorage>, String) {
    let log = TransparencyLog::in_memory(key(), config())
        .unwrap()
        .with_clock(clock());
    let events: Vec<_> = (0..n).map(event).collect();
    log.append_batch(&events).unwrap();
    let exported = log.checkpoint().unwrap().to_note_text();
    (log, exported)
}

fn parts(log: TransparencyLog<MemoryStorage>) -> MemoryParts {
    log.into_storage().unwrap().into_parts()
}

fn reopen(parts: MemoryParts) -> TransparencyLog<MemoryStorage> {
    TransparencyLog::open(MemoryStorage::from_parts(parts), key(), config()).unwrap()
}

fn location(log: &TransparencyLog<MemoryStorage>) -> TamperLocation {
    let err = log.verify().unwrap_err();
    err.tamper()
        .unwrap_or_else(|| panic!("not a tamper error: {err}"))
        .location
        .clone()
}

/// What an attacker without the key can do: recompute every hash from the (edited) bodies.
fn recompute_hashes(parts: &mut MemoryParts) {
    let mut f = Frontier::default();
    let mut chain = CHAIN_START;
    let mut nodes: Vec<Vec<[u8; 32]>> = Vec::new();
    for e in &mut parts.entries {
        e.leaf_hash = leaf_hash(&e.body);
        f.push(e.leaf_hash, |n| {
            let level = usize::from(n.level);
            if nodes.len() < level {
                nodes.resize(level, Vec::new());
            }
            nodes[level - 1].push(n.hash);
        });
        chain = chain_hash(&chain, &e.leaf_hash);
        e.chain_hash = chain;
    }
    parts.nodes = nodes;
}

#[test]
fn an_untouched_log_verifies() {
    let (log, exported) = log_of(35);
    let report = log.verify().unwrap();
    assert_eq!(report.entries, 35);
    assert_eq!(report.checkpoints, 4); // 10, 20, 30 and the exported one at 35
    log.verify_against(&exported).unwrap();
    // More entries later still extend the exported checkpoint.
    log.append_batch(&[event(35), event(36)]).unwrap();
    log.verify_against(&exported).unwrap();
}

#[test]
fn changed_byte_is_located() {
    let (log, _) = log_of(35);
    let mut p = parts(log);
    let body = &mut p.entries[17].body;
    let pos = body.iter().position(|b| *b == b'n').unwrap();
    body[pos] = b'N';
    assert_eq!(location(&reopen(p)), TamperLocation::Entry(17));
}

#[test]
fn changed_entry_with_its_leaf_hash_is_located() {
    let (log, _) = log_of(35);
    let mut p = parts(log);
    p.entries[17].body = p.entries[17].body.replace_str("notify", "ignore");
    p.entries[17].leaf_hash = leaf_hash(&p.entries[17].body);
    assert_eq!(location(&reopen(p)), TamperLocation::Entry(17));
}

#[test]
fn consistent_rewrite_without_the_key_is_caught_at_the_next_checkpoint() {
    let (log, _) = log_of(35);
    let mut p = parts(log);
    p.entries[17].body = p.entries[17].body.replace_str("notify", "ignore");
    recompute_hashes(&mut p);
    assert_eq!(
        location(&reopen(p)),
        TamperLocation::EntriesBetween { start: 10, end: 20 }
    );
}

#[test]
fn deleted_entry_is_located() {
    let (log, _) = log_of(35);
    let mut p = parts(log);
    p.entries.remove(12);
    assert_eq!(location(&reopen(p.clone())), TamperLocation::Entry(12));
    // Renumbering the stored indices does not help: the entry bytes carry their index.
    for (i, e) in p.entries.iter_mut().enumerate() {
        e.index = i as u64;
    }
    assert_eq!(location(&reopen(p)), TamperLocation::Entry(12));
}

#[test]
fn reordered_entries_are_located() {
    let (log, _) = log_of(35);
    let mut p = parts(log);
    p.entries.swap(5, 8);
    assert_eq!(location(&reopen(p.clone())), TamperLocation::Entry(5));
    // Also when the stored indices are swapped back into order.
    p.entries[5].index = 5;
    p.entries[8].index = 8;
    assert_eq!(location(&reopen(p)), TamperLocation::Entry(5));
}

#[test]
fn truncated_log_is_located() {
    let (log, exported) = log_of(35);
    let mut p = parts(log);
    p.entries.truncate(25);
    assert_eq!(location(&reopen(p.clone())), TamperLocation::Entry(25));
    // Dropping the checkpoints past the new end hides it from `verify`, not from an export.
    p.checkpoints.retain(|c| c.size <= 25);
    let nodes_needed = reopen_truncated(p);
    nodes_needed.verify().unwrap();
    let err = nodes_needed.verify_against(&exported).unwrap_err();
    assert_eq!(err.tamper().unwrap().location, TamperLocation::Entry(25));
}

fn reopen_truncated(mut p: MemoryParts) -> TransparencyLog<MemoryStorage> {
    recompute_hashes(&mut p);
    reopen(p)
}

#[test]
fn replaced_checkpoint_is_located() {
    let (log, _) = log_of(35);
    let mut p = parts(log);
    // Signed by another key.
    let impostor = Ed25519SigningKey::generate().unwrap();
    let cp = SignedCheckpoint::parse_unverified(&p.checkpoints[1].note)
        .unwrap()
        .checkpoint;
    let forged = SignedCheckpoint::sign(cp, ORIGIN, &impostor).unwrap();
    let mut q = p.clone();
    q.checkpoints[1] = StoredCheckpoint {
        size: 20,
        note: forged.to_note_text(),
    };
    assert_eq!(location(&reopen(q)), TamperLocation::Checkpoint(20));
    // A genuine checkpoint moved to another slot.
    p.checkpoints[1].note = p.checkpoints[0].note.clone();
    assert_eq!(location(&reopen(p)), TamperLocation::Checkpoint(20));
}

#[test]
fn rewritten_and_resigned_log_is_caught_only_against_an_export() {
    let (log, exported) = log_of(35);
    drop(log);
    // Someone with the data directory and the key rebuilds the log with entry 3 changed.
    let forged = TransparencyLog::in_memory(key(), config())
        .unwrap()
        .with_clock(clock());
    let mut events: Vec<_> = (0..35).map(event).collect();
    events[3].details = json!({"action": "ignore", "score": 3});
    forged.append_batch(&events).unwrap();
    forged.checkpoint().unwrap();
    forged.verify().unwrap();
    let err = forged.verify_against(&exported).unwrap_err();
    assert_eq!(
        err.tamper().unwrap().location,
        TamperLocation::EntriesBetween { start: 0, end: 35 }
    );
}

#[test]
fn altered_tree_hash_is_located() {
    let (log, _) = log_of(35);
    let mut p = parts(log);
    p.nodes[1][3][0] ^= 1; // the level-2 node over entries 12..16
    let reopened = reopen(p);
    assert_eq!(
        location(&reopened),
        TamperLocation::TreeNode { level: 2, index: 3 }
    );
    // Proofs through it are refused; proofs elsewhere still work.
    assert!(reopened.prove(8).is_err());
    reopened.prove(13).unwrap().verify().unwrap();
}

#[test]
fn proofs_verify_and_survive_reopening() {
    let (log, _) = log_of(35);
    let proof = log.prove(7).unwrap();
    proof.verify().unwrap();
    let back = InclusionProof::from_json(&proof.to_json()).unwrap();
    let cp = SignedCheckpoint::verify_text(
        back.checkpoint.as_deref().unwrap(),
        &[log.verifier_key().clone()],
    )
    .unwrap();
    assert_eq!(cp.checkpoint.root, back.root_hash);
    assert_eq!(cp.checkpoint.size, back.tree_size);

    let c = log.consistency(10, 35).unwrap();
    c.verify().unwrap();
    assert!(log.consistency(0, 35).is_err());

    let reopened = reopen(parts(log));
    reopened.append_batch(&[event(35)]).unwrap();
    let report = reopened.verify().unwrap();
    assert_eq!(report.entries, 36);
    assert!(matches!(
        reopened.prove(35),
        Err(rampart_audit::AuditError::NotCovered { index: 35 })
    ));
    reopened.checkpoint().unwrap();
    reopened.prove(35).unwrap().verify().unwrap();
}

#[test]
fn read_only_log_verifies_and_proves_but_cannot_append() {
    let (log, exported) = log_of(35);
    let vkey = log.verifier_key().clone();
    let ro = TransparencyLog::open_read_only(
        MemoryStorage::from_parts(parts(log)),
        vkey.clone(),
        config(),
    )
    .unwrap();
    ro.verify().unwrap();
    ro.verify_against(&exported).unwrap();
    ro.prove(3).unwrap().verify().unwrap();
    assert!(matches!(
        ro.append_batch(&[event(35)]),
        Err(rampart_audit::AuditError::ReadOnly)
    ));
    // The newest checkpoint is already at this size, so no signature is needed.
    assert_eq!(ro.checkpoint().unwrap().checkpoint.size, 35);
    assert_eq!(ro.len().unwrap(), 35);
    let wrong_origin = LogConfig {
        origin: "other.test/log".into(),
        checkpoint_every: 10,
    };
    assert!(TransparencyLog::open_read_only(MemoryStorage::new(), vkey, wrong_origin).is_err());
}

#[test]
fn sink_is_shared_across_threads() {
    let log: Arc<dyn AuditSink> = Arc::new(TransparencyLog::in_memory(key(), config()).unwrap());
    std::thread::scope(|s| {
        for t in 0..4 {
            let log = Arc::clone(&log);
            s.spawn(move || {
                for i in 0..25 {
                    log.record(event(t * 100 + i)).unwrap();
                }
            });
        }
    });
    let receipts = log.record_batch(vec![event(1), event(2)]).unwrap();
    assert_eq!(receipts[0].index, 100);
    assert_eq!(receipts[1].index, 101);
}

trait ReplaceStr {
    fn replace_str(&self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceStr for Vec<u8> {
    fn replace_str(&self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8(self.clone())
            .unwrap()
            .replace(from, to)
            .into_bytes()
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_changed_entry_is_named(n in 1u64..60, k in 0u64..60, every in 0u64..12) {
            let k = k % n;
            let log = TransparencyLog::in_memory(key(), LogConfig { origin: ORIGIN.into(), checkpoint_every: every })
                .unwrap()
                .with_clock(clock());
            log.append_batch(&(0..n).map(event).collect::<Vec<_>>()).unwrap();
            let mut p = parts(log);
            let body = &mut p.entries[k as usize].body;
            let last = body.len() - 2; // inside the final number, before `}`
            body[last] ^= 0x01;
            prop_assert_eq!(location(&reopen(p)), TamperLocation::Entry(k));
        }

        #[test]
        fn any_swap_is_named_at_the_first_position(n in 2u64..60, a in 0u64..60, b in 0u64..60) {
            let (a, b) = (a % n, b % n);
            prop_assume!(a != b);
            let (log, _) = log_of(n);
            let mut p = parts(log);
            p.entries.swap(a as usize, b as usize);
            prop_assert_eq!(location(&reopen(p)), TamperLocation::Entry(a.min(b)));
        }
    }
}
