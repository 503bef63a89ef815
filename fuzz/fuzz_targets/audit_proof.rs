//! Untrusted proof documents of `rampart-audit` (`rampart audit prove` output and consistency
//! proofs), and the raw RFC 9162 verifiers on arbitrary hashes. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_audit::proof::{verify_consistency, verify_inclusion};
use rampart_audit::{ConsistencyProof, InclusionProof};

fn hashes(bytes: &[u8]) -> Vec<[u8; 32]> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| c.try_into().ok())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(p) = InclusionProof::from_json(text)
            {
                let _ = p.verify();
                assert_eq!(InclusionProof::from_json(&p.to_json()).ok(), Some(p));
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(p) = ConsistencyProof::from_json(text)
            {
                let _ = p.verify();
            }
        }
        _ => {
            // 16 bytes of sizes, then hashes: leaf/old root, root/new root, path.
            let Some((sizes, tail)) = rest.split_first_chunk::<16>() else {
                return;
            };
            let a = u64::from_le_bytes(sizes[..8].try_into().unwrap_or_default());
            let b = u64::from_le_bytes(sizes[8..].try_into().unwrap_or_default());
            let hs = hashes(tail);
            if let [x, y, path @ ..] = hs.as_slice() {
                let _ = verify_inclusion(x, a, b, path, y);
                let _ = verify_consistency(a, b, x, y, path);
            }
        }
    }
});
