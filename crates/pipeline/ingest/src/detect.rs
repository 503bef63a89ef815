//! Format detection from an input's first bytes.
//!
//! Detection looks at content, never at file names alone: the magic of binary formats, the
//! header lines of Zeek TSV, the keys of the first JSON record (the first line, the first
//! element of an array, or the first document), and the header or shape of the first CSV row.
//! Inputs Rampart recognises but does not read (Linux auditd, AWS `CloudTrail`) and inputs
//! nothing matches get a reason that starts with `unsupported format`, which the caller turns
//! into a dead letter.
//!
//! ```
//! use rampart_core::Format;
//! use rampart_ingest::detect::{Detection, detect};
//!
//! let eve = br#"{"timestamp":"2018-03-24T14:37:19.037299-0600","event_type":"alert"}"#;
//! assert_eq!(detect(eve), Detection::Format(Format::SuricataEve));
//! let auditd = b"type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59";
//! assert!(matches!(detect(auditd), Detection::Unsupported(reason) if reason.starts_with("unsupported format")));
//! ```

use rampart_core::Format;
use serde_json::{Map, Value};

/// How many leading bytes of an input detection looks at.
pub const HEAD_BYTES: usize = 64 * 1024;

/// The magic that starts an EVTX file.
pub const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// What detection concluded about an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// A format Rampart reads.
    Format(Format),
    /// Nothing to read: the input is empty or blank.
    Empty,
    /// A format Rampart does not read; the reason starts with `unsupported format`.
    Unsupported(String),
}

/// Detects the format of an input from its first bytes (up to [`HEAD_BYTES`]).
pub fn detect(head: &[u8]) -> Detection {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.starts_with(EVTX_MAGIC) {
        return Detection::Format(Format::Evtx);
    }
    let start = head.iter().position(|byte| !byte.is_ascii_whitespace());
    let Some(start) = start else {
        return Detection::Empty;
    };
    let text = head.get(start..).unwrap_or_default();
    if looks_binary(text) {
        return unsupported("binary data that is not an EVTX file");
    }
    if text.starts_with(b"#separator") || text.starts_with(b"#fields") {
        return Detection::Format(Format::Zeek);
    }
    match text.first() {
        Some(b'{' | b'[') => detect_json(text),
        _ => detect_text(text),
    }
}

fn unsupported(what: &str) -> Detection {
    Detection::Unsupported(format!("unsupported format: {what}"))
}

/// Binary data: NUL bytes, or mostly control bytes, in the first line (at most a kilobyte).
/// Later lines do not count: a text log with one damaged line is still a text log, and its
/// reader turns that line into a dead letter.
fn looks_binary(text: &[u8]) -> bool {
    let sample = text.get(..1024).unwrap_or(text);
    let sample =
        memchr::memchr(b'\n', sample).map_or(sample, |end| sample.get(..end).unwrap_or(sample));
    if sample.contains(&0) {
        return true;
    }
    let control = sample
        .iter()
        .filter(|&&byte| byte < 0x20 && !matches!(byte, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    control * 10 > sample.len()
}

fn detect_json(text: &[u8]) -> Detection {
    let first = if text.first() == Some(&b'[') {
        first_array_element(text).and_then(|element| serde_json::from_slice::<Value>(element).ok())
    } else {
        first_line_or_document(text)
    };
    match first {
        Some(Value::Object(object)) => classify_object(&object),
        Some(other) => unsupported(&format!(
            "JSON whose first record is {} rather than an object",
            crate::formats::json_kind(&other)
        )),
        None => sniff_keys(text),
    }
}

/// The first JSON value: the first line if it is a whole value (NDJSON), else the first
/// document of the head (pretty-printed JSON).
fn first_line_or_document(text: &[u8]) -> Option<Value> {
    let line_end = memchr::memchr(b'\n', text).unwrap_or(text.len());
    if let Some(Ok(value)) = text.get(..line_end).map(serde_json::from_slice::<Value>) {
        return Some(value);
    }
    serde_json::Deserializer::from_slice(text)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
}

/// The bytes of the first element of a JSON array, if it ends inside `text`.
fn first_array_element(text: &[u8]) -> Option<&[u8]> {
    let body = text.get(1..)?;
    let start = body.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let element = body.get(start..)?;
    element.get(..crate::json_scan::bracketed_len(element)?)
}

/// When the first record does not end within the head (a huge pretty-printed bundle), look
/// for tell-tale key-value pairs in the raw text.
fn sniff_keys(text: &[u8]) -> Detection {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    let has = |needle: &[u8]| memchr::memmem::find(&compact, needle).is_some();
    if has(br#""type":"bundle""#) {
        Detection::Format(Format::Stix)
    } else if has(br#""event_type":"#) {
        Detection::Format(Format::SuricataEve)
    } else if has(br#""class_uid":"#) {
        Detection::Format(Format::Ocsf)
    } else if has(br#""System":{"#) && has(br#""Event":{"#) || has(br#""EventID":"#) {
        Detection::Format(Format::WindowsJson)
    } else if has(br#""ts":"#) && (has(br#""uid":"#) || has(br#""id.orig_h":"#)) {
        Detection::Format(Format::Zeek)
    } else {
        unsupported("JSON whose first record could not be parsed within the first 64 KiB")
    }
}

/// Classifies a JSON record by its keys.
fn classify_object(object: &Map<String, Value>) -> Detection {
    let has = |key: &str| object.contains_key(key);
    let is_object = |key: &str| object.get(key).is_some_and(Value::is_object);
    let str_of = |key: &str| object.get(key).and_then(Value::as_str);

    if str_of("type") == Some("bundle") {
        return Detection::Format(Format::Stix);
    }
    if str_of("type").is_some() && has("spec_version") && has("id") {
        return Detection::Format(Format::Stix);
    }
    if object
        .get("Event")
        .and_then(Value::as_object)
        .is_some_and(|event| event.contains_key("System"))
    {
        return Detection::Format(Format::WindowsJson);
    }
    if has("event_type") && has("timestamp") {
        return Detection::Format(Format::SuricataEve);
    }
    if has("ts") && (has("uid") || has("id.orig_h") || has("fuid") || has("_path")) {
        return Detection::Format(Format::Zeek);
    }
    if has("class_uid") && (has("category_uid") || has("metadata")) {
        return Detection::Format(Format::Ocsf);
    }
    if has("EventID")
        && (has("Channel") || has("SourceName") || has("Hostname") || has("ProviderName"))
    {
        return Detection::Format(Format::WindowsJson);
    }
    if has("eventVersion") && (has("eventSource") || has("awsRegion") || has("userIdentity")) {
        return unsupported("AWS CloudTrail JSON");
    }
    if has("@timestamp") {
        let groups = [
            "source",
            "destination",
            "host",
            "process",
            "user",
            "network",
            "file",
            "url",
            "dns",
            "agent",
        ];
        if is_object("ecs")
            || is_object("event")
            || groups.iter().filter(|g| is_object(g)).count() >= 2
        {
            return Detection::Format(Format::Ecs);
        }
    }
    let mut keys: Vec<&str> = object.keys().map(String::as_str).take(6).collect();
    keys.sort_unstable();
    unsupported(&format!(
        "JSON records with keys `{}` match no reader; force one with `--format`",
        keys.join("`, `")
    ))
}

fn detect_text(text: &[u8]) -> Detection {
    let line_end = memchr::memchr(b'\n', text).unwrap_or(text.len());
    let line = text.get(..line_end).unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r');
    if line.starts_with("type=") && line.contains(" msg=audit(") {
        return unsupported("Linux auditd log");
    }
    // Prose has commas too: only short, comma-separated cells look like a CSV row.
    let looks_csv = !line.starts_with('#')
        && line.split(',').count() >= 3
        && line.split(',').all(|cell| cell.len() <= 64);
    if looks_csv {
        if let Some(format) = detect_flow_csv(line) {
            return Detection::Format(format);
        }
        return unsupported(
            "CSV that matches none of the NSL-KDD, CIC-IDS2017 and UNSW-NB15 layouts",
        );
    }
    unsupported("text that matches no reader")
}

/// Flow CSV layouts: a CIC-IDS2017 or UNSW-NB15 header, or a headerless NSL-KDD row.
fn detect_flow_csv(line: &str) -> Option<Format> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let has = |name: &str| fields.iter().any(|field| field.eq_ignore_ascii_case(name));
    let cic = has("Flow Duration") && (has("Label") || has("Dst Port") || has("Destination Port"));
    let unsw = has("sttl") && has("dttl") && (has("sbytes") || has("dbytes"));
    let nsl = matches!(fields.len(), 41..=43)
        && fields
            .get(1)
            .is_some_and(|proto| matches!(*proto, "tcp" | "udp" | "icmp"))
        && fields
            .first()
            .is_some_and(|duration| duration.parse::<f64>().is_ok());
    (cic || unsw || nsl).then_some(Format::FlowCsv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(bytes: &[u8]) -> Option<Format> {
        match detect(bytes) {
            Detection::Format(format) => Some(format),
            _ => None,
        }
    }

    #[test]
    fn detects_json_formats_by_keys() {
        assert_eq!(
            format(br#"{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1"}"#),
            Some(Format::Zeek)
        );
        assert_eq!(
            format(br#"{"class_uid":4001,"category_uid":4,"time":1}"#),
            Some(Format::Ocsf)
        );
        assert_eq!(
            format(br#"{"@timestamp":"2020-01-01T00:00:00Z","event":{"kind":"event"}}"#),
            Some(Format::Ecs)
        );
        assert_eq!(
            format(br#"{"@timestamp":"x","EventID":4688,"Hostname":"h","SourceName":"s"}"#),
            Some(Format::WindowsJson)
        );
        assert_eq!(
            format(br#"{"Event":{"System":{"EventID":1}}}"#),
            Some(Format::WindowsJson)
        );
        assert_eq!(
            format(b"{\n  \"type\": \"bundle\",\n  \"id\": \"bundle--1\",\n  \"objects\": []\n}"),
            Some(Format::Stix)
        );
        assert_eq!(
            format(b"[\n  {\n    \"timestamp\": \"t\",\n    \"event_type\": \"alert\"\n  }\n]"),
            Some(Format::SuricataEve)
        );
    }

    #[test]
    fn detects_text_and_binary_formats() {
        assert_eq!(
            format(b"#separator \\x09\n#set_separator\t,\n"),
            Some(Format::Zeek)
        );
        assert_eq!(format(b"ElfFile\0rest"), Some(Format::Evtx));
        assert_eq!(
            format(b"0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20\n"),
            Some(Format::FlowCsv)
        );
        assert_eq!(format(b"\xEF\xBB\xBFid,dur,proto,service,state,spkts,dpkts,sbytes,dbytes,rate,sttl,dttl\n"), Some(Format::FlowCsv));
        assert_eq!(detect(b"  \n\n"), Detection::Empty);
    }

    #[test]
    fn unsupported_inputs_say_so() {
        for input in [
            &b"type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e"[..],
            br#"{"eventVersion":"1.05","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1"}"#,
            b"\x00\x01\x02\x03binary",
            b"hello world",
            b"a,b,c\n1,2,3\n",
            b"[1,2,3]",
        ] {
            let Detection::Unsupported(reason) = detect(input) else {
                panic!("{input:?} should be unsupported");
            };
            assert!(reason.starts_with("unsupported format"), "{reason}");
        }
    }
}
