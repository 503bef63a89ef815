//! Value parsers shared by the channel mappings: process ids in decimal or hex, addresses,
//! `DOMAIN\user` names, Sysmon hash lists.

use std::net::IpAddr;

use rampart_core::{Ecs, Hashes};
use serde_json::{Map, Value};

use super::record::WinRecord;

/// What a mapping fills: the ECS fields and the attributes that have no typed ECS slot.
#[derive(Debug, Default)]
pub(super) struct Mapped {
    /// ECS fields.
    pub ecs: Ecs,
    /// Attributes under dotted paths.
    pub attributes: Map<String, Value>,
}

impl Mapped {
    /// Sets `event.action`, `event.category` and `event.type`.
    pub fn classify(&mut self, action: &str, category: &[&str], kind_type: &[&str]) {
        self.ecs.event.action = Some(action.to_owned());
        self.ecs.event.category = category.iter().map(|&c| c.to_owned()).collect();
        self.ecs.event.kind_type = kind_type.iter().map(|&t| t.to_owned()).collect();
    }

    /// Adds a string attribute when the value is present.
    pub fn attribute(&mut self, path: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.attributes
                .insert(path.to_owned(), Value::String(value.to_owned()));
        }
    }

    /// `process.pid`, `process.executable` and `process.name` from two data fields.
    pub fn process(&mut self, record: &WinRecord, pid_field: &str, image_field: &str) {
        if let Some(pid) = record.get(pid_field).and_then(pid) {
            self.ecs.process.pid = Some(pid);
        }
        if let Some(image) = record.get(image_field) {
            self.ecs.process.name = basename(image);
            self.ecs.process.executable = Some(image.to_owned());
        }
    }

    /// `process.parent.*` from two data fields.
    pub fn parent(&mut self, record: &WinRecord, pid_field: &str, image_field: &str) {
        if let Some(pid) = record.get(pid_field).and_then(pid) {
            self.ecs.process.parent.pid = Some(pid);
        }
        if let Some(image) = record.get(image_field) {
            self.ecs.process.parent.name = basename(image);
            self.ecs.process.parent.executable = Some(image.to_owned());
        }
    }

    /// `user.domain` and `user.name` from a `DOMAIN\name` field.
    pub fn qualified_user(&mut self, record: &WinRecord, field: &str) {
        if let Some(text) = record.get(field) {
            let (domain, name) = split_user(text);
            self.ecs.user.domain = domain;
            self.ecs.user.name = name;
        }
    }

    /// `user.name`, `user.domain` and `user.id` from three separate fields.
    pub fn user(&mut self, record: &WinRecord, name: &str, domain: &str, id: &str) {
        self.ecs.user.name = record.get(name).map(str::to_owned);
        self.ecs.user.domain = record.get(domain).map(str::to_owned);
        self.ecs.user.id = record.get(id).map(str::to_owned);
    }

    /// `file.path` and `file.name` from one data field.
    pub fn file(&mut self, record: &WinRecord, field: &str) {
        if let Some(path) = record.get(field) {
            self.ecs.file.name = basename(path);
            self.ecs.file.path = Some(path.to_owned());
        }
    }
}

/// A process id written in decimal (`2008`) or hex (`0xef0`, Security events).
pub(super) fn pid(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// An IP address; IPv4-mapped IPv6 (`::ffff:10.0.0.5`, Kerberos events) becomes IPv4.
pub(super) fn ip(text: &str) -> Option<IpAddr> {
    let address: IpAddr = text.trim().parse().ok()?;
    Some(match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    })
}

/// A port; `0` (Windows' "no port") is no port.
pub(super) fn port(text: &str) -> Option<u16> {
    text.trim().parse().ok().filter(|&port| port != 0)
}

/// Splits `DOMAIN\name` into domain and name; a name without domain stays whole.
pub(super) fn split_user(text: &str) -> (Option<String>, Option<String>) {
    match text.split_once('\\') {
        Some((domain, name)) => (
            Some(domain.to_owned()).filter(|d| !d.is_empty()),
            Some(name.to_owned()).filter(|n| !n.is_empty()),
        ),
        None => (None, Some(text.to_owned())),
    }
}

/// The last component of a Windows or Unix path.
pub(super) fn basename(path: &str) -> Option<String> {
    path.rsplit(['\\', '/'])
        .next()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// Sysmon's `SHA1=…,MD5=…,SHA256=…,IMPHASH=…` list, as lowercase (algorithm, hex) pairs.
pub(super) fn hash_list(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(algorithm, hex)| {
            (
                algorithm.trim().to_ascii_lowercase(),
                hex.trim().to_ascii_lowercase(),
            )
        })
        .filter(|(algorithm, hex)| !algorithm.is_empty() && !hex.is_empty())
        .collect()
}

/// Fills typed hashes from a hash list; returns the list for attributes.
pub(super) fn fill_hashes(hashes: &mut Hashes, list: &[(String, String)]) {
    for (algorithm, hex) in list {
        match algorithm.as_str() {
            "md5" => hashes.md5 = Some(hex.clone()),
            "sha1" => hashes.sha1 = Some(hex.clone()),
            "sha256" => hashes.sha256 = Some(hex.clone()),
            _ => {}
        }
    }
}

/// An IANA protocol number as ECS `network.transport`.
pub(super) fn transport(number: &str) -> Option<String> {
    let name = match number.trim() {
        "1" => "icmp",
        "6" => "tcp",
        "17" => "udp",
        "58" => "ipv6-icmp",
        other if other.chars().all(|c| c.is_ascii_alphabetic()) && !other.is_empty() => {
            return Some(other.to_ascii_lowercase());
        }
        _ => return None,
    };
    Some(name.to_owned())
}

/// Security keywords carry audit success (bit 53) or failure (bit 52).
pub(super) fn audit_outcome(keywords: &str) -> Option<&'static str> {
    let text = keywords.trim();
    let bits = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        // nxlog writes the keyword mask as a signed 64-bit number.
        None => text
            .parse::<u64>()
            .ok()
            .or_else(|| text.parse::<i64>().ok().map(i64::cast_unsigned))?,
    };
    if bits & 0x0020_0000_0000_0000 != 0 {
        Some("success")
    } else if bits & 0x0010_0000_0000_0000 != 0 {
        Some("failure")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_windows_values() {
        assert_eq!(pid("0xef0"), Some(0xef0));
        assert_eq!(pid("2008"), Some(2008));
        assert_eq!(pid("-"), None);
        assert_eq!(ip("::ffff:10.0.0.5"), "10.0.0.5".parse().ok());
        assert_eq!(ip("fe80::1"), "fe80::1".parse().ok());
        assert_eq!(ip("-"), None);
        assert_eq!(port("0"), None);
        assert_eq!(port("445"), Some(445));
        assert_eq!(
            split_user("NT AUTHORITY\\SYSTEM"),
            (Some("NT AUTHORITY".into()), Some("SYSTEM".into()))
        );
        assert_eq!(split_user("alice"), (None, Some("alice".into())));
        assert_eq!(
            basename("C:\\Windows\\System32\\cmd.exe").as_deref(),
            Some("cmd.exe")
        );
        assert_eq!(transport("6").as_deref(), Some("tcp"));
        assert_eq!(transport("tcp").as_deref(), Some("tcp"));
    }

    #[test]
    fn reads_hash_lists_and_keywords() {
        let list = hash_list("SHA1=AB,MD5=CD,SHA256=EF,IMPHASH=12");
        assert_eq!(list.len(), 4);
        let mut hashes = Hashes::default();
        fill_hashes(&mut hashes, &list);
        assert_eq!(hashes.sha256.as_deref(), Some("ef"));
        assert_eq!(audit_outcome("0x8020000000000000"), Some("success"));
        assert_eq!(audit_outcome("0x8010000000000000"), Some("failure"));
        assert_eq!(audit_outcome("-9214364837600034816"), Some("success"));
        assert_eq!(audit_outcome("0x0"), None);
    }
}
