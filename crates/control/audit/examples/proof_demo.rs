//! Writes a small log's verifier key, checkpoint, inclusion and consistency proofs to a folder,
//! so the third-party check in `docs/formats/audit-log.md` can be run against real output.
//!
//! `cargo run -p rampart-audit --example proof_demo -- <out dir> [entries] [entry to prove]`

use std::path::PathBuf;

use rampart_audit::{AuditEvent, AuditKind, LogConfig, TransparencyLog};
use rampart_crypto::Secret;
use rampart_crypto::ed25519::Ed25519SigningKey;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: proof_demo <out dir> [entries] [entry]")?,
    );
    let entries: u64 = args.next().map_or(Ok(1000), |a| a.parse())?;
    let entry: u64 = args.next().map_or(Ok(entries / 3), |a| a.parse())?;
    std::fs::create_dir_all(&out)?;

    // A fixed demo key so the output is reproducible; never use a fixed key for a real log.
    let key = Ed25519SigningKey::from_seed(&Secret::new([0x5e; 32]));
    let log = TransparencyLog::in_memory(
        key,
        LogConfig {
            origin: "rampart.example/audit".into(),
            checkpoint_every: 100,
        },
    )?;
    let events: Vec<AuditEvent> = (0..entries)
        .map(|i| {
            AuditEvent::new(
                AuditKind::Decision,
                "policy-engine",
                format!("incident-{i}"),
                json!({"action": "notify", "note": "café \"quoted\"\ttab", "score": i % 100}),
            )
        })
        .collect();
    log.append_batch(&events)?;
    let old = log.checkpoint()?;
    let extra = usize::try_from(entries.min(37))?;
    log.append_batch(events.get(..extra).unwrap_or_default())?;
    let new = log.checkpoint()?;

    std::fs::write(out.join("vkey.txt"), format!("{}\n", log.verifier_key()))?;
    std::fs::write(out.join("checkpoint.txt"), new.to_note_text())?;
    std::fs::write(out.join("old-checkpoint.txt"), old.to_note_text())?;
    std::fs::write(out.join("proof.json"), log.prove(entry)?.to_json())?;
    let consistency = log.consistency(old.checkpoint.size, new.checkpoint.size)?;
    std::fs::write(out.join("consistency.json"), consistency.to_json())?;
    log.verify_against(&old.to_note_text())?;
    println!(
        "wrote {} (log of {} entries, proof of entry {entry})",
        out.display(),
        new.checkpoint.size
    );
    Ok(())
}
