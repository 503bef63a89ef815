//! One reader per input format, and the helpers they share.
//!
//! # How a format plugs in
//!
//! A format is a module here with one entry point, called by [`read`] once per input whose
//! format was detected (or forced with `--format`):
//!
//! ```text
//! pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery))
//! ```
//!
//! It builds its [`RecordParser`] (an `Arc<dyn RecordParser>`, pure and `Send + Sync`: it
//! runs on parse workers), opens a [`RecordSink`] over `deliver` and runs a framer from
//! [`crate::frame`] into it, then calls [`RecordSink::finish`]. For a line or array format the
//! whole entry point is:
//!
//! ```text
//! let parser: Arc<dyn RecordParser> = Arc::new(SuricataEve::new(limits));
//! let mut sink = RecordSink::new(Arc::clone(&input.source), parser, limits, deliver);
//! frame::json_records(input, limits, &mut sink);
//! sink.finish();
//! ```
//!
//! Formats whose parser depends on a header (Zeek `#fields`, CSV) read lines themselves with
//! [`crate::frame::LineReader`] and call [`RecordSink::set_parser`] when the header changes.
//! One-document formats (STIX, EVTX) call [`crate::frame::whole_document`] and push one frame
//! per object or record they find in it ([`rampart_core::Position::Index`] or
//! [`rampart_core::Position::Record`]), or push the bad frame it returns.
//!
//! Rules every reader keeps:
//!
//! - framing never fails the run: bad bytes become [`crate::Frame::Bad`], a whole input that
//!   cannot be read becomes [`Delivery::Unreadable`] (see [`Delivery::unreadable`]);
//! - `parse` never panics and pushes at least one [`rampart_core::Ingested`] per record (an
//!   event, an intel object or a dead letter), so every record read is accounted for;
//! - JSON records go through [`parse_json`] (depth and field caps from [`Limits`]);
//! - fields without a typed ECS slot go to `attributes` under the format's prefix
//!   (`suricata.eve.*`, `zeek.<log>.*`, `winlog.*`); data-set labels go to
//!   [`rampart_core::GroundTruth`], never to attributes or features.
//!
//! Format detection lives in [`crate::detect`], not here.

mod ecs;
mod evtx;
mod flat_json;
mod flow_csv;
mod ocsf;
mod stix;
mod suricata;
mod windows;
mod zeek;

use std::net::IpAddr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use rampart_core::Format;
use serde_json::{Map, Value};

pub(crate) use crate::frame::{Input, RecordSink};
pub(crate) use crate::{Delivery, Limits, RecordParser};

/// Reads one input of `format`, delivering batches of frames with their parser.
pub(crate) fn read(
    format: Format,
    input: &mut Input<'_>,
    limits: &Limits,
    deliver: &mut dyn FnMut(Delivery),
) {
    match format {
        Format::Ecs => ecs::read(input, limits, deliver),
        Format::Ocsf => ocsf::read(input, limits, deliver),
        Format::SuricataEve => suricata::read(input, limits, deliver),
        Format::Zeek => zeek::read(input, limits, deliver),
        Format::WindowsJson => windows::read(input, limits, deliver),
        Format::Evtx => evtx::read(input, limits, deliver),
        Format::FlowCsv => flow_csv::read(input, limits, deliver),
        Format::Stix => stix::read(input, limits, deliver),
    }
}

/// Parses one JSON record, enforcing [`Limits::max_json_depth`] and [`Limits::max_fields`].
///
/// The error is the dead-letter reason.
pub(crate) fn parse_json(bytes: &[u8], limits: &Limits) -> Result<Value, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|error| format!("invalid JSON: {error}"))?;
    let mut fields = 0usize;
    check_shape(&value, 1, limits, &mut fields)?;
    Ok(value)
}

/// Parses one JSON record that must be an object (most telemetry formats).
pub(crate) fn parse_json_object(
    bytes: &[u8],
    limits: &Limits,
) -> Result<Map<String, Value>, String> {
    match parse_json(bytes, limits)? {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "expected a JSON object, found {}",
            json_kind(&other)
        )),
    }
}

/// The JSON type name of a value, for error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn check_shape(
    value: &Value,
    depth: usize,
    limits: &Limits,
    fields: &mut usize,
) -> Result<(), String> {
    if depth > limits.max_json_depth {
        return Err(format!(
            "JSON nesting deeper than {} levels (`max_json_depth`)",
            limits.max_json_depth
        ));
    }
    match value {
        Value::Object(map) => {
            *fields += map.len();
            if *fields > limits.max_fields {
                return Err(format!(
                    "more than {} fields in one record (`max_fields`)",
                    limits.max_fields
                ));
            }
            map.values()
                .try_for_each(|child| check_shape(child, depth + 1, limits, fields))
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|child| check_shape(child, depth + 1, limits, fields)),
        _ => Ok(()),
    }
}

/// Parses the timestamps telemetry writes: RFC 3339 (`2018-03-24T14:37:19.037299Z`), ISO 8601
/// with a colon-less offset (Suricata's `2018-03-24T14:37:19.037299-0600`), and offset-less
/// date-times taken as UTC (`2019-05-18 20:04:35.123`).
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(time) = iso8601_fast(text.as_bytes()) {
        return Some(time);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(time) = DateTime::<FixedOffset>::parse_from_str(text, pattern) {
            return Some(time.with_timezone(&Utc));
        }
    }
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, pattern) {
            return Some(time.and_utc());
        }
    }
    None
}

/// The common ISO 8601 shapes without chrono's format interpreter, which dominates parse
/// time on Suricata records: `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]`. Anything
/// else (and any out-of-range field) is left to the general parsers.
fn iso8601_fast(text: &[u8]) -> Option<DateTime<Utc>> {
    fn digits(text: &[u8], from: usize, count: usize) -> Option<u32> {
        let slice = text.get(from..from + count)?;
        slice.iter().try_fold(0u32, |acc, &byte| {
            byte.is_ascii_digit()
                .then(|| acc * 10 + u32::from(byte - b'0'))
        })
    }
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators
        .iter()
        .any(|&(at, byte)| text.get(at) != Some(&byte))
        || !matches!(text.get(10), Some(b'T' | b' '))
    {
        return None;
    }
    let year = i32::try_from(digits(text, 0, 4)?).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, digits(text, 5, 2)?, digits(text, 8, 2)?)?;
    let (hour, minute, second) = (
        digits(text, 11, 2)?,
        digits(text, 14, 2)?,
        digits(text, 17, 2)?,
    );
    let mut at = 19;
    let mut nanos = 0u32;
    if text.get(at) == Some(&b'.') {
        at += 1;
        let mut scale = 100_000_000u32;
        let start = at;
        while let Some(&byte) = text.get(at).filter(|byte| byte.is_ascii_digit()) {
            nanos += u32::from(byte - b'0') * scale;
            scale /= 10;
            at += 1;
        }
        if at == start {
            return None;
        }
    }
    let offset_seconds: i32 = match text.get(at..)? {
        b"" | b"Z" | b"z" => 0,
        zone => {
            let sign = match zone.first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = match zone.len() {
                6 if zone.get(3) == Some(&b':') => (digits(zone, 1, 2)?, digits(zone, 4, 2)?),
                5 => (digits(zone, 1, 2)?, digits(zone, 3, 2)?),
                3 => (digits(zone, 1, 2)?, 0),
                _ => return None,
            };
            sign * i32::try_from(hours * 3600 + minutes * 60).ok()?
        }
    };
    let time = chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let local = date.and_time(time);
    let utc = local.checked_sub_signed(chrono::TimeDelta::seconds(i64::from(offset_seconds)))?;
    Some(utc.and_utc())
}

/// Converts fractional Unix seconds (Zeek's `ts`) to a UTC time.
pub(crate) fn unix_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    let whole = seconds.floor();
    // Zeek writes microseconds; rounding to them undoes the binary float's representation
    // error (`.636514` is stored as `.63651394…`).
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "saturating casts; chrono rejects out-of-range seconds and the fraction is below one second"
    )]
    let (secs, micros) = (whole as i64, ((seconds - whole) * 1e6).round() as u32);
    DateTime::from_timestamp(secs, micros.min(999_999) * 1000)
}

/// Seconds (Zeek intervals, flow durations) as nanoseconds, for `event.duration`.
pub(crate) fn seconds_to_nanos(seconds: f64) -> Option<i64> {
    let nanos = seconds * 1e9;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "range is checked first; sub-nanosecond precision is noise"
    )]
    (0.0..9.2e18).contains(&nanos).then(|| nanos.round() as i64)
}

/// Flattens a JSON object into `attributes` under `prefix` (`suricata.eve.alert.gid`), leaving
/// arrays as values. Keys in `skip` (top-level keys already mapped to ECS) are left out.
pub(crate) fn flatten_attributes(
    out: &mut Map<String, Value>,
    prefix: &str,
    object: Map<String, Value>,
    skip: &[&str],
) {
    let mut flat = std::collections::BTreeMap::new();
    for (key, value) in object {
        if skip.contains(&key.as_str()) {
            continue;
        }
        rampart_core::flatten_into(&mut flat, format!("{prefix}.{key}"), value);
    }
    out.extend(flat);
}

/// Reads typed values out of a JSON object, turning a present-but-wrong value into the
/// dead-letter reason (absent or `null` is `Ok(None)`: formats omit what they do not know).
pub(crate) struct Fields<'m>(pub(crate) &'m Map<String, Value>);

impl<'m> Fields<'m> {
    /// The value at `key`, unless absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<&'m Value> {
        self.0.get(key).filter(|value| !value.is_null())
    }

    /// A string value (numbers and booleans are rendered as text).
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }

    /// A string value, borrowed.
    pub(crate) fn str(&self, key: &str) -> Option<&'m str> {
        self.get(key).and_then(Value::as_str)
    }

    /// An unsigned integer, from a JSON number or a decimal string.
    pub(crate) fn u64(&self, key: &str) -> Result<Option<u64>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not a non-negative integer: `{value}`"))
    }

    /// A signed integer, from a JSON number or a decimal string.
    pub(crate) fn i64(&self, key: &str) -> Result<Option<i64>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not an integer: `{value}`"))
    }

    /// A TCP/UDP port.
    pub(crate) fn port(&self, key: &str) -> Result<Option<u16>, String> {
        match self.u64(key) {
            Ok(Some(port)) => u16::try_from(port)
                .map(Some)
                .map_err(|_| format!("`{key}` is not a port: `{port}`")),
            Ok(None) => Ok(None),
            Err(_) => Err(format!(
                "`{key}` is not a port: `{}`",
                self.get(key).map(ToString::to_string).unwrap_or_default()
            )),
        }
    }

    /// An IP address (IPv6 zone suffixes such as `%eth0` are dropped).
    pub(crate) fn ip(&self, key: &str) -> Result<Option<IpAddr>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        value
            .as_str()
            .and_then(parse_ip)
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not an IP address: `{value}`"))
    }

    /// A date-time in one of the forms [`parse_timestamp`] accepts.
    pub(crate) fn timestamp(&self, key: &str) -> Result<Option<DateTime<Utc>>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        value
            .as_str()
            .and_then(parse_timestamp)
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not a date-time: `{value}`"))
    }
}

/// Parses an IP address, dropping an IPv6 zone (`fe80::1%eth0`).
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text.split_once('%').map_or(text, |(address, _)| address);
    text.parse().ok()
}

/// The lowercase form of a protocol name, or `None` for placeholders.
pub(crate) fn protocol_name(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty()
        || text == "-"
        || text.eq_ignore_ascii_case("unknown")
        || text.eq_ignore_ascii_case("failed")
    {
        return None;
    }
    Some(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn fast_timestamps_agree_with_chrono(
            seconds in -60_000_000_000i64..250_000_000_000,
            nanos in 0u32..1_000_000_000,
            offset_minutes in -1439i32..1440,
            shape in 0usize..4,
        ) {
            let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let time = DateTime::from_timestamp(seconds, nanos).unwrap().with_timezone(&offset);
            let text = match shape {
                0 => time.format("%Y-%m-%dT%H:%M:%S%.f%z").to_string(),
                1 => time.format("%Y-%m-%dT%H:%M:%S%.f%:z").to_string(),
                2 => time.format("%Y-%m-%d %H:%M:%S%.6f%z").to_string(),
                _ => time.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string(),
            };
            let fast = iso8601_fast(text.as_bytes());
            let micros_only = shape == 2;
            let expected = if micros_only {
                DateTime::from_timestamp(seconds, nanos / 1000 * 1000)
            } else {
                Some(time.with_timezone(&Utc))
            };
            proptest::prop_assert_eq!(fast, expected, "{}", text);
        }

        #[test]
        fn timestamp_parsing_never_panics(text in ".{0,40}") {
            let _ = parse_timestamp(&text);
        }
    }

    #[test]
    fn parses_suricata_offsets_and_rfc3339() {
        let suricata = parse_timestamp("2018-03-24T14:37:19.037299-0600").unwrap();
        assert_eq!(suricata.to_rfc3339(), "2018-03-24T20:37:19.037299+00:00");
        let rfc = parse_timestamp("2018-03-24T20:37:19.037299Z").unwrap();
        assert_eq!(rfc, suricata);
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn json_caps_reject_deep_and_wide_records() {
        let limits = Limits {
            max_json_depth: 3,
            max_fields: 3,
            ..Limits::default()
        };
        assert!(parse_json(br#"{"a":{"b":1}}"#, &limits).is_ok());
        assert!(
            parse_json(br#"{"a":{"b":{"c":[1]}}}"#, &limits)
                .unwrap_err()
                .contains("max_json_depth")
        );
        assert!(
            parse_json(br#"{"a":1,"b":2,"c":3,"d":4}"#, &limits)
                .unwrap_err()
                .contains("max_fields")
        );
    }

    #[test]
    fn unix_seconds_keep_microseconds() {
        let time = unix_seconds(1_547_688_796.636_514).unwrap();
        assert_eq!(time.timestamp(), 1_547_688_796);
        assert_eq!(time.timestamp_subsec_micros(), 636_514);
        assert!(unix_seconds(f64::NAN).is_none());
    }
}
