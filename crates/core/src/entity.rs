//! References to the entities that alerts and incidents are about.

use serde::{Deserialize, Serialize};

/// The kind of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A host, by name.
    Host,
    /// A user, as `domain\name` or `name`.
    User,
    /// An IP address.
    Ip,
    /// A process, as `host:pid:name`.
    Process,
    /// A file, by its strongest hash.
    FileHash,
    /// A domain name.
    Domain,
    /// A URL.
    Url,
    /// An e-mail address.
    Email,
}

/// One entity: its kind and its normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityRef {
    /// What kind of entity.
    pub kind: EntityKind,
    /// The normalised value (lowercased where case does not matter).
    pub value: String,
}

impl EntityRef {
    /// Builds an entity reference, lowercasing values whose case carries no meaning.
    pub fn new(kind: EntityKind, value: impl Into<String>) -> Self {
        let value = value.into();
        let value = match kind {
            EntityKind::Host
            | EntityKind::Domain
            | EntityKind::FileHash
            | EntityKind::User
            | EntityKind::Email => value.to_lowercase(),
            EntityKind::Ip | EntityKind::Process | EntityKind::Url => value,
        };
        Self { kind, value }
    }
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        write!(f, "{kind}:{}", self.value)
    }
}
