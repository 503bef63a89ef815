//! IP networks (CIDR blocks) and a longest-prefix lookup table over them.
//!
//! Addresses are held as `u128` with the IPv4 space kept apart from IPv6 (never mapped into
//! `::ffff:0:0/96`), so an IPv4 block never contains an IPv6 address and the reverse.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

/// An IP network: an address with a prefix length, the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpNet {
    family: Family,
    bits: u128,
    len: u8,
}

/// Which address family a network or address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    const fn width(self) -> u8 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

fn split(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
    }
}

/// The mask keeping the first `len` bits of a `width`-bit address held in a `u128`.
fn mask(width: u8, len: u8) -> u128 {
    let len = len.min(width);
    if len == 0 {
        return 0;
    }
    (u128::MAX << (128 - u32::from(len))) >> (128 - u32::from(width))
}

impl IpNet {
    /// The network of one address (`/32` or `/128`).
    pub fn host(ip: IpAddr) -> Self {
        let (family, bits) = split(ip);
        Self {
            family,
            bits,
            len: family.width(),
        }
    }

    /// A network from an address and prefix length; host bits are cleared. `None` when the
    /// length exceeds the family's width.
    pub fn new(ip: IpAddr, len: u8) -> Option<Self> {
        let (family, bits) = split(ip);
        (len <= family.width()).then(|| Self {
            family,
            bits: bits & mask(family.width(), len),
            len,
        })
    }

    /// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `ipv6/n`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        match text.split_once('/') {
            None => text.parse::<IpAddr>().ok().map(Self::host),
            Some((addr, len)) => {
                if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let len = len.parse::<u8>().ok()?;
                Self::new(addr.parse::<IpAddr>().ok()?, len)
            }
        }
    }

    /// The prefix length.
    pub const fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether this network is a single address.
    pub fn is_host(&self) -> bool {
        self.len == self.family.width()
    }

    /// Whether the address lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (family, bits) = split(ip);
        family == self.family && bits & mask(family.width(), self.len) == self.bits
    }

    /// Whether `other` lies wholly inside this network.
    pub fn contains_net(&self, other: &Self) -> bool {
        other.family == self.family
            && other.len >= self.len
            && other.bits & mask(self.family.width(), self.len) == self.bits
    }

    pub(crate) const fn family(&self) -> Family {
        self.family
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr: IpAddr = match self.family {
            Family::V4 => IpAddr::V4(u32::try_from(self.bits).unwrap_or_default().into()),
            Family::V6 => IpAddr::V6(self.bits.into()),
        };
        if self.is_host() {
            write!(f, "{addr}")
        } else {
            write!(f, "{addr}/{}", self.len)
        }
    }
}

/// Values keyed by network, looked up by address: one hash map per prefix length in use, so a
/// lookup costs one probe per distinct prefix length (at most 33 for IPv4, 129 for IPv6)
/// whatever the number of networks.
#[derive(Debug, Clone)]
pub(crate) struct PrefixMap<T> {
    lengths: [BTreeSet<u8>; 2],
    entries: HashMap<IpNet, Vec<T>>,
}

impl<T> Default for PrefixMap<T> {
    fn default() -> Self {
        Self {
            lengths: [BTreeSet::new(), BTreeSet::new()],
            entries: HashMap::new(),
        }
    }
}

const fn slot(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

impl<T> PrefixMap<T> {
    /// Adds a value under a network.
    pub(crate) fn insert(&mut self, net: IpNet, value: T) {
        if let Some(lengths) = self.lengths.get_mut(slot(net.family())) {
            lengths.insert(net.prefix_len());
        }
        self.entries.entry(net).or_default().push(value);
    }

    /// Every network containing the address with its values, most specific first.
    pub(crate) fn containing(&self, ip: IpAddr) -> impl Iterator<Item = (&IpNet, &T)> {
        let (family, _) = split(ip);
        let lengths = self.lengths.get(slot(family)).into_iter().flatten().rev();
        lengths
            .filter_map(move |&len| {
                let net = IpNet::new(ip, len)?;
                self.entries.get_key_value(&net)
            })
            .flat_map(|(net, values)| values.iter().map(move |value| (net, value)))
    }

    /// How many networks are held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_normalises_networks() {
        let net = IpNet::parse("192.168.0.1/24").unwrap();
        assert_eq!(net.to_string(), "192.168.0.0/24");
        assert!(net.contains(ip("192.168.0.200")));
        assert!(!net.contains(ip("192.168.1.1")));
        assert_eq!(IpNet::parse("10.0.0.1").unwrap().to_string(), "10.0.0.1");
        let v6 = IpNet::parse("2001:0db8:dead:beef:0000:0000:0000:0000/64").unwrap();
        assert_eq!(v6.to_string(), "2001:db8:dead:beef::/64");
        assert!(v6.contains(ip("2001:db8:dead:beef::1")));
        assert!(!v6.contains(ip("2001:db8:dead:bef0::1")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x",
            "",
        ] {
            assert!(IpNet::parse(bad).is_none(), "{bad}");
        }
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("255.1.2.3")));
        assert!(!IpNet::parse("0.0.0.0/0").unwrap().contains(ip("::1")));
        assert!(!IpNet::parse("::/0").unwrap().contains(ip("1.2.3.4")));
    }

    #[test]
    fn prefix_map_finds_most_specific_first() {
        let mut map = PrefixMap::default();
        map.insert(IpNet::parse("10.0.0.0/8").unwrap(), "wide");
        map.insert(IpNet::parse("10.1.0.0/16").unwrap(), "narrow");
        map.insert(IpNet::parse("10.1.2.3").unwrap(), "host");
        let found: Vec<_> = map.containing(ip("10.1.2.3")).map(|(_, v)| *v).collect();
        assert_eq!(found, ["host", "narrow", "wide"]);
        let found: Vec<_> = map.containing(ip("10.2.0.1")).map(|(_, v)| *v).collect();
        assert_eq!(found, ["wide"]);
        assert_eq!(map.containing(ip("::1")).count(), 0);
    }

    /// The obviously-correct reference: compare the leading bits one by one.
    fn naive_contains(net: &str, addr: IpAddr) -> bool {
        let (base, len) = net.split_once('/').unwrap();
        let len: usize = len.parse().unwrap();
        let bits = |ip: IpAddr| -> Vec<bool> {
            let octets = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            octets
                .iter()
                .flat_map(|byte| (0..8).rev().map(move |i| byte >> i & 1 == 1))
                .collect()
        };
        let (a, b) = (bits(base.parse().unwrap()), bits(addr));
        a.len() == b.len() && a[..len] == b[..len]
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    proptest! {
        #[test]
        fn containment_agrees_with_naive_check(base in any_ip(), addr in any_ip(), len in 0u8..=128) {
            let width = if base.is_ipv4() { 32 } else { 128 };
            let len = len % (width + 1);
            let text = format!("{base}/{len}");
            let net = IpNet::parse(&text).unwrap();
            prop_assert_eq!(net.contains(addr), naive_contains(&text, addr));
            // An address close to the base (same leading bits) is the interesting case.
            prop_assert_eq!(net.contains(base), true);
            let mut map = PrefixMap::default();
            map.insert(net, ());
            prop_assert_eq!(map.containing(addr).count() == 1, naive_contains(&text, addr));
        }

        #[test]
        fn parse_never_panics(text in ".{0,48}") {
            let _ = IpNet::parse(&text);
        }
    }
}
