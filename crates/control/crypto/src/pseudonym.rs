//! Keyed pseudonymisation: deterministic HMAC-SHA256 tokens and prefix-preserving IP mapping.
//!
//! Tokens are deterministic under one key, so a pseudonymised join key (user name, host name,
//! e-mail address) still joins across stored records, while nobody without the key can compute
//! or reverse it. Each tenant gets its own key, derived from one master secret:
//! `tenant key = HKDF-SHA256(salt = "rampart/pseudonym/v1", ikm = master, info = "tenant:" || tenant id)`,
//! so tokens of one tenant say nothing about another's.
//!
//! Two sub-keys are expanded from the tenant key with HKDF (`info = "token"` and `"ip-prefix"`),
//! so value tokens and IP mappings never share PRF inputs.
//!
//! # Tokens
//!
//! `token(kind, value) = hex(HMAC-SHA256(K_token, u32be(len(kind)) || kind || value)[..16])`:
//! 128 bits, 32 lowercase hex characters. `kind` (for example `user.name`) separates domains:
//! the same string as a user name and as a host name gives different tokens.
//!
//! # Prefix-preserving IP addresses (a Crypto-PAn-style construction)
//!
//! For an address of `n` bits `a_0 … a_{n-1}` (most significant first), output bit `i` is
//! `a_i XOR f_i`, where the flip bit `f_i` is a pseudorandom function of the first `i` input
//! bits only. Because of that:
//! - two addresses sharing exactly a `k`-bit prefix map to addresses sharing exactly a `k`-bit
//!   prefix (same subnet in, same subnet out; the first differing bit stays different);
//! - the map is a bijection on each address family, so the output is always a valid address of
//!   the same family (special ranges such as loopback are not preserved).
//!
//! Crypto-PAn evaluates its PRF (AES) once per bit. Here one HMAC serves a whole byte: for byte
//! `k` (bits `8k … 8k+7`), `R_k = HMAC-SHA256(K_ip, family || k || P_k)` where `family` is the
//! byte 4 or 6 and `P_k` the first `k` address bytes padded with zeros to `n/8` bytes. Within
//! the byte, the flip of bit `j` (0 = most significant) depends on the `j` bits of the byte
//! already seen, value `v`: it is bit number `2^j - 1 + v` of `R_k` (bits numbered from the
//! most significant bit of its first byte). The 255 possible `(j, v)` pairs address distinct
//! bits of the 256-bit output, so every flip is still an independent PRF bit of exactly the
//! preceding prefix, at one HMAC per byte (4 for IPv4, 16 for IPv6). Like Crypto-PAn, it leaks
//! the prefix structure by design; use [`Pseudonymizer::token`] when subnet grouping is not needed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::CryptoError;
use crate::secret::Secret;

/// Bytes of HMAC output kept in a token (128 bits).
pub const TOKEN_BYTES: usize = 16;

/// A pseudonymous token; `Display` prints 32 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym(pub [u8; TOKEN_BYTES]);

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({self})")
    }
}

/// Computes pseudonyms under one (tenant) key. Holds only keyed HMAC states, wiped on drop.
#[derive(Clone)]
pub struct Pseudonymizer {
    token_mac: Hmac<Sha256>,
    ip_mac: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer(***)")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer keyed directly by `key` (already tenant-specific).
    pub fn new(key: &Secret<[u8; 32]>) -> Result<Self, CryptoError> {
        let hk = hkdf::Hkdf::<Sha256>::from_prk(key.expose()).map_err(|_| {
            CryptoError::InvalidKey("pseudonymisation key must be 32 bytes".to_owned())
        })?;
        let mut token_key = Secret::new([0u8; 32]);
        let mut ip_key = Secret::new([0u8; 32]);
        hk.expand(b"token", token_key.expose_mut())
            .and_then(|()| hk.expand(b"ip-prefix", ip_key.expose_mut()))
            .map_err(|_| CryptoError::InvalidArgument("HKDF output length".to_owned()))?;
        Ok(Self {
            token_mac: keyed(&token_key)?,
            ip_mac: keyed(&ip_key)?,
        })
    }

    /// The pseudonymizer of `tenant_id`, derived from the master secret (see the module docs).
    pub fn for_tenant(master: &Secret<[u8; 32]>, tenant_id: &str) -> Result<Self, CryptoError> {
        if tenant_id.is_empty() {
            return Err(CryptoError::InvalidArgument(
                "tenant id must not be empty".to_owned(),
            ));
        }
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"rampart/pseudonym/v1"), master.expose());
        let mut key = Secret::new([0u8; 32]);
        hk.expand_multi_info(&[b"tenant:", tenant_id.as_bytes()], key.expose_mut())
            .map_err(|_| CryptoError::InvalidArgument("HKDF output length".to_owned()))?;
        Self::new(&key)
    }

    /// The token of `value` in domain `kind` (see the module docs).
    pub fn token(&self, kind: &str, value: &[u8]) -> Pseudonym {
        let mut mac = self.token_mac.clone();
        // Kinds are short field names; a length that does not fit 32 bits saturates, which
        // still separates it from every realistic kind.
        let len = u32::try_from(kind.len()).unwrap_or(u32::MAX);
        mac.update(&len.to_be_bytes());
        mac.update(kind.as_bytes());
        mac.update(value);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; TOKEN_BYTES];
        out.copy_from_slice(full.get(..TOKEN_BYTES).unwrap_or(&[0; TOKEN_BYTES]));
        Pseudonym(out)
    }

    /// Maps an IP address, preserving prefixes (see the module docs).
    pub fn ip(&self, addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V4(a) => IpAddr::V4(self.ipv4(a)),
            IpAddr::V6(a) => IpAddr::V6(self.ipv6(a)),
        }
    }

    /// Maps an IPv4 address, preserving prefixes.
    pub fn ipv4(&self, addr: Ipv4Addr) -> Ipv4Addr {
        Ipv4Addr::from(self.prefix_preserve::<4>(4, addr.octets()))
    }

    /// Maps an IPv6 address, preserving prefixes.
    pub fn ipv6(&self, addr: Ipv6Addr) -> Ipv6Addr {
        Ipv6Addr::from(self.prefix_preserve::<16>(6, addr.octets()))
    }

    fn prefix_preserve<const N: usize>(&self, family: u8, input: [u8; N]) -> [u8; N] {
        let mut out = input;
        let mut prefix = [0u8; N];
        for (k, (o, a)) in out.iter_mut().zip(input).enumerate() {
            let mut mac = self.ip_mac.clone();
            // N <= 16, so the byte index fits a byte.
            mac.update(&[family, u8::try_from(k).unwrap_or(u8::MAX)]);
            mac.update(&prefix);
            let r = mac.finalize().into_bytes();
            for j in 0..8u32 {
                // The j bits of this byte seen so far select one of the 255 flip bits.
                let seen = u32::from(a).checked_shr(8 - j).unwrap_or(0);
                let node = (1u32 << j) - 1 + seen;
                let flip = r
                    .get(usize::try_from(node / 8).unwrap_or(usize::MAX))
                    .map_or(0, |b| (b >> (7 - node % 8)) & 1);
                *o ^= flip << (7 - j);
            }
            if let Some(p) = prefix.get_mut(k) {
                *p = a;
            }
        }
        out
    }
}

fn keyed(key: &Secret<[u8; 32]>) -> Result<Hmac<Sha256>, CryptoError> {
    <Hmac<Sha256>>::new_from_slice(key.expose())
        .map_err(|_| CryptoError::InvalidKey("HMAC key rejected".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn master() -> Secret<[u8; 32]> {
        Secret::new([7u8; 32])
    }

    #[test]
    fn tokens_are_deterministic_and_separated() {
        let p = Pseudonymizer::for_tenant(&master(), "acme").unwrap();
        let again = Pseudonymizer::for_tenant(&master(), "acme").unwrap();
        let other = Pseudonymizer::for_tenant(&master(), "globex").unwrap();
        let t = p.token("user.name", b"alice");
        assert_eq!(t, again.token("user.name", b"alice"));
        assert_ne!(t, other.token("user.name", b"alice"));
        assert_ne!(t, p.token("host.name", b"alice"));
        assert_ne!(t, p.token("user.nam", b"ealice"));
        assert_eq!(t.to_string().len(), 32);
        assert!(Pseudonymizer::for_tenant(&master(), "").is_err());
        assert_eq!(format!("{p:?}"), "Pseudonymizer(***)");
    }

    #[test]
    fn ip_mapping_is_deterministic_and_per_tenant() {
        let p = Pseudonymizer::for_tenant(&master(), "acme").unwrap();
        let q = Pseudonymizer::for_tenant(&master(), "globex").unwrap();
        let a: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(p.ip(a), p.ip(a));
        assert_ne!(p.ip(a), q.ip(a));
        assert!(p.ip(a).is_ipv4());
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(p.ip(v6).is_ipv6());
    }

    #[test]
    fn a_subnet_maps_onto_one_subnet_bijectively() {
        // All 4096 addresses of 10.0.0.0/20 land in one /20 and stay distinct.
        let p = Pseudonymizer::for_tenant(&master(), "acme").unwrap();
        let mapped: std::collections::BTreeSet<u32> = (0..4096u32)
            .map(|i| u32::from(p.ipv4(Ipv4Addr::from(0x0a00_0000 | i))))
            .collect();
        assert_eq!(mapped.len(), 4096);
        let first = *mapped.first().unwrap();
        assert!(mapped.iter().all(|m| m >> 12 == first >> 12));
    }

    fn common_prefix(a: u128, b: u128, bits: u32) -> u32 {
        let x = a ^ b;
        if x == 0 {
            bits
        } else {
            x.leading_zeros() - (128 - bits)
        }
    }

    proptest! {
        #[test]
        fn ipv4_preserves_exact_common_prefix(a in any::<u32>(), b in any::<u32>()) {
            let p = Pseudonymizer::for_tenant(&master(), "t").unwrap();
            let (ma, mb) = (p.ipv4(a.into()), p.ipv4(b.into()));
            let n_in = common_prefix(a.into(), b.into(), 32);
            let n_out = common_prefix(u32::from(ma).into(), u32::from(mb).into(), 32);
            prop_assert_eq!(n_in, n_out);
        }

        #[test]
        fn ipv6_preserves_exact_common_prefix(a in any::<u128>(), flip_at in 0u32..128, tail in any::<u128>()) {
            // Build b to share exactly `flip_at` bits with a (random pairs rarely share much).
            let p = Pseudonymizer::for_tenant(&master(), "t").unwrap();
            let keep = if flip_at == 0 { 0 } else { u128::MAX << (128 - flip_at) };
            let b = (a & keep) | (!a & (1u128 << (127 - flip_at))) | (tail & ((1u128 << (127 - flip_at)) - 1));
            let (ma, mb) = (p.ipv6(a.into()), p.ipv6(b.into()));
            prop_assert_eq!(common_prefix(a, b, 128), flip_at);
            prop_assert_eq!(common_prefix(u128::from(ma), u128::from(mb), 128), flip_at);
        }

        #[test]
        fn ipv4_mapping_is_injective_on_samples(a in any::<u32>(), b in any::<u32>()) {
            let p = Pseudonymizer::for_tenant(&master(), "t").unwrap();
            prop_assert_eq!(a == b, p.ipv4(a.into()) == p.ipv4(b.into()));
        }
    }
}
