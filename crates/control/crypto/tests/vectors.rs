//! Known-answer tests of the primitives under the crate, against committed standard vectors.

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use hmac::{Hmac, Mac as _};
use rampart_crypto::digest::{self, HashAlgorithm};
use serde::Deserialize;

#[expect(
    clippy::unwrap_used,
    reason = "test helper: committed fixtures are valid hex"
)]
fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[derive(Deserialize)]
struct ShaVector {
    name: String,
    message: String,
    repeat: usize,
    digest: String,
}

#[test]
fn sha256_fips_180_4_examples() {
    let vectors: Vec<ShaVector> =
        serde_json::from_str(include_str!("fixtures/sha256-fips180.json")).unwrap();
    assert_eq!(vectors.len(), 5);
    for v in vectors {
        let msg = unhex(&v.message).repeat(v.repeat);
        assert_eq!(digest::sha256(&msg).to_hex(), v.digest, "{}", v.name);
        let streamed = digest::digest_reader(HashAlgorithm::Sha256, &msg[..]).unwrap();
        assert_eq!(streamed.to_hex(), v.digest, "{} (streamed)", v.name);
    }
}

#[derive(Deserialize)]
struct HmacVector {
    name: String,
    key: String,
    data: String,
    hmac_sha256: String,
}

#[test]
fn hmac_sha256_rfc_4231() {
    let vectors: Vec<HmacVector> =
        serde_json::from_str(include_str!("fixtures/hmac-sha256-rfc4231.json")).unwrap();
    assert_eq!(vectors.len(), 7);
    for v in vectors {
        let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(&unhex(&v.key)).unwrap();
        mac.update(&unhex(&v.data));
        let tag = hex::encode(mac.finalize().into_bytes());
        // Test case 5 publishes only the first 128 bits.
        assert_eq!(&tag[..v.hmac_sha256.len()], v.hmac_sha256, "{}", v.name);
    }
}

#[derive(Deserialize)]
struct GcmVector {
    name: String,
    key: String,
    nonce: String,
    plaintext: String,
    aad: String,
    ciphertext: String,
    tag: String,
}

#[test]
fn aes_256_gcm_known_answers() {
    let vectors: Vec<GcmVector> =
        serde_json::from_str(include_str!("fixtures/aes256gcm-kat.json")).unwrap();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&unhex(&v.key)).unwrap();
        let nonce: [u8; 12] = unhex(&v.nonce).try_into().unwrap();
        let nonce = aes_gcm::Nonce::from(nonce);
        let (pt, aad) = (unhex(&v.plaintext), unhex(&v.aad));
        let out = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &pt,
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(
            hex::encode(&out),
            format!("{}{}", v.ciphertext, v.tag),
            "{}",
            v.name
        );
        let back = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &out,
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(back, pt);
        let mut bad = out.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(
            cipher
                .decrypt(
                    &nonce,
                    Payload {
                        msg: &bad,
                        aad: &aad
                    }
                )
                .is_err()
        );
    }
}
