//! Zeek's TSV layout: header lines and typed columns.

use serde_json::{Map, Number, Value};

use super::{PARSER_ID, ZeekRecord, build, log_from_fields, push};
use crate::formats::{Limits, RecordParser};
use crate::{RawRecord, SourceInfo};
use rampart_core::{Format, Ingested};

/// The header state of a TSV log, updated by each `#` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    separator: Vec<u8>,
    set_separator: String,
    empty: String,
    unset: String,
    path: Option<String>,
    fields: Option<Vec<String>>,
    types: Vec<String>,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            separator: b"\t".to_vec(),
            set_separator: ",".to_owned(),
            empty: "(empty)".to_owned(),
            unset: "-".to_owned(),
            path: None,
            fields: None,
            types: Vec::new(),
        }
    }
}

impl Header {
    /// Applies one header line (`#separator \x09`, `#fields\tts\tuid…`, …). Unknown
    /// directives (`#open`, `#close`, comments) change nothing.
    pub(crate) fn apply(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']);
        let Some(text) = text.strip_prefix('#') else {
            return;
        };
        if let Some(value) = text.strip_prefix("separator") {
            // The separator line is the one header line that is space-separated.
            let separator = unescape(value.trim_start_matches([' ', '\t'])).into_bytes();
            self.separator = if separator.is_empty() {
                b"\t".to_vec()
            } else {
                separator
            };
            return;
        }
        let separator = String::from_utf8_lossy(&self.separator).into_owned();
        let (key, value) = text.split_once(separator.as_str()).unwrap_or((text, ""));
        match key {
            "set_separator" => self.set_separator = unescape(value),
            "empty_field" => self.empty = unescape(value),
            "unset_field" => self.unset = unescape(value),
            "path" => self.path = Some(value.to_owned()),
            "fields" => {
                self.fields = Some(value.split(separator.as_str()).map(str::to_owned).collect());
                self.types.clear();
            }
            "types" => self.types = value.split(separator.as_str()).map(str::to_owned).collect(),
            _ => {}
        }
    }

    /// The parser for rows under this header; `log` is the name the file name implies.
    pub(crate) fn parser(&self, log: Option<&str>, limits: &Limits) -> ZeekTsv {
        let columns = self.fields.as_ref().map(|fields| {
            fields
                .iter()
                .enumerate()
                .map(|(index, name)| Column {
                    names: name.split_whitespace().map(str::to_owned).collect(),
                    kind: self
                        .types
                        .get(index)
                        .map_or(Kind::Text, |kind| Kind::of(kind)),
                })
                .collect()
        });
        ZeekTsv {
            log: self.path.clone().or_else(|| log.map(str::to_owned)),
            columns,
            header: self.clone(),
            limits: limits.clone(),
        }
    }
}

/// Decodes Zeek's `\xHH` escapes.
fn unescape(text: &str) -> String {
    if !text.contains("\\x") {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte == b'\\' && bytes.get(at + 1) == Some(&b'x') {
            let hex = bytes.get(at + 2..at + 4).and_then(|digits| {
                std::str::from_utf8(digits)
                    .ok()
                    .and_then(|digits| u8::from_str_radix(digits, 16).ok())
            });
            if let Some(decoded) = hex {
                out.push(decoded);
                at += 4;
                continue;
            }
        }
        out.push(byte);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A column's Zeek type, as far as the JSON value it becomes is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `time`, `interval`, `double`: a float.
    Float,
    /// `count`, `port`: an unsigned integer.
    Count,
    /// `int`: a signed integer.
    Int,
    /// `bool`: `T` or `F`.
    Bool,
    /// `string`, `addr`, `subnet`, `enum` and anything else: text.
    Text,
    /// `set[T]`, `vector[T]`: a list.
    List(Box<Kind>),
}

impl Kind {
    fn of(name: &str) -> Self {
        if let Some(inner) = name
            .strip_prefix("set[")
            .or_else(|| name.strip_prefix("vector["))
            .and_then(|rest| rest.strip_suffix(']'))
        {
            return Self::List(Box::new(Self::of(inner)));
        }
        match name {
            "time" | "interval" | "double" => Self::Float,
            "count" | "port" => Self::Count,
            "int" => Self::Int,
            "bool" => Self::Bool,
            _ => Self::Text,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Float => "number",
            Self::Count => "non-negative integer",
            Self::Int => "integer",
            Self::Bool => "boolean (`T` or `F`)",
            Self::Text => "text",
            Self::List(_) => "list",
        }
    }
}

/// One column: its name (several for IoT-23's `tunnel_parents   label   detailed-label`)
/// and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    names: Vec<String>,
    kind: Kind,
}

/// Parses TSV rows under one header.
#[derive(Debug)]
pub(crate) struct ZeekTsv {
    log: Option<String>,
    columns: Option<Vec<Column>>,
    header: Header,
    limits: Limits,
}

impl RecordParser for ZeekTsv {
    fn format(&self) -> Format {
        Format::Zeek
    }

    fn parser_id(&self) -> &'static str {
        PARSER_ID
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        let result = self.row(&record.bytes);
        push(self, record, source, result, out);
    }
}

impl ZeekTsv {
    fn row(&self, bytes: &[u8]) -> Result<ZeekRecord, String> {
        let Some(columns) = &self.columns else {
            return Err("row before any `#fields` header; a Zeek TSV log starts with `#separator` and `#fields` lines".to_owned());
        };
        let values = split(bytes, &self.header.separator, self.limits.max_fields)?;
        if values.len() != columns.len() {
            return Err(format!(
                "row has {} columns but the `#fields` header names {}",
                values.len(),
                columns.len()
            ));
        }
        let mut object = Map::new();
        for (column, raw) in columns.iter().zip(values) {
            let text = String::from_utf8_lossy(raw);
            match column.names.as_slice() {
                [name] => {
                    if let Some(value) = self.value(name, &column.kind, &text)? {
                        object.insert(name.clone(), value);
                    }
                }
                names => {
                    // IoT-23 packs three columns into one, separated by runs of spaces.
                    for (name, part) in names.iter().zip(text.split_whitespace()) {
                        if let Some(value) = self.value(name, &Kind::Text, part)? {
                            object.insert(name.clone(), value);
                        }
                    }
                }
            }
        }
        let log = self
            .log
            .clone()
            .unwrap_or_else(|| log_from_fields(&object).to_owned());
        build(&log, object)
    }

    /// The typed value of one cell; `None` when it is unset.
    fn value(&self, name: &str, kind: &Kind, text: &str) -> Result<Option<Value>, String> {
        if text == self.header.unset {
            return Ok(None);
        }
        if text == self.header.empty {
            return Ok(match kind {
                Kind::List(_) => Some(Value::Array(Vec::new())),
                Kind::Text => Some(Value::String(String::new())),
                _ => None,
            });
        }
        let bad = || format!("`{name}` is not a {}: `{text}`", kind.name());
        let value = match kind {
            Kind::Float => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(bad)?,
            Kind::Count => text.parse::<u64>().map(Value::from).map_err(|_| bad())?,
            Kind::Int => text.parse::<i64>().map(Value::from).map_err(|_| bad())?,
            Kind::Bool => match text {
                "T" => Value::Bool(true),
                "F" => Value::Bool(false),
                _ => return Err(bad()),
            },
            Kind::Text => Value::String(unescape(text)),
            Kind::List(inner) => {
                let mut items = Vec::new();
                for item in text.split(self.header.set_separator.as_str()) {
                    if let Some(value) = self.value(name, inner, item)? {
                        items.push(value);
                    }
                }
                Value::Array(items)
            }
        };
        Ok(Some(value))
    }
}

/// Splits a row on the separator, refusing more than `max_fields` columns.
fn split<'b>(
    bytes: &'b [u8],
    separator: &[u8],
    max_fields: usize,
) -> Result<Vec<&'b [u8]>, String> {
    let mut values = Vec::new();
    let mut rest = bytes;
    loop {
        if values.len() >= max_fields {
            return Err(format!(
                "row has more than {max_fields} columns (`max_fields`)"
            ));
        }
        let found = if let [single] = separator {
            memchr::memchr(*single, rest)
        } else {
            memchr::memmem::find(rest, separator)
        };
        let Some(at) = found else {
            values.push(rest);
            return Ok(values);
        };
        values.push(rest.get(..at).unwrap_or_default());
        rest = rest.get(at + separator.len()..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(lines: &[&str]) -> Header {
        let mut header = Header::default();
        for line in lines {
            header.apply(line.as_bytes());
        }
        header
    }

    #[test]
    fn reads_separators_and_typed_columns() {
        let header = header(&[
            "#separator \\x09",
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            "#path\tconn",
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tproto\tduration\tlocal_orig\ttunnel_parents\torig_bytes",
            "#types\ttime\tstring\taddr\tport\tenum\tinterval\tbool\tset[string]\tcount",
        ]);
        let parser = header.parser(None, &Limits::default());
        let row = parser
            .row(b"1655071198.444458\tCHLX\t147.32.81.167\t62771\ttcp\t-\tT\t(empty)\t1596")
            .unwrap_or_else(|reason| panic!("{reason}"));
        assert_eq!(row.ecs.event.dataset.as_deref(), Some("zeek.conn"));
        assert_eq!(row.ecs.source.port, Some(62771));
        assert_eq!(
            row.attributes["zeek.conn.tunnel_parents"],
            serde_json::json!([])
        );
        assert_eq!(row.attributes["zeek.conn.local_orig"], true);
        assert!(!row.attributes.contains_key("zeek.conn.duration"));
        let wrong = parser
            .row(b"1.0\tC\t10.0.0.1\tnot-a-port\ttcp\t-\tT\t-\t1")
            .err()
            .unwrap();
        assert!(wrong.contains("id.orig_p"), "{wrong}");
        let short = parser.row(b"1.0\tC").err().unwrap();
        assert!(short.contains("columns"), "{short}");
    }

    #[test]
    fn splits_iot23_combined_label_column() {
        let header = header(&[
            "#separator \\x09",
            "#path\tconn",
            "#fields\tts\tuid\ttunnel_parents   label   detailed-label",
            "#types\ttime\tstring\tset[string]   string   string",
        ]);
        let parser = header.parser(None, &Limits::default());
        let row = parser
            .row(
                b"1525879831.015811\tCUmrqr4svHuSXJy5z7\t-   Malicious   PartOfAHorizontalPortScan",
            )
            .unwrap_or_else(|reason| panic!("{reason}"));
        let truth = row.ground_truth.unwrap();
        assert_eq!(truth.malicious, Some(true));
        assert_eq!(truth.category.as_deref(), Some("PartOfAHorizontalPortScan"));
        assert!(row.attributes.keys().all(|key| !key.contains("label")));
    }

    fn conn_parser() -> ZeekTsv {
        header(&[
            "#separator \\x09",
            "#path\tconn",
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_ip_bytes\tresp_ip_bytes\ttunnel_parents\tlabel\tdetailedlabel",
            "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tcount\tset[string]\tstring\tstring",
        ])
        .parser(None, &Limits::default())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_rows_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = conn_parser().row(&bytes);
            let mut header = Header::default();
            header.apply(&bytes);
            let _ = header.parser(Some("x"), &Limits::default()).row(&bytes);
        }

        #[test]
        fn conn_rows_round_trip(
            micros in 0u64..4_000_000_000_000_000,
            orig in proptest::prelude::any::<std::net::IpAddr>(),
            resp in proptest::prelude::any::<std::net::Ipv4Addr>(),
            ports in proptest::prelude::any::<(u16, u16)>(),
            bytes in proptest::prelude::any::<(u32, u32)>(),
            label in "Malicious|Benign|Background",
            detail in "[A-Za-z][A-Za-z-]{0,19}",
        ) {
            let ts = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
            let line = format!(
                "{ts}\tCx1\t{orig}\t{}\t{resp}\t{}\ttcp\t{}\t{}\t(empty)\t{label}\t{detail}",
                ports.0, ports.1, bytes.0, bytes.1
            );
            let row = conn_parser().row(line.as_bytes()).unwrap_or_else(|reason| panic!("{reason}: {line}"));
            let time = row.ecs.timestamp.unwrap();
            proptest::prop_assert_eq!(u64::try_from(time.timestamp()).unwrap() * 1_000_000 + u64::from(time.timestamp_subsec_micros()), micros);
            proptest::prop_assert_eq!(row.ecs.source.ip, Some(orig));
            proptest::prop_assert_eq!(row.ecs.destination.ip, Some(std::net::IpAddr::V4(resp)));
            proptest::prop_assert_eq!((row.ecs.source.port, row.ecs.destination.port), (Some(ports.0), Some(ports.1)));
            proptest::prop_assert_eq!(row.ecs.network.bytes, Some(u64::from(bytes.0) + u64::from(bytes.1)));
            let truth = row.ground_truth.unwrap();
            proptest::prop_assert_eq!(truth.label, label);
            proptest::prop_assert_eq!(truth.category, Some(detail));
            proptest::prop_assert!(row.attributes.keys().all(|key| !key.contains("label")));
        }
    }

    #[test]
    fn unescapes_hex() {
        assert_eq!(unescape("\\x09"), "\t");
        assert_eq!(unescape("a\\x2cb\\xZZ"), "a,b\\xZZ");
    }
}
