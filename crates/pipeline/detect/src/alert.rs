//! Alerts from rule matches: entities taken from the event, ids derived from content.

use rampart_core::{Alert, AlertId, AlertSource, EntityKind, EntityRef, Event, EventId};
use serde_json::Value;

use crate::rule::RuleInfo;

/// The entities an event is about: host, user, IP addresses, process and file hash.
pub(crate) fn entities(event: &Event) -> Vec<EntityRef> {
    let ecs = &event.ecs;
    let mut out = Vec::new();
    if let Some(host) = ecs.host.name.as_deref().filter(|h| !h.is_empty()) {
        out.push(EntityRef::new(EntityKind::Host, host));
    }
    if let Some(name) = ecs
        .user
        .name
        .as_deref()
        .filter(|n| !n.is_empty() && *n != "-")
    {
        let user = match ecs
            .user
            .domain
            .as_deref()
            .filter(|d| !d.is_empty() && *d != "-")
        {
            Some(domain) => format!("{domain}\\{name}"),
            None => name.to_owned(),
        };
        out.push(EntityRef::new(EntityKind::User, user));
    }
    for ip in [ecs.source.ip, ecs.destination.ip]
        .into_iter()
        .flatten()
        .chain(ecs.host.ip.iter().copied())
    {
        out.push(EntityRef::new(EntityKind::Ip, ip.to_string()));
    }
    if let Some(pid) = ecs.process.pid {
        let host = ecs.host.name.as_deref().unwrap_or_default().to_lowercase();
        let name = ecs
            .process
            .name
            .as_deref()
            .or(ecs.process.executable.as_deref())
            .unwrap_or_default();
        out.push(EntityRef::new(
            EntityKind::Process,
            format!("{host}:{pid}:{name}"),
        ));
    }
    let attribute = |path: &str| event.attributes.get(path).and_then(Value::as_str);
    let hash = ecs
        .file
        .hash
        .sha256
        .as_deref()
        .or(ecs.file.hash.sha1.as_deref())
        .or(ecs.file.hash.md5.as_deref())
        .or_else(|| attribute("process.hash.sha256"))
        .or_else(|| attribute("process.hash.sha1"))
        .or_else(|| attribute("process.hash.md5"));
    if let Some(hash) = hash.filter(|h| !h.is_empty()) {
        out.push(EntityRef::new(EntityKind::FileHash, hash));
    }
    if let Some(domain) = ecs.dns.question.name.as_deref().filter(|d| !d.is_empty()) {
        out.push(EntityRef::new(EntityKind::Domain, domain));
    }
    out.sort();
    out.dedup();
    out
}

/// The alert a single-event rule raises on an event. Its id covers the source, the rule and
/// the event, so detecting the same event again yields the same alert.
pub(crate) fn single(info: &RuleInfo, event: &Event) -> Alert {
    Alert {
        id: AlertId::derive(&[b"sigma", info.id.as_bytes(), event.id.as_bytes()]),
        source: AlertSource::Sigma,
        rule_id: info.id.clone(),
        title: info.title.clone(),
        level: info.level,
        score: None,
        techniques: info.techniques.clone(),
        tactics: info.tactics.clone(),
        entities: entities(event),
        event_ids: vec![event.id],
        first_seen: event.ecs.timestamp,
        last_seen: event.ecs.timestamp,
        explanation: None,
    }
}

/// The id of a correlation alert: the rule, its group and every contributing event.
pub(crate) fn correlation_id(rule_id: &str, group: &str, events: &[EventId]) -> AlertId {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(events.len() + 3);
    parts.push(b"correlation");
    parts.push(rule_id.as_bytes());
    parts.push(group.as_bytes());
    for event in events {
        parts.push(event.as_bytes());
    }
    AlertId::derive(&parts)
}
