//! Untrusted inputs of `rampart-audit` that arrive as text: signed notes, checkpoints and
//! stored entry bytes. The first byte picks the parser; none may panic, and a parsed note
//! must print back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_audit::note::Note;
use rampart_audit::{Checkpoint, LogEntry, SignedCheckpoint};
use rampart_crypto::Secret;
use rampart_crypto::ed25519::{Ed25519SigningKey, NoteVerifierKey};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        if selector % 3 == 2 {
            let _ = LogEntry::from_bytes(rest);
        }
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(note) = Note::parse(text) {
                assert_eq!(
                    note.to_string(),
                    text,
                    "a parsed note prints back unchanged"
                );
                let key = Ed25519SigningKey::from_seed(&Secret::new([3u8; 32]));
                if let Some(sig) = note.signatures.first()
                    && let Ok(vkey) = NoteVerifierKey::new(&sig.name, key.verifying_key())
                {
                    let _ = note.verify(&[vkey]);
                }
            }
        }
        1 => {
            let _ = Checkpoint::from_text(text);
            if let Ok(cp) = SignedCheckpoint::parse_unverified(text) {
                assert_eq!(
                    Checkpoint::from_text(&cp.checkpoint.to_text()).ok(),
                    Some(cp.checkpoint)
                );
            }
        }
        _ => {
            let _ = LogEntry::from_bytes(rest);
        }
    }
});
