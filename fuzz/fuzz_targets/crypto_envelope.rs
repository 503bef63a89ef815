//! Untrusted stored ciphertexts of `rampart-crypto`: sealed fields and wrapped data keys read
//! back from storage. Parsing and opening must fail closed, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_crypto::Secret;
use rampart_crypto::envelope::{Keyring, SealedField, WrappedDek};

fuzz_target!(|data: &[u8]| {
    let _ = SealedField::parse(data);
    let Ok(wrapped) = WrappedDek::from_bytes(data) else {
        return;
    };
    assert_eq!(
        WrappedDek::from_bytes(&wrapped.to_bytes()).ok(),
        Some(wrapped.clone())
    );
    let mut ring = Keyring::new();
    if ring.insert(&wrapped.kek_id, Secret::new([9u8; 32])).is_ok()
        && let Ok(dek) = ring.unwrap(&wrapped)
    {
        let _ = dek.open("record", "field", data);
    }
});
