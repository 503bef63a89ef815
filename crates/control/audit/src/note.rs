//! C2SP signed notes (<https://c2sp.org/signed-note>): text plus signature lines.
//!
//! ```text
//! <text, one or more lines, each ending in a newline>
//! <blank line>
//! — <key name> <base64(4-byte key id || signature)>
//! ```
//!
//! Notes are untrusted input: the parser caps the size, the number of lines and signatures,
//! rejects control characters other than newline, and never panics.

use std::fmt::Write as _;

use base64::Engine as _;
use rampart_crypto::ed25519::{Ed25519SigningKey, NoteVerifierKey, check_key_name};

use crate::AuditError;

/// Largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Most lines of text accepted in a note.
pub const MAX_NOTE_LINES: usize = 256;
/// Most signature lines accepted (the spec requires at least 16).
pub const MAX_NOTE_SIGNATURES: usize = 64;
/// Largest decoded signature accepted (post-quantum signatures are up to about 5 kB).
pub const MAX_SIGNATURE_BYTES: usize = 8 * 1024;

const SIG_PREFIX: &str = "\u{2014} ";

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signing key's name.
    pub name: String,
    /// The 4-byte key id.
    pub key_id: [u8; 4],
    /// The signature bytes (after the key id).
    pub signature: Vec<u8>,
}

/// A parsed signed note. Its text is not trustworthy until [`Note::verify`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// Signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Signs `text` (which must end in a newline) with an Ed25519 key under `name`.
    pub fn sign(text: &str, name: &str, key: &Ed25519SigningKey) -> Result<Self, AuditError> {
        check_text(text)?;
        let vkey = NoteVerifierKey::new(name, key.verifying_key())?;
        Ok(Self {
            text: text.to_owned(),
            signatures: vec![NoteSignature {
                name: name.to_owned(),
                key_id: vkey.key_id,
                signature: key.sign(text.as_bytes()).to_vec(),
            }],
        })
    }

    /// Parses a signed note (untrusted input).
    pub fn parse(input: &str) -> Result<Self, AuditError> {
        let bad = |why: String| Err(AuditError::InvalidNote(why));
        if input.len() > MAX_NOTE_BYTES {
            return bad(format!(
                "note is {} bytes, at most {MAX_NOTE_BYTES}",
                input.len()
            ));
        }
        if let Some(c) = input
            .chars()
            .find(|c| c.is_control() && *c != '\n' && u32::from(*c) < 0x20)
        {
            return bad(format!(
                "note contains control character `U+{:04X}`",
                u32::from(c)
            ));
        }
        if input.lines().count() > MAX_NOTE_LINES + MAX_NOTE_SIGNATURES + 1 {
            return bad(format!(
                "note has more than {} lines",
                MAX_NOTE_LINES + MAX_NOTE_SIGNATURES + 1
            ));
        }
        // The text ends at the last blank line; it keeps its own final newline.
        let Some(split) = input.rfind("\n\n") else {
            return bad("no blank line separates the text from the signatures".to_owned());
        };
        let (text, sigs) = (
            input.get(..=split).unwrap_or_default(),
            input.get(split + 2..).unwrap_or_default(),
        );
        if sigs.is_empty() {
            return bad("the note has no signature lines".to_owned());
        }
        if !sigs.ends_with('\n') {
            return bad("the last signature line must end with a newline".to_owned());
        }
        let mut signatures = Vec::new();
        for line in sigs.lines() {
            if signatures.len() == MAX_NOTE_SIGNATURES {
                return bad(format!("more than {MAX_NOTE_SIGNATURES} signatures"));
            }
            signatures.push(parse_signature_line(line)?);
        }
        if signatures.is_empty() {
            return bad("the note has no signature lines".to_owned());
        }
        check_text(text)?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the note with the trusted `verifiers` and returns the names that signed it.
    ///
    /// Per the spec: signatures from unknown keys (name and id not both matching) are ignored;
    /// a signature from a known key that fails rejects the whole note; at least one known key
    /// must have signed.
    pub fn verify(&self, verifiers: &[NoteVerifierKey]) -> Result<Vec<String>, AuditError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers
                .iter()
                .find(|v| v.name == sig.name && v.key_id == sig.key_id)
            else {
                continue;
            };
            v.key
                .verify(self.text.as_bytes(), &sig.signature)
                .map_err(|_| {
                    AuditError::InvalidNote(format!(
                        "signature by `{}` (key id `{}`) does not verify",
                        sig.name,
                        hex::encode(sig.key_id)
                    ))
                })?;
            verified.push(sig.name.clone());
        }
        if verified.is_empty() {
            let names: Vec<&str> = self.signatures.iter().map(|s| s.name.as_str()).collect();
            return Err(AuditError::InvalidNote(format!(
                "no signature from a trusted key (signed by `{}`); configure the log's verifier key",
                names.join("`, `")
            )));
        }
        Ok(verified)
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)?;
        f.write_char('\n')?;
        for s in &self.signatures {
            let mut raw = Vec::with_capacity(4 + s.signature.len());
            raw.extend_from_slice(&s.key_id);
            raw.extend_from_slice(&s.signature);
            writeln!(
                f,
                "{SIG_PREFIX}{} {}",
                s.name,
                base64::engine::general_purpose::STANDARD.encode(raw)
            )?;
        }
        Ok(())
    }
}

fn check_text(text: &str) -> Result<(), AuditError> {
    if text.trim_end_matches('\n').is_empty() || !text.ends_with('\n') {
        return Err(AuditError::InvalidNote(
            "note text must be non-empty and end with a newline".to_owned(),
        ));
    }
    if text.lines().count() > MAX_NOTE_LINES {
        return Err(AuditError::InvalidNote(format!(
            "note text has more than {MAX_NOTE_LINES} lines"
        )));
    }
    if text.len() > MAX_NOTE_BYTES {
        return Err(AuditError::InvalidNote(format!(
            "note text is longer than {MAX_NOTE_BYTES} bytes"
        )));
    }
    if let Some(c) = text.chars().find(|c| u32::from(*c) < 0x20 && *c != '\n') {
        return Err(AuditError::InvalidNote(format!(
            "note text contains control character `U+{:04X}`",
            u32::from(c)
        )));
    }
    Ok(())
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, AuditError> {
    let shown: String = line.chars().take(100).collect();
    let bad = |why: &str| AuditError::InvalidNote(format!("signature line `{shown}`: {why}"));
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or_else(|| bad("must start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("expected `— <name> <base64>`"))?;
    check_key_name(name).map_err(|_| bad("invalid key name"))?;
    if b64.len() > MAX_SIGNATURE_BYTES * 4 / 3 + 8 {
        return Err(bad("signature too long"));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad("signature is not standard base64"))?;
    if raw.len() < 5 {
        return Err(bad("signature shorter than a key id plus one byte"));
    }
    let (id, sig) = raw.split_at(4);
    let key_id: [u8; 4] = id.try_into().map_err(|_| bad("missing key id"))?;
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id,
        signature: sig.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

    #[test]
    fn c2sp_signed_note_example_verifies() {
        let text = include_str!("../tests/fixtures/c2sp-signed-note-example.txt");
        let vkey = NoteVerifierKey::parse(include_str!(
            "../tests/fixtures/c2sp-signed-note-example.vkey"
        ))
        .unwrap();
        assert_eq!(vkey.to_string(), SPEC_VKEY);
        let note = Note::parse(text).unwrap();
        assert_eq!(note.text, "This is an example message.\n");
        assert_eq!(
            note.verify(std::slice::from_ref(&vkey)).unwrap(),
            ["example.com/foo"]
        );
        assert_eq!(note.to_string(), text);
        // The same note with its text altered fails.
        let altered = Note::parse(&text.replace("example message", "exemplary message")).unwrap();
        assert!(altered.verify(&[vkey]).is_err());
    }

    #[test]
    fn unknown_keys_are_ignored_but_some_known_key_must_sign() {
        let key = Ed25519SigningKey::generate().unwrap();
        let other = Ed25519SigningKey::generate().unwrap();
        let mut note = Note::sign("hello\n", "log.example/a", &key).unwrap();
        let foreign = Note::sign("hello\n", "witness.example", &other).unwrap();
        note.signatures.extend(foreign.signatures);
        let vk = NoteVerifierKey::new("log.example/a", key.verifying_key()).unwrap();
        let reparsed = Note::parse(&note.to_string()).unwrap();
        assert_eq!(reparsed, note);
        assert_eq!(
            reparsed.verify(std::slice::from_ref(&vk)).unwrap(),
            ["log.example/a"]
        );
        let only_other = NoteVerifierKey::new("nobody", other.verifying_key()).unwrap();
        assert!(reparsed.verify(&[only_other]).is_err());
        // A known key whose signature fails rejects the whole note.
        let mut forged = reparsed.clone();
        forged.signatures[0].signature[0] ^= 1;
        assert!(forged.verify(&[vk]).is_err());
    }

    #[test]
    fn malformed_notes_are_rejected_with_reasons() {
        for (input, why) in [
            ("hello\n", "blank line"),
            ("hello\n\n", "no signature"),
            ("hello\n\n— a\n", "expected"),
            ("hello\n\n- a AAAAAAA=\n", "em dash"),
            ("hello\n\n— a !!!!\n", "base64"),
            ("hello\n\n— a AAAA\n", "shorter"),
            ("he\tllo\n\n— a AAAAAAA=\n", "control"),
            ("hello\n\n— a AAAAAAA=", "newline"),
            ("\n\n— a AAAAAAA=\n", "non-empty"),
        ] {
            let err = Note::parse(input).unwrap_err().to_string();
            assert!(err.contains(why), "{input:?}: {err}");
        }
        let big = format!("{}\n\n— a AAAAAAA=\n", "x".repeat(MAX_NOTE_BYTES));
        assert!(Note::parse(&big).is_err());
        let many = format!("t\n\n{}", "— a AAAAAAA=\n".repeat(MAX_NOTE_SIGNATURES + 1));
        assert!(Note::parse(&many).is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics(input in "(?s).{0,300}") {
            let _ = Note::parse(&input);
        }

        #[test]
        fn parser_never_panics_on_near_notes(text in "[a-z\n]{1,40}", name in "[a-z./]{1,10}", sig in "[A-Za-z0-9+/=]{0,20}") {
            let _ = Note::parse(&format!("{text}\n\n— {name} {sig}\n"));
        }
    }
}
