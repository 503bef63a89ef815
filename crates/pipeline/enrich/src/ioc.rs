//! Plain IOC lists: CSV with a header (abuse.ch Feodo Tracker and similar feeds) or text with
//! one indicator per line. `#` starts a comment line. Each value's kind is recognised from
//! its shape: an IPv4/IPv6 address or CIDR block, an MD5/SHA-1/SHA-256 hash (32/40/64 hex
//! digits), a URL (`scheme://`), an email address, or a domain name.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::net::IpNet;

/// Lines longer than this are refused (bounded work on hostile input).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What kind of value an IOC is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IocKind {
    Ip(IpNet),
    Domain(String),
    Url(String),
    Email(String),
    Md5(String),
    Sha1(String),
    Sha256(String),
}

impl IocKind {
    /// Recognises a value's kind from its shape.
    pub(crate) fn classify(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.is_empty() || value.chars().any(char::is_whitespace) {
            return None;
        }
        if let Some(net) = IpNet::parse(value) {
            return Some(Self::Ip(net));
        }
        if value.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hex = value.to_ascii_lowercase();
            return match value.len() {
                32 => Some(Self::Md5(hex)),
                40 => Some(Self::Sha1(hex)),
                64 => Some(Self::Sha256(hex)),
                _ => None,
            };
        }
        if value.contains("://") {
            return Some(Self::Url(value.to_owned()));
        }
        if let Some((local, domain)) = value.rsplit_once('@') {
            return (!local.is_empty() && is_domain(domain))
                .then(|| Self::Email(value.to_lowercase()));
        }
        let domain = value.trim_end_matches('.').to_lowercase();
        is_domain(&domain).then_some(Self::Domain(domain))
    }

    /// The STIX pattern that matches this value.
    pub(crate) fn pattern(&self) -> String {
        let quote = |text: &str| text.replace('\\', "\\\\").replace('\'', "\\'");
        match self {
            Self::Ip(net) => {
                let family = if net.to_string().contains(':') {
                    "ipv6-addr"
                } else {
                    "ipv4-addr"
                };
                format!("[{family}:value = '{net}']")
            }
            Self::Domain(d) => format!("[domain-name:value = '{}']", quote(d)),
            Self::Url(u) => format!("[url:value = '{}']", quote(u)),
            Self::Email(e) => format!("[email-addr:value = '{}']", quote(e)),
            Self::Md5(h) => format!("[file:hashes.MD5 = '{h}']"),
            Self::Sha1(h) => format!("[file:hashes.'SHA-1' = '{h}']"),
            Self::Sha256(h) => format!("[file:hashes.'SHA-256' = '{h}']"),
        }
    }

    /// The value as text.
    pub(crate) fn value(&self) -> String {
        match self {
            Self::Ip(net) => net.to_string(),
            Self::Domain(v)
            | Self::Url(v)
            | Self::Email(v)
            | Self::Md5(v)
            | Self::Sha1(v)
            | Self::Sha256(v) => v.clone(),
        }
    }
}

fn is_domain(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    labels.len() >= 2
        && text.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80)
        })
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().any(|b| !b.is_ascii_digit()))
}

/// One entry of an IOC list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IocEntry {
    /// 1-based line number.
    pub(crate) line: usize,
    pub(crate) kind: IocKind,
    /// A name from the feed (`malware` column), if any.
    pub(crate) name: Option<String>,
    pub(crate) first_seen: Option<DateTime<Utc>>,
    pub(crate) last_seen: Option<DateTime<Utc>>,
    pub(crate) confidence: Option<u8>,
}

/// A parsed IOC list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IocList {
    pub(crate) entries: Vec<IocEntry>,
    /// Bad lines: line number and reason.
    pub(crate) errors: Vec<(usize, String)>,
    /// The feed's own version, from a `# Last updated: …` comment.
    pub(crate) version: Option<String>,
}

/// Column names read from CSV headers.
const VALUE_COLUMNS: [&str; 20] = [
    "dst_ip",
    "ip",
    "ip_address",
    "ipaddress",
    "ioc",
    "ioc_value",
    "indicator",
    "value",
    "domain",
    "hostname",
    "host",
    "url",
    "md5",
    "md5_hash",
    "sha1",
    "sha1_hash",
    "sha256",
    "sha256_hash",
    "hash",
    "email",
];
const FIRST_SEEN_COLUMNS: [&str; 5] = [
    "first_seen_utc",
    "first_seen",
    "firstseen",
    "dateadded",
    "date_added",
];
const LAST_SEEN_COLUMNS: [&str; 4] = ["last_online", "last_seen", "lastseen", "last_seen_utc"];
const NAME_COLUMNS: [&str; 4] = ["malware", "malware_printable", "threat", "name"];
const CONFIDENCE_COLUMNS: [&str; 3] = ["confidence", "confidence_level", "score"];

fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => Ok(record.iter().map(|f| f.trim().to_owned()).collect()),
        Some(Err(err)) => Err(format!("not a CSV row: {err}")),
        None => Ok(Vec::new()),
    }
}

fn find(header: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|name| header.iter().position(|h| h.eq_ignore_ascii_case(name)))
}

/// Reads a timestamp as feeds write it: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or a date.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_end_matches(" UTC");
    if text.is_empty() {
        return None;
    }
    text.parse::<DateTime<Utc>>()
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

struct Columns {
    value: usize,
    first_seen: Option<usize>,
    last_seen: Option<usize>,
    name: Option<usize>,
    confidence: Option<usize>,
}

/// Parses an IOC list's text. Never fails as a whole: bad lines are reported one by one.
pub(crate) fn parse(text: &str) -> IocList {
    let mut list = IocList::default();
    let mut columns: Option<Columns> = None;
    let mut first_row = true;
    for (n, line) in text.lines().enumerate() {
        let number = n + 1;
        let line = line.trim().trim_start_matches('\u{feff}');
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if let Some(date) = comment.strip_prefix("Last updated:") {
                list.version
                    .get_or_insert_with(|| date.trim().trim_end_matches('#').trim().to_owned());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            list.errors.push((
                number,
                format!(
                    "line of {} bytes exceeds the cap of {MAX_LINE_BYTES}",
                    line.len()
                ),
            ));
            continue;
        }
        let fields = if line.contains(',') || line.contains('"') {
            match split_csv(line) {
                Ok(fields) => fields,
                Err(reason) => {
                    list.errors.push((number, reason));
                    continue;
                }
            }
        } else {
            vec![line.to_owned()]
        };
        if first_row {
            first_row = false;
            if let Some(value) = find(&fields, &VALUE_COLUMNS) {
                columns = Some(Columns {
                    value,
                    first_seen: find(&fields, &FIRST_SEEN_COLUMNS),
                    last_seen: find(&fields, &LAST_SEEN_COLUMNS),
                    name: find(&fields, &NAME_COLUMNS),
                    confidence: find(&fields, &CONFIDENCE_COLUMNS),
                });
                continue;
            }
        }
        let field = |index: Option<usize>| {
            index
                .and_then(|i| fields.get(i))
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let value_index = columns.as_ref().map_or(0, |c| c.value);
        let Some(value) = field(Some(value_index)) else {
            list.errors
                .push((number, format!("no value in column {}", value_index + 1)));
            continue;
        };
        let Some(kind) = IocKind::classify(value) else {
            list.errors.push((
                number,
                format!("`{}` is not an IP address, CIDR block, hash, URL, email address or domain name", value.chars().take(200).collect::<String>()),
            ));
            continue;
        };
        let mut entry = IocEntry {
            line: number,
            kind,
            name: None,
            first_seen: None,
            last_seen: None,
            confidence: None,
        };
        if let Some(c) = &columns {
            entry.name = field(c.name).map(str::to_owned);
            entry.first_seen = field(c.first_seen).and_then(parse_time);
            entry.last_seen = field(c.last_seen).and_then(parse_time);
            if let Some(text) = field(c.confidence) {
                if let Some(confidence) = text.parse::<u8>().ok().filter(|c| *c <= 100) {
                    entry.confidence = Some(confidence);
                } else {
                    list.errors.push((
                        number,
                        format!("confidence `{text}` is not an integer 0–100"),
                    ));
                    continue;
                }
            }
        }
        list.entries.push(entry);
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_values_by_shape() {
        assert!(matches!(
            IocKind::classify("192.9.135.73"),
            Some(IocKind::Ip(_))
        ));
        assert!(matches!(
            IocKind::classify("10.0.0.0/8"),
            Some(IocKind::Ip(_))
        ));
        assert!(matches!(
            IocKind::classify("2001:db8::1"),
            Some(IocKind::Ip(_))
        ));
        assert_eq!(
            IocKind::classify("Evil.Example."),
            Some(IocKind::Domain("evil.example".into()))
        );
        assert!(matches!(
            IocKind::classify("http://x.example/a"),
            Some(IocKind::Url(_))
        ));
        assert!(matches!(
            IocKind::classify("a@b.example"),
            Some(IocKind::Email(_))
        ));
        assert!(matches!(
            IocKind::classify(&"a".repeat(32)),
            Some(IocKind::Md5(_))
        ));
        assert!(matches!(
            IocKind::classify(&"B".repeat(40)),
            Some(IocKind::Sha1(_))
        ));
        assert!(matches!(
            IocKind::classify(&"c".repeat(64)),
            Some(IocKind::Sha256(_))
        ));
        for bad in [
            "",
            "abc",
            "1.2.3",
            "has space.com",
            &"a".repeat(33),
            "@x.com",
            "10.0.0.0/40",
        ] {
            assert_eq!(IocKind::classify(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_feodo_style_csv_with_bad_rows() {
        let text = "# comment\n# Last updated: 2024-04-04 07:03:03 UTC      #\n\
\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
\"2023-05-23 17:51:44\",\"192.9.135.73\",\"1194\",\"online\",\"2024-04-01\",\"Pikabot\"\n\
\"2024-02-08 19:20:49\",\"not-an-ip!\",\"5000\",\"offline\",\"2024-03-11\",\"Pikabot\"\n\
# Number of entries: 2\n";
        let list = parse(text);
        assert_eq!(list.version.as_deref(), Some("2024-04-04 07:03:03 UTC"));
        assert_eq!(list.entries.len(), 1);
        let entry = &list.entries[0];
        assert_eq!(entry.line, 4);
        assert_eq!(entry.kind.value(), "192.9.135.73");
        assert_eq!(entry.name.as_deref(), Some("Pikabot"));
        assert_eq!(
            entry.first_seen.unwrap().to_rfc3339(),
            "2023-05-23T17:51:44+00:00"
        );
        assert_eq!(
            entry.last_seen.unwrap().to_rfc3339(),
            "2024-04-01T00:00:00+00:00"
        );
        assert_eq!(list.errors.len(), 1);
        assert_eq!(list.errors[0].0, 5);
        assert!(list.errors[0].1.contains("not-an-ip!"));
    }

    #[test]
    fn reads_plain_text_lists() {
        let list = parse("evil.example\n\n# x\n198.51.100.0/24\nnot valid\n");
        assert_eq!(list.entries.len(), 2);
        assert_eq!(list.errors, vec![(5, "`not valid` is not an IP address, CIDR block, hash, URL, email address or domain name".to_owned())]);
    }

    #[test]
    fn patterns_quote_values() {
        let kind = IocKind::Url("http://x.example/it's".into());
        let pattern = crate::Pattern::parse(&kind.pattern()).unwrap();
        assert!(pattern.as_str().contains("it\\'s"));
    }
}
