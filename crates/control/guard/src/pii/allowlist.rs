//! Which fields of a record may reach a prompt at all.
//!
//! Minimisation starts before detection: a field that is not needed to explain an incident
//! never enters a prompt, whatever it contains. Patterns are exact field names
//! (`process.command_line`) or prefixes ending in `.*` (`file.hash.*`).

use std::collections::BTreeSet;

/// Fields allowed into prompts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldAllowlist {
    exact: BTreeSet<String>,
    prefixes: BTreeSet<String>,
}

impl FieldAllowlist {
    /// An allowlist of the given patterns.
    pub fn new<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Self::default();
        for p in patterns {
            let p = p.as_ref().trim();
            if let Some(prefix) = p.strip_suffix(".*") {
                list.prefixes.insert(format!("{prefix}."));
            } else if !p.is_empty() {
                list.exact.insert(p.to_owned());
            }
        }
        list
    }

    /// The ECS fields an incident narrative needs: what happened, where, by which process
    /// and rule, and the indicators involved. Identity fields are included because the
    /// minimiser pseudonymises them.
    pub fn ecs_default() -> Self {
        Self::new([
            "@timestamp",
            "event.action",
            "event.category",
            "event.outcome",
            "event.severity",
            "rule.name",
            "rule.id",
            "rule.description",
            "threat.technique.id",
            "threat.technique.name",
            "threat.tactic.name",
            "host.name",
            "host.os.name",
            "user.name",
            "user.domain",
            "source.ip",
            "source.port",
            "destination.ip",
            "destination.port",
            "destination.domain",
            "network.protocol",
            "network.transport",
            "url.domain",
            "url.full",
            "dns.question.name",
            "process.name",
            "process.executable",
            "process.command_line",
            "process.parent.name",
            "process.parent.command_line",
            "file.name",
            "file.path",
            "file.hash.*",
            "registry.path",
            "message",
        ])
    }

    /// Whether `field` may reach a prompt.
    pub fn allows(&self, field: &str) -> bool {
        self.exact.contains(field) || self.prefixes.iter().any(|p| field.starts_with(p.as_str()))
    }
}

/// Whether a field holds a user identity as a whole (pseudonymised without detection).
pub fn is_identity_field(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    f == "user.name"
        || f.ends_with(".user.name")
        || f == "user.email"
        || f.ends_with(".user.email")
        || f.ends_with("username")
        || f.ends_with("user_name")
        || f.ends_with("account_name")
        || f.ends_with("accountname")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_prefix_patterns() {
        let a = FieldAllowlist::new(["rule.name", "file.hash.*", " "]);
        assert!(a.allows("rule.name"));
        assert!(a.allows("file.hash.sha256"));
        assert!(!a.allows("file.hash"));
        assert!(!a.allows("rule.name.extra"));
        assert!(!a.allows("user.password"));
        assert!(FieldAllowlist::ecs_default().allows("process.command_line"));
        assert!(!FieldAllowlist::ecs_default().allows("http.request.body.content"));
    }

    #[test]
    fn identity_fields() {
        assert!(is_identity_field("user.name"));
        assert!(is_identity_field("source.user.name"));
        assert!(is_identity_field("winlog.event_data.TargetUserName"));
        assert!(!is_identity_field("host.name"));
    }
}
