//! Untrusted key material and key-like text accepted by `rampart-crypto`: PEM keys (P-256 and
//! Ed25519), DER public keys, note verifier keys, symmetric keys as text, hex digests.
//! The first byte picks the parser; none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_crypto::digest::Sha256Digest;
use rampart_crypto::ecdsa::{EcdsaSigningKey, EcdsaVerifyingKey};
use rampart_crypto::ed25519::{Ed25519SigningKey, Ed25519VerifyingKey, NoteVerifierKey};
use rampart_crypto::secret::{Secret, decode_key_bytes};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 7 == 6 {
        let _ = EcdsaVerifyingKey::from_der(rest);
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match selector % 7 {
        0 => {
            let _ = EcdsaSigningKey::from_pem(text);
        }
        1 => {
            if let Ok(k) = EcdsaVerifyingKey::from_pem(text) {
                assert_eq!(
                    EcdsaVerifyingKey::from_pem(k.public_key_pem()).ok(),
                    Some(k)
                );
            }
        }
        2 => {
            let _ = Ed25519SigningKey::from_pem(text);
            let _ = Ed25519VerifyingKey::from_pem(text);
        }
        3 => {
            if let Ok(v) = NoteVerifierKey::parse(text) {
                assert_eq!(NoteVerifierKey::parse(&v.to_string()).ok(), Some(v));
            }
        }
        4 => {
            let _ = decode_key_bytes::<32>(&Secret::new(text.to_owned()));
        }
        _ => {
            let _ = Sha256Digest::from_hex(text);
        }
    }
});
