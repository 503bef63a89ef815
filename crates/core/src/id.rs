//! Typed, content-derived identifiers.
//!
//! Every id in Rampart is 16 bytes derived from what the thing *is* (its source, position and
//! content), never from when it was seen. That makes re-processing idempotent: the same input
//! yields the same ids, so the store can skip what it already holds (invariant 6).

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::CoreError;

/// What an [`Id`] identifies; fixes the id's printed prefix so ids of different kinds never mix.
pub trait IdKind {
    /// Printed before the hex digits, e.g. `evt` for `evt_3f2a…`.
    const PREFIX: &'static str;
}

/// A 128-bit content-derived identifier of kind `K`, printed as `<prefix>_<32 hex digits>`.
pub struct Id<K> {
    bytes: [u8; 16],
    kind: PhantomData<fn() -> K>,
}

impl<K: IdKind> Id<K> {
    /// Wraps raw id bytes (as read back from storage).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self {
            bytes,
            kind: PhantomData,
        }
    }

    /// Derives an id from the given parts: SHA-256 over the kind's prefix and each part,
    /// length-prefixed so that `("ab", "c")` and `("a", "bc")` differ, truncated to 128 bits.
    pub fn derive(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(K::PREFIX.as_bytes());
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        for (out, byte) in bytes.iter_mut().zip(digest.iter()) {
            *out = *byte;
        }
        Self::from_bytes(bytes)
    }

    /// The raw 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.bytes
    }
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Id<K> {}
impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl<K> Eq for Id<K> {}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}
impl<K> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", K::PREFIX, hex::encode(self.bytes))
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CoreError::InvalidId {
            value: s.to_owned(),
            expected: K::PREFIX,
        };
        let digits = s
            .strip_prefix(K::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or_else(bad)?;
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| bad())?;
        Ok(Self::from_bytes(bytes))
    }
}

impl<K: IdKind> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! id_kind {
    ($(#[$doc:meta])* $kind:ident, $alias:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $kind {}
        impl IdKind for $kind {
            const PREFIX: &'static str = $prefix;
        }
        $(#[$doc])*
        pub type $alias = Id<$kind>;
    };
}

id_kind!(
    /// Identifies an ingested event.
    EventTag, EventId, "evt"
);
id_kind!(
    /// Identifies a dead letter (a record that could not be parsed).
    DeadLetterTag, DeadLetterId, "dl"
);
id_kind!(
    /// Identifies an alert raised by a detector.
    AlertTag, AlertId, "alr"
);
id_kind!(
    /// Identifies an incident (a correlated group of alerts).
    IncidentTag, IncidentId, "inc"
);
id_kind!(
    /// Identifies a policy decision about an incident.
    DecisionTag, DecisionId, "dec"
);
id_kind!(
    /// Identifies one run of the pipeline.
    RunTag, RunId, "run"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn derivation_is_length_prefixed() {
        let a = EventId::derive(&[b"ab", b"c"]);
        let b = EventId::derive(&[b"a", b"bc"]);
        assert_ne!(a, b);
    }

    #[test]
    fn kinds_do_not_parse_as_each_other() {
        let event = EventId::derive(&[b"x"]);
        let text = event.to_string();
        assert!(text.starts_with("evt_"));
        assert!(text.parse::<AlertId>().is_err());
        assert_eq!(text.parse::<EventId>().unwrap(), event);
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in proptest::array::uniform16(any::<u8>())) {
            let id = IncidentId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<IncidentId>().unwrap(), id);
        }

        #[test]
        fn parse_never_panics(text in ".{0,64}") {
            let _ = text.parse::<EventId>();
        }
    }
}
