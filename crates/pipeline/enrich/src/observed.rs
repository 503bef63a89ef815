//! The cyber-observable objects an event carries, as STIX patterns see them.
//!
//! An event becomes a small set of STIX Cyber-observable Objects: one `ipv4-addr`/`ipv6-addr`
//! per address (source and destination), one `domain-name` per distinct name (DNS question,
//! URL host, source and destination domains), at most one `url`, `file`, `process` and
//! `network-traffic`, and `email-addr` objects from the email attributes. Values whose case
//! carries no meaning (domains, email addresses, hashes) are lowercased here and in patterns.

use std::net::IpAddr;

use rampart_core::Event;
use serde_json::Value;

/// An address object with the event field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddrObject {
    pub(crate) ip: IpAddr,
    pub(crate) field: &'static str,
}

/// A text-valued object (domain, URL, email address) with its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextObject {
    pub(crate) value: String,
    pub(crate) field: &'static str,
}

/// The `file` object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileObject {
    pub(crate) name: Option<String>,
    pub(crate) md5: Option<String>,
    pub(crate) sha1: Option<String>,
    pub(crate) sha256: Option<String>,
}

/// The `process` object (with its parent's fields for `parent_ref.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProcessObject {
    pub(crate) name: Option<String>,
    pub(crate) command_line: Option<String>,
    pub(crate) pid: Option<u32>,
    pub(crate) parent_name: Option<String>,
    pub(crate) parent_command_line: Option<String>,
    pub(crate) parent_pid: Option<u32>,
    /// `host:pid:name`, the entity value of the process.
    pub(crate) entity: Option<String>,
}

/// One end of the `network-traffic` object: an address or a domain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EndValue {
    Ip(IpAddr),
    Domain(String),
}

/// The `network-traffic` object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrafficObject {
    pub(crate) src: Vec<EndValue>,
    pub(crate) dst: Vec<EndValue>,
    pub(crate) src_port: Option<u16>,
    pub(crate) dst_port: Option<u16>,
    pub(crate) protocols: Vec<String>,
}

/// Every observable object of one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) ipv4: Vec<AddrObject>,
    pub(crate) ipv6: Vec<AddrObject>,
    pub(crate) domains: Vec<TextObject>,
    pub(crate) urls: Vec<TextObject>,
    pub(crate) emails: Vec<TextObject>,
    pub(crate) file: Option<FileObject>,
    pub(crate) process: Option<ProcessObject>,
    pub(crate) traffic: Option<TrafficObject>,
}

/// Email attributes read as `email-addr` objects (ECS `email.*` and `user.email`).
const EMAIL_FIELDS: [&str; 6] = [
    "email.from.address",
    "email.to.address",
    "email.sender.address",
    "email.reply_to.address",
    "email.cc.address",
    "user.email",
];

/// A URL's host when the event has no `url.domain`.
pub(crate) fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if host.starts_with('[') {
        host.split(']').next()?.trim_start_matches('[')
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Sensors that log IPv4 on IPv6 sockets write `::ffff:a.b.c.d`: that is an IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn lower(value: Option<&String>) -> Option<String> {
    value
        .map(|v| v.trim().trim_end_matches('.').to_lowercase())
        .filter(|v| !v.is_empty())
}

impl Observed {
    /// Reads the observable objects of an event.
    pub(crate) fn of(event: &Event) -> Self {
        let ecs = &event.ecs;
        let mut observed = Self::default();
        for (ip, field) in [
            (ecs.source.ip, "source.ip"),
            (ecs.destination.ip, "destination.ip"),
        ] {
            if let Some(ip) = ip {
                observed.push_ip(ip, field);
            }
        }
        let url_domain =
            lower(ecs.url.domain.as_ref()).or_else(|| ecs.url.full.as_deref().and_then(url_host));
        for (name, field) in [
            (lower(ecs.dns.question.name.as_ref()), "dns.question.name"),
            (url_domain, "url.domain"),
            (lower(ecs.destination.domain.as_ref()), "destination.domain"),
            (lower(ecs.source.domain.as_ref()), "source.domain"),
        ] {
            if let Some(name) = name {
                // An IP literal in a host slot is an address, not a domain name.
                if let Ok(ip) = name.trim_start_matches('[').trim_end_matches(']').parse() {
                    observed.push_ip(ip, field);
                } else if !observed.domains.iter().any(|d| d.value == name) {
                    observed.domains.push(TextObject { value: name, field });
                }
            }
        }
        if let Some(full) = ecs.url.full.as_ref().filter(|u| !u.is_empty()) {
            observed.urls.push(TextObject {
                value: full.clone(),
                field: "url.full",
            });
        }
        for field in EMAIL_FIELDS {
            let values = match event.attributes.get(field) {
                Some(Value::String(one)) => vec![one.as_str()],
                Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            for value in values {
                let value = value.trim().to_lowercase();
                if value.contains('@') && !observed.emails.iter().any(|e| e.value == value) {
                    observed.emails.push(TextObject { value, field });
                }
            }
        }
        let file = FileObject {
            name: ecs.file.name.clone(),
            md5: lower(ecs.file.hash.md5.as_ref()),
            sha1: lower(ecs.file.hash.sha1.as_ref()),
            sha256: lower(ecs.file.hash.sha256.as_ref()),
        };
        if file != FileObject::default() {
            observed.file = Some(file);
        }
        let p = &ecs.process;
        let process = ProcessObject {
            name: p.name.clone(),
            command_line: p.command_line.clone(),
            pid: p.pid,
            parent_name: p.parent.name.clone(),
            parent_command_line: p.parent.command_line.clone(),
            parent_pid: p.parent.pid,
            entity: p.name.as_ref().map(|name| {
                let host = ecs.host.name.as_deref().unwrap_or_default();
                let pid = p.pid.map(|pid| pid.to_string()).unwrap_or_default();
                format!("{host}:{pid}:{name}")
            }),
        };
        if process != ProcessObject::default() {
            observed.process = Some(process);
        }
        let end = |ip: Option<IpAddr>, domain: Option<&String>| {
            let mut values: Vec<EndValue> =
                ip.map(canonical).into_iter().map(EndValue::Ip).collect();
            values.extend(lower(domain).map(EndValue::Domain));
            values
        };
        let protocols: Vec<String> = [&ecs.network.transport, &ecs.network.protocol]
            .into_iter()
            .flatten()
            .map(|p| p.to_lowercase())
            .collect();
        let traffic = TrafficObject {
            src: end(ecs.source.ip, ecs.source.domain.as_ref()),
            dst: end(ecs.destination.ip, ecs.destination.domain.as_ref()),
            src_port: ecs.source.port,
            dst_port: ecs.destination.port,
            protocols,
        };
        if traffic != TrafficObject::default() {
            observed.traffic = Some(traffic);
        }
        observed
    }

    fn push_ip(&mut self, ip: IpAddr, field: &'static str) {
        let ip = canonical(ip);
        let list = if ip.is_ipv4() {
            &mut self.ipv4
        } else {
            &mut self.ipv6
        };
        if !list.iter().any(|a| a.ip == ip) {
            list.push(AddrObject { ip, field });
        }
    }

    /// Every address in the event, for the CIDR index.
    pub(crate) fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.ipv4.iter().chain(&self.ipv6).map(|a| a.ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_ipv4_addresses_are_ipv4_objects() {
        let event =
            crate::testkit::event(serde_json::json!({"source": {"ip": "::ffff:192.0.2.1"}}));
        let observed = Observed::of(&event);
        assert_eq!(observed.ipv4.len(), 1);
        assert_eq!(observed.ipv4[0].ip.to_string(), "192.0.2.1");
        assert!(observed.ipv6.is_empty());
    }

    #[test]
    fn url_hosts_are_extracted() {
        assert_eq!(
            url_host("http://user@Example.COM:8080/x?y").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            url_host("https://[2001:db8::1]/a").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(url_host("example.org/path").as_deref(), Some("example.org"));
        assert_eq!(url_host("http:///x"), None);
    }
}
