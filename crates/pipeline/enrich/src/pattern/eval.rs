//! Evaluates compiled observations against the objects of one event.
//!
//! STIX requires the comparisons of one observation that name the same object type to hold
//! for the same object: `[ipv4-addr:value = 'a' AND ipv4-addr:value = 'b']` never matches an
//! event from `a` to `b`. So the observation is tried once per assignment of one object to
//! each type it names; events hold at most a handful of objects per type.

use rampart_core::{EntityKind, EntityRef};

use super::compile::{Check, Cond, Const, Leaf, ObjectType, Prop};
use crate::observed::{EndValue, Observed};

/// One observable that satisfied a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    /// The event field, e.g. `destination.ip`.
    pub(crate) field: &'static str,
    /// The observed value as text.
    pub(crate) value: String,
    /// The entity it names, when it names one.
    pub(crate) entity: Option<EntityRef>,
}

/// An observed value of a property.
enum Seen<'a> {
    Ip(std::net::IpAddr),
    Text(&'a str),
    Int(i64),
}

/// Which object of each type an attempt binds: an index into the event's objects.
#[derive(Debug, Clone, Copy, Default)]
struct Binding {
    ipv4: usize,
    ipv6: usize,
    domain: usize,
    url: usize,
    email: usize,
}

/// Every assignment is tried at most this many times per observation (the product of the
/// object counts per type): events are small, this is a guard against pathological ones.
const MAX_ASSIGNMENTS: usize = 4096;

/// Returns the hits of the first observation the event satisfies, if any.
pub(crate) fn evaluate(observations: &[Cond], observed: &Observed) -> Option<Vec<Hit>> {
    for cond in observations {
        let mut types = Vec::new();
        collect_types(cond, &mut types);
        let counts: Vec<(ObjectType, usize)> =
            types.iter().map(|t| (*t, count(observed, *t))).collect();
        let total = counts
            .iter()
            .map(|(_, n)| (*n).max(1))
            .try_fold(1usize, usize::checked_mul)
            .unwrap_or(usize::MAX)
            .min(MAX_ASSIGNMENTS);
        for n in 0..total {
            let mut binding = Binding::default();
            let mut rest = n;
            for (object, count) in &counts {
                let count = (*count).max(1);
                let index = rest % count;
                rest /= count;
                match object {
                    ObjectType::Ipv4 => binding.ipv4 = index,
                    ObjectType::Ipv6 => binding.ipv6 = index,
                    ObjectType::Domain => binding.domain = index,
                    ObjectType::Url => binding.url = index,
                    ObjectType::Email => binding.email = index,
                    ObjectType::File | ObjectType::Process | ObjectType::Traffic => {}
                }
            }
            let mut hits = Vec::new();
            if holds(cond, observed, binding, &mut hits) {
                return Some(hits);
            }
        }
    }
    None
}

fn collect_types(cond: &Cond, out: &mut Vec<ObjectType>) {
    match cond {
        Cond::Leaf(leaf) => {
            if !out.contains(&leaf.object) {
                out.push(leaf.object);
            }
        }
        Cond::Any(items) | Cond::All(items) => {
            for item in items {
                collect_types(item, out);
            }
        }
    }
}

fn count(observed: &Observed, object: ObjectType) -> usize {
    match object {
        ObjectType::Ipv4 => observed.ipv4.len(),
        ObjectType::Ipv6 => observed.ipv6.len(),
        ObjectType::Domain => observed.domains.len(),
        ObjectType::Url => observed.urls.len(),
        ObjectType::Email => observed.emails.len(),
        ObjectType::File => usize::from(observed.file.is_some()),
        ObjectType::Process => usize::from(observed.process.is_some()),
        ObjectType::Traffic => usize::from(observed.traffic.is_some()),
    }
}

fn holds(cond: &Cond, observed: &Observed, binding: Binding, hits: &mut Vec<Hit>) -> bool {
    match cond {
        Cond::Leaf(leaf) => leaf_holds(leaf, observed, binding, hits),
        Cond::Any(items) => items
            .iter()
            .any(|item| holds(item, observed, binding, hits)),
        Cond::All(items) => {
            let mark = hits.len();
            let all = items
                .iter()
                .all(|item| holds(item, observed, binding, hits));
            if !all {
                hits.truncate(mark);
            }
            all
        }
    }
}

/// The values of the leaf's property on the bound object, each with its hit description.
fn values<'a>(leaf: &Leaf, observed: &'a Observed, binding: Binding) -> Vec<(Seen<'a>, Hit)> {
    let text_hit = |field: &'static str, value: &str, kind: Option<EntityKind>| Hit {
        field,
        value: value.to_owned(),
        entity: kind.map(|kind| EntityRef::new(kind, value)),
    };
    let mut out = Vec::new();
    match leaf.object {
        ObjectType::Ipv4 | ObjectType::Ipv6 => {
            let (list, index) = if leaf.object == ObjectType::Ipv4 {
                (&observed.ipv4, binding.ipv4)
            } else {
                (&observed.ipv6, binding.ipv6)
            };
            if let Some(addr) = list.get(index) {
                let value = addr.ip.to_string();
                out.push((
                    Seen::Ip(addr.ip),
                    Hit {
                        field: addr.field,
                        entity: Some(EntityRef::new(EntityKind::Ip, value.clone())),
                        value,
                    },
                ));
            }
        }
        ObjectType::Domain | ObjectType::Url | ObjectType::Email => {
            let (list, index, kind) = match leaf.object {
                ObjectType::Domain => (&observed.domains, binding.domain, EntityKind::Domain),
                ObjectType::Url => (&observed.urls, binding.url, EntityKind::Url),
                _ => (&observed.emails, binding.email, EntityKind::Email),
            };
            if let Some(object) = list.get(index) {
                out.push((
                    Seen::Text(&object.value),
                    text_hit(object.field, &object.value, Some(kind)),
                ));
            }
        }
        ObjectType::File => {
            if let Some(file) = &observed.file {
                let (value, field, kind) = match leaf.prop {
                    Prop::Md5 => (&file.md5, "file.hash.md5", Some(EntityKind::FileHash)),
                    Prop::Sha1 => (&file.sha1, "file.hash.sha1", Some(EntityKind::FileHash)),
                    Prop::Sha256 => (&file.sha256, "file.hash.sha256", Some(EntityKind::FileHash)),
                    _ => (&file.name, "file.name", None),
                };
                if let Some(value) = value {
                    out.push((Seen::Text(value), text_hit(field, value, kind)));
                }
            }
        }
        ObjectType::Process => {
            if let Some(p) = &observed.process {
                process_value(leaf.prop, p, &mut out);
            }
        }
        ObjectType::Traffic => {
            if let Some(t) = &observed.traffic {
                traffic_values(leaf.prop, t, &mut out);
            }
        }
    }
    out
}

fn process_value<'a>(
    prop: Prop,
    p: &'a crate::observed::ProcessObject,
    out: &mut Vec<(Seen<'a>, Hit)>,
) {
    let entity = p
        .entity
        .as_ref()
        .map(|e| EntityRef::new(EntityKind::Process, e.clone()));
    let (seen, field, value) = match prop {
        Prop::ProcessName => (
            p.name.as_deref().map(Seen::Text),
            "process.name",
            p.name.clone(),
        ),
        Prop::CommandLine => (
            p.command_line.as_deref().map(Seen::Text),
            "process.command_line",
            p.command_line.clone(),
        ),
        Prop::Pid => (
            p.pid.map(|n| Seen::Int(n.into())),
            "process.pid",
            p.pid.map(|n| n.to_string()),
        ),
        Prop::ParentName => (
            p.parent_name.as_deref().map(Seen::Text),
            "process.parent.name",
            p.parent_name.clone(),
        ),
        Prop::ParentCommandLine => (
            p.parent_command_line.as_deref().map(Seen::Text),
            "process.parent.command_line",
            p.parent_command_line.clone(),
        ),
        _ => (
            p.parent_pid.map(|n| Seen::Int(n.into())),
            "process.parent.pid",
            p.parent_pid.map(|n| n.to_string()),
        ),
    };
    if let (Some(seen), Some(value)) = (seen, value) {
        out.push((
            seen,
            Hit {
                field,
                value,
                entity,
            },
        ));
    }
}

fn traffic_values<'a>(
    prop: Prop,
    t: &'a crate::observed::TrafficObject,
    out: &mut Vec<(Seen<'a>, Hit)>,
) {
    let (ends, field) = match prop {
        Prop::SrcValue | Prop::SrcType => (&t.src, "source"),
        Prop::DstValue | Prop::DstType => (&t.dst, "destination"),
        Prop::SrcPort | Prop::DstPort => {
            let (port, field) = if prop == Prop::SrcPort {
                (t.src_port, "source.port")
            } else {
                (t.dst_port, "destination.port")
            };
            if let Some(port) = port {
                out.push((
                    Seen::Int(port.into()),
                    Hit {
                        field,
                        value: port.to_string(),
                        entity: None,
                    },
                ));
            }
            return;
        }
        _ => {
            for protocol in &t.protocols {
                out.push((
                    Seen::Text(protocol),
                    Hit {
                        field: "network.protocol",
                        value: protocol.clone(),
                        entity: None,
                    },
                ));
            }
            return;
        }
    };
    let is_src = field == "source";
    for end in ends {
        let (seen, value, entity, sub) = match end {
            EndValue::Ip(ip) => {
                let value = ip.to_string();
                let seen = if matches!(prop, Prop::SrcType | Prop::DstType) {
                    Seen::Text(if ip.is_ipv4() {
                        "ipv4-addr"
                    } else {
                        "ipv6-addr"
                    })
                } else {
                    Seen::Ip(*ip)
                };
                (
                    seen,
                    value.clone(),
                    EntityRef::new(EntityKind::Ip, value),
                    "ip",
                )
            }
            EndValue::Domain(name) => {
                let seen = if matches!(prop, Prop::SrcType | Prop::DstType) {
                    Seen::Text("domain-name")
                } else {
                    Seen::Text(name)
                };
                (
                    seen,
                    name.clone(),
                    EntityRef::new(EntityKind::Domain, name.clone()),
                    "domain",
                )
            }
        };
        let field = match (is_src, sub) {
            (true, "ip") => "source.ip",
            (true, _) => "source.domain",
            (false, "ip") => "destination.ip",
            (false, _) => "destination.domain",
        };
        out.push((
            seen,
            Hit {
                field,
                value,
                entity: Some(entity),
            },
        ));
    }
}

fn leaf_holds(leaf: &Leaf, observed: &Observed, binding: Binding, hits: &mut Vec<Hit>) -> bool {
    // Several values (protocols[*], both ends' address and name) follow STIX's "any" reading.
    for (seen, hit) in values(leaf, observed, binding) {
        let passes = check(&leaf.check, &seen);
        if passes != leaf.negated {
            if !leaf.negated {
                hits.push(hit);
            }
            return true;
        }
    }
    false
}

fn check(check: &Check, seen: &Seen<'_>) -> bool {
    match (check, seen) {
        (Check::Exists, _) => true,
        (Check::OneOf(consts), seen) => consts.iter().any(|c| match (c, seen) {
            (Const::Net(net), Seen::Ip(ip)) => net.contains(*ip),
            (Const::Text(text), Seen::Text(value)) => text == value,
            (Const::Int(n), Seen::Int(value)) => n == value,
            _ => false,
        }),
        (Check::Range(low, high), Seen::Int(value)) => low <= value && value <= high,
        (Check::Regex(regex), Seen::Text(value)) => regex.is_match(value),
        (Check::Regex(regex), Seen::Ip(ip)) => regex.is_match(&ip.to_string()),
        (Check::Subset(net), Seen::Ip(ip)) => net.contains(*ip),
        (Check::Superset(net), Seen::Ip(ip)) => net.is_host() && net.contains(*ip),
        _ => false,
    }
}
