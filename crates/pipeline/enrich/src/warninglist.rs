//! MISP warninglists: known-benign values that suppress indicator matches.
//!
//! A list has a `type`: `cidr` (addresses inside any block), `hostname` (the name or any
//! subdomain of it), `string` (exact value, case-insensitive), `substring` (the value
//! contains an entry) or `regex`. `matching_attributes` says which MISP attribute kinds the
//! list applies to; they are mapped to Rampart's entity kinds (`ip-src`/`ip-dst` → IP,
//! `domain`/`hostname` → domain, `url`/`uri` → URL, hashes → file hash, `email-*` → e-mail address).
//! A list without `matching_attributes` applies to every kind its entries can name.

use std::collections::{HashMap, HashSet};

use rampart_core::{EntityKind, EntityRef};
use regex::Regex;
use serde::Deserialize;

use crate::net::{IpNet, PrefixMap};

/// Entries of a `regex` list are compiled with this size cap.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a match was suppressed: the list and the entry that matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Suppression {
    /// The warninglist's name.
    pub warninglist: String,
    /// The warninglist's version.
    pub version: String,
    /// The entry that matched (a CIDR block, a hostname, a string or a regex).
    pub entry: String,
    /// The observable that was on the list.
    pub observable: EntityRef,
}

/// The JSON shape of a MISP warninglist (`list.json`).
#[derive(Debug, Deserialize)]
pub(crate) struct WarninglistFile {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) version: Option<serde_json::Value>,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) list: Vec<String>,
    #[serde(default)]
    pub(crate) matching_attributes: Vec<String>,
}

/// How a list compares values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Cidr,
    Hostname,
    String,
    Substring,
    Regex,
}

/// One loaded list's identity.
#[derive(Debug, Clone)]
struct ListInfo {
    name: String,
    version: String,
    kinds: HashSet<EntityKind>,
}

/// Every loaded warninglist, indexed for lookups by value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Warninglists {
    lists: Vec<ListInfo>,
    cidr: PrefixMap<usize>,
    /// Hostname lists: a name and every parent domain are looked up.
    hostnames: HashMap<String, Vec<usize>>,
    /// String lists: exact values, lowercased.
    strings: HashMap<String, Vec<usize>>,
    /// Substring lists: few and short, scanned.
    substrings: Vec<(String, usize)>,
    regexes: Vec<(Regex, String, usize)>,
}

fn kinds_of(attributes: &[String], list: ListKind) -> HashSet<EntityKind> {
    let mut kinds = HashSet::new();
    for attribute in attributes {
        for part in attribute.split('|') {
            let kind = match part {
                "ip-src" | "ip-dst" | "ip" => EntityKind::Ip,
                "domain" | "hostname" => EntityKind::Domain,
                "url" | "uri" | "link" => EntityKind::Url,
                "md5" | "sha1" | "sha224" | "sha256" | "sha512" | "filename|md5" => {
                    EntityKind::FileHash
                }
                p if p.starts_with("email") || p.ends_with("-email") => EntityKind::Email,
                _ => continue,
            };
            kinds.insert(kind);
        }
    }
    if attributes.is_empty() {
        kinds.extend(match list {
            ListKind::Cidr => vec![EntityKind::Ip],
            _ => vec![
                EntityKind::Domain,
                EntityKind::Url,
                EntityKind::FileHash,
                EntityKind::Email,
                EntityKind::Ip,
            ],
        });
    }
    kinds
}

impl Warninglists {
    /// Adds a parsed list; returns how many entries were loaded and the entries that were not.
    pub(crate) fn add(
        &mut self,
        file: WarninglistFile,
    ) -> Result<(usize, Vec<(usize, String)>), String> {
        let kind = match file.kind.as_str() {
            "cidr" => ListKind::Cidr,
            "hostname" => ListKind::Hostname,
            "string" => ListKind::String,
            "substring" => ListKind::Substring,
            "regex" => ListKind::Regex,
            other => return Err(format!("unknown warninglist type `{other}`")),
        };
        let index = self.lists.len();
        let version = match &file.version {
            Some(serde_json::Value::String(v)) => v.clone(),
            Some(v) if !v.is_null() => v.to_string(),
            _ => String::new(),
        };
        self.lists.push(ListInfo {
            name: file.name,
            version,
            kinds: kinds_of(&file.matching_attributes, kind),
        });
        let mut loaded = 0;
        let mut errors = Vec::new();
        for (n, entry) in file.list.into_iter().enumerate() {
            let entry = entry.trim().to_owned();
            if entry.is_empty() {
                continue;
            }
            match kind {
                ListKind::Cidr => {
                    if let Some(net) = IpNet::parse(&entry) {
                        self.cidr.insert(net, index);
                    } else {
                        errors.push((n, format!("`{entry}` is not a CIDR block or address")));
                        continue;
                    }
                }
                ListKind::Hostname => self
                    .hostnames
                    .entry(
                        entry
                            .trim_start_matches("*.")
                            .trim_matches('.')
                            .to_lowercase(),
                    )
                    .or_default()
                    .push(index),
                ListKind::String => self
                    .strings
                    .entry(entry.to_lowercase())
                    .or_default()
                    .push(index),
                ListKind::Substring => self.substrings.push((entry.to_lowercase(), index)),
                ListKind::Regex => {
                    if let Ok(regex) = regex::RegexBuilder::new(&entry)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                    {
                        self.regexes.push((regex, entry, index));
                    } else {
                        errors.push((
                            n,
                            format!("`{entry}` is not a regular expression Rampart can compile"),
                        ));
                        continue;
                    }
                }
            }
            loaded += 1;
        }
        Ok((loaded, errors))
    }

    /// How many lists are loaded.
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
    }

    fn suppression(
        &self,
        list: usize,
        entry: String,
        observable: &EntityRef,
    ) -> Option<Suppression> {
        let info = self.lists.get(list)?;
        info.kinds.contains(&observable.kind).then(|| Suppression {
            warninglist: info.name.clone(),
            version: info.version.clone(),
            entry,
            observable: observable.clone(),
        })
    }

    /// The first list that holds the observable, if any.
    pub(crate) fn lookup(&self, observable: &EntityRef) -> Option<Suppression> {
        let value = observable.value.to_lowercase();
        if observable.kind == EntityKind::Ip
            && let Ok(ip) = value.parse()
        {
            for (net, list) in self.cidr.containing(ip) {
                if let Some(hit) = self.suppression(*list, net.to_string(), observable) {
                    return Some(hit);
                }
            }
        }
        // Hostname lists apply to domains and to the host part of URLs.
        let host = match observable.kind {
            EntityKind::Domain => Some(value.trim_end_matches('.').to_owned()),
            EntityKind::Url => crate::observed::url_host(&value),
            _ => None,
        };
        if let Some(host) = host {
            let mut name = host.as_str();
            loop {
                for list in self.hostnames.get(name).into_iter().flatten() {
                    if let Some(hit) = self.suppression(*list, name.to_owned(), observable) {
                        return Some(hit);
                    }
                }
                match name.split_once('.') {
                    Some((_, parent)) if !parent.is_empty() => name = parent,
                    _ => break,
                }
            }
            for list in self.strings.get(&host).into_iter().flatten() {
                if let Some(hit) = self.suppression(*list, host.clone(), observable) {
                    return Some(hit);
                }
            }
        }
        for list in self.strings.get(&value).into_iter().flatten() {
            if let Some(hit) = self.suppression(*list, value.clone(), observable) {
                return Some(hit);
            }
        }
        for (entry, list) in &self.substrings {
            if value.contains(entry.as_str())
                && let Some(hit) = self.suppression(*list, entry.clone(), observable)
            {
                return Some(hit);
            }
        }
        for (regex, entry, list) in &self.regexes {
            if regex.is_match(&observable.value)
                && let Some(hit) = self.suppression(*list, entry.clone(), observable)
            {
                return Some(hit);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(kind: &str, entries: &[&str], attributes: &[&str]) -> WarninglistFile {
        WarninglistFile {
            name: format!("test {kind}"),
            version: Some(serde_json::json!(3)),
            kind: kind.into(),
            list: entries.iter().map(|e| (*e).to_owned()).collect(),
            matching_attributes: attributes.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    #[test]
    fn each_list_type_matches_its_way() {
        let mut lists = Warninglists::default();
        lists
            .add(list(
                "cidr",
                &["10.0.0.0/8", "bogus"],
                &["ip-src", "ip-dst"],
            ))
            .unwrap();
        lists
            .add(list(
                "hostname",
                &["example.com"],
                &["hostname", "domain", "url"],
            ))
            .unwrap();
        lists.add(list("string", &["bit.ly"], &["domain"])).unwrap();
        lists
            .add(list("substring", &["sinkhole"], &["domain"]))
            .unwrap();
        let ip = |v: &str| EntityRef::new(EntityKind::Ip, v);
        let domain = |v: &str| EntityRef::new(EntityKind::Domain, v);
        let hit = lists.lookup(&ip("10.1.2.3")).unwrap();
        assert_eq!(
            (
                hit.warninglist.as_str(),
                hit.entry.as_str(),
                hit.version.as_str()
            ),
            ("test cidr", "10.0.0.0/8", "3")
        );
        assert!(lists.lookup(&ip("11.1.2.3")).is_none());
        assert_eq!(
            lists.lookup(&domain("www.Example.com")).unwrap().entry,
            "example.com"
        );
        assert!(lists.lookup(&domain("notexample.com")).is_none());
        assert!(
            lists
                .lookup(&EntityRef::new(EntityKind::Url, "https://a.example.com/x"))
                .is_some()
        );
        assert!(lists.lookup(&domain("bit.ly")).is_some());
        assert!(lists.lookup(&domain("x.bit.ly")).is_none());
        assert!(lists.lookup(&domain("dns.sinkhole.org")).is_some());
        // A list for addresses does not apply to a domain, nor the reverse.
        assert!(
            lists
                .lookup(&EntityRef::new(EntityKind::FileHash, "bit.ly"))
                .is_none()
        );
    }

    #[test]
    fn bad_entries_and_types_are_reported() {
        let mut lists = Warninglists::default();
        let (loaded, errors) = lists
            .add(list("cidr", &["10.0.0.0/8", "10.0.0.0/99"], &[]))
            .unwrap();
        assert_eq!(loaded, 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].1.contains("10.0.0.0/99"));
        assert!(lists.add(list("glob", &["x"], &[])).is_err());
    }
}
