//! Untrusted inputs of `rampart-registry`: OMS signature bundles and their
//! statements, provenance envelopes and statements, trust policy files and PEM
//! public keys. The first byte picks the parser; none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_registry::{
    Bundle, TrustPolicy, parse_oms_statement, parse_provenance_envelope,
    parse_provenance_statement, public_key_from_pem,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            if let Ok(bundle) = Bundle::parse(rest) {
                if let Ok(payload) = bundle.envelope().and_then(|e| e.payload_bytes()) {
                    let _ = parse_oms_statement(&payload);
                }
                let _ = bundle.to_json();
            }
        }
        1 => {
            let _ = parse_oms_statement(rest);
        }
        2 => {
            if let Ok(payload) = parse_provenance_envelope(rest).and_then(|e| e.payload_bytes()) {
                let _ = parse_provenance_statement(&payload);
            }
            let _ = parse_provenance_statement(rest);
        }
        3 => {
            if let Ok(policy) = std::str::from_utf8(rest)
                .map_err(|_| ())
                .and_then(|text| TrustPolicy::from_toml(text).map_err(|_| ()))
            {
                let _ = policy.to_toml();
                let _ = policy.keys_for_model("scorer-v1").count();
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = public_key_from_pem(text);
            }
        }
    }
});
