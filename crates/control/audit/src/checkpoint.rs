//! Transparency-log checkpoints (<https://c2sp.org/tlog-checkpoint>): a signed note whose text is
//! the log's origin, its tree size and its base64 root hash.
//!
//! ```text
//! rampart.example/audit
//! 1000
//! 3q2+7w0X...=
//!
//! — rampart.example/audit <base64(key id || Ed25519 signature)>
//! ```

use base64::Engine as _;
use rampart_crypto::ed25519::{Ed25519SigningKey, NoteVerifierKey};

use crate::AuditError;
use crate::merkle::Hash;
use crate::note::Note;

/// Most extension lines accepted after the root hash.
pub const MAX_EXTENSION_LINES: usize = 16;

/// The body of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `rampart.example/audit`.
    pub origin: String,
    /// Number of entries the root covers.
    pub size: u64,
    /// RFC 6962 root hash of the first `size` entries.
    pub root: Hash,
    /// Optional opaque extension lines (Rampart writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extensions, each followed by a newline.
    pub fn to_text(&self) -> String {
        let mut t = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64::engine::general_purpose::STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            t.push_str(e);
            t.push('\n');
        }
        t
    }

    /// Parses checkpoint note text (untrusted input; already size-capped by [`Note::parse`]).
    pub fn from_text(text: &str) -> Result<Self, AuditError> {
        let bad = |why: &str| Err(AuditError::InvalidCheckpoint(why.to_owned()));
        let Some(body) = text.strip_suffix('\n') else {
            return bad("checkpoint text must end with a newline");
        };
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return bad("a checkpoint has at least three lines: origin, tree size, root hash");
        };
        if origin.is_empty() {
            return bad("the origin line is empty");
        }
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let Some(size) = size_ok.then(|| size.parse::<u64>().ok()).flatten() else {
            return Err(AuditError::InvalidCheckpoint(format!(
                "tree size `{}` is not a decimal number without leading zeros",
                size.chars().take(40).collect::<String>()
            )));
        };
        let root: Hash = base64::engine::general_purpose::STANDARD
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| {
                AuditError::InvalidCheckpoint("root hash is not base64 of 32 bytes".to_owned())
            })?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.len() > MAX_EXTENSION_LINES {
            return bad("too many extension lines");
        }
        if extensions.iter().any(String::is_empty) {
            return bad("extension lines must be non-empty");
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// A checkpoint with its signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The note carrying it (text and signatures).
    pub note: Note,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` with `key` under the key name `name` (which should equal the origin).
    pub fn sign(
        checkpoint: Checkpoint,
        name: &str,
        key: &Ed25519SigningKey,
    ) -> Result<Self, AuditError> {
        let note = Note::sign(&checkpoint.to_text(), name, key)?;
        Ok(Self { checkpoint, note })
    }

    /// Parses a signed checkpoint without checking signatures (for inspection only).
    pub fn parse_unverified(text: &str) -> Result<Self, AuditError> {
        let note = Note::parse(text)?;
        let checkpoint = Checkpoint::from_text(&note.text)?;
        Ok(Self { checkpoint, note })
    }

    /// Parses a signed checkpoint and verifies it with the trusted `verifiers`.
    pub fn verify_text(text: &str, verifiers: &[NoteVerifierKey]) -> Result<Self, AuditError> {
        let parsed = Self::parse_unverified(text)?;
        parsed.note.verify(verifiers)?;
        Ok(parsed)
    }

    /// The full note text (body, blank line, signature lines).
    pub fn to_note_text(&self) -> String {
        self.note.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn c2sp_checkpoint_example_parses() {
        let text = include_str!("../tests/fixtures/c2sp-tlog-checkpoint-example.txt");
        let cp = SignedCheckpoint::parse_unverified(text).unwrap();
        assert_eq!(cp.checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.checkpoint.size, 20_852_163);
        assert_eq!(
            hex::encode(cp.checkpoint.root),
            "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
        );
        assert_eq!(cp.to_note_text(), text);
        // Its key is not published, so no trusted key signed it.
        let k = Ed25519SigningKey::generate().unwrap();
        let vk = NoteVerifierKey::new("example.com/behind-the-sofa", k.verifying_key()).unwrap();
        assert!(SignedCheckpoint::verify_text(text, &[vk]).is_err());
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let key = Ed25519SigningKey::generate().unwrap();
        let cp = Checkpoint {
            origin: "rampart.test/audit".into(),
            size: 42,
            root: [9; 32],
            extensions: vec![],
        };
        let signed = SignedCheckpoint::sign(cp.clone(), "rampart.test/audit", &key).unwrap();
        let vk = NoteVerifierKey::new("rampart.test/audit", key.verifying_key()).unwrap();
        let back = SignedCheckpoint::verify_text(&signed.to_note_text(), std::slice::from_ref(&vk))
            .unwrap();
        assert_eq!(back.checkpoint, cp);
        let tampered = signed.to_note_text().replacen("\n42\n", "\n43\n", 1);
        assert!(SignedCheckpoint::verify_text(&tampered, &[vk]).is_err());
    }

    #[test]
    fn bad_bodies_are_rejected() {
        let root = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
        for text in [
            "origin\n1\n".to_owned(),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n99999999999999999999999\n{root}\n"),
            "o\n1\nAAAA\n".to_owned(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}"),
        ] {
            assert!(Checkpoint::from_text(&text).is_err(), "{text:?}");
        }
        assert_eq!(
            Checkpoint::from_text(&format!("o\n0\n{root}\next\n"))
                .unwrap()
                .extensions,
            ["ext"]
        );
    }

    proptest! {
        #[test]
        fn text_round_trip(origin in "[a-z./]{1,30}", size in any::<u64>(), root in any::<[u8; 32]>()) {
            let cp = Checkpoint { origin, size, root, extensions: vec![] };
            prop_assert_eq!(Checkpoint::from_text(&cp.to_text()).unwrap(), cp);
        }

        #[test]
        fn parser_never_panics(text in "(?s).{0,200}") {
            let _ = Checkpoint::from_text(&text);
            let _ = SignedCheckpoint::parse_unverified(&text);
        }
    }
}
