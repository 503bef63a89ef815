//! Hashing, signatures, envelope encryption and keyed pseudonymisation for Rampart.
//!
//! Inputs are bytes, readers, files, directories and key material (PEM files, environment
//! variables); outputs are digests, signatures, sealed fields and pseudonymous tokens.
//!
//! - [`digest`]: SHA-256 and BLAKE3 of bytes, readers, files and whole directories
//!   (the `OpenSSF` model-signing "files" layout, hashed in parallel).
//! - [`ecdsa`]: ECDSA P-256 keys in PEM and DER signatures (model signing).
//! - [`secret`]: the [`Secret`] wrapper that prints `***` and zeroizes on drop.
//! - [`ed25519`]: Ed25519 keys (PKCS#8 PEM, C2SP note verifier keys) for audit checkpoints.
//! - [`envelope`]: AES-256-GCM envelope encryption of sensitive fields (DEK per batch, KEK
//!   keyring, rotation by re-wrapping).
//! - [`pseudonym`]: HMAC-SHA256 pseudonyms per tenant and prefix-preserving IP mapping.
//!
//! Main design decision: one coherent generation of pure-Rust `RustCrypto` crates (plus ring's
//! assembly SHA-256 for bulk file hashing, 1.6-2x faster on CPUs without SHA extensions),
//! wrapped in a small API whose types make misuse hard: private keys and symmetric keys only
//! exist inside [`Secret`] or key types whose `Debug` hides them, and every failure is a
//! [`CryptoError`].
//! The crate does no I/O beyond reading key files and hashing files.
//!
//! ```
//! use rampart_crypto::{digest, ecdsa::EcdsaSigningKey};
//!
//! assert_eq!(
//!     digest::sha256(b"abc").to_string(),
//!     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
//! );
//! let key = EcdsaSigningKey::generate()?;
//! let signature = key.sign(b"model manifest");
//! key.verifying_key().verify(b"model manifest", &signature)?;
//! # Ok::<(), rampart_crypto::CryptoError>(())
//! ```

pub mod digest;
pub mod ecdsa;
pub mod ed25519;
pub mod envelope;
mod error;
pub mod pseudonym;
pub mod secret;

pub use error::CryptoError;
pub use secret::Secret;
