//! Column encodings: times, positions, formats, ids and flow features.
//!
//! Every encoding here is documented in `docs/formats/store.md` and is part of the on-disk
//! format: changing one needs a migration.

use chrono::{DateTime, Utc};
use rampart_core::{FeatureRecord, FeatureValue, Format, Id, IdKind, Position};
use rusqlite::types::{ToSqlOutput, ValueRef};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap as _, SerializeSeq as _, SerializeStruct as _, Serializer};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A time as nanoseconds since the Unix epoch; `None` outside 1677–2262.
pub(super) fn nanos(time: DateTime<Utc>) -> Option<i64> {
    time.timestamp_nanos_opt()
}

/// Like [`nanos`], for times that must be stored exactly (ingest and run times).
pub(super) fn exact_nanos(time: DateTime<Utc>, what: &'static str) -> Result<i64, StoreError> {
    nanos(time).ok_or_else(|| StoreError::Encode {
        what,
        reason: format!("time `{time}` is outside the years 1677 to 2262"),
    })
}

/// The inverse of [`nanos`].
pub(super) const fn time(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

/// Reinterprets a `u64` as `SQLite`'s signed 64-bit integer without loss (values above
/// `i64::MAX` become negative); positions from untrusted input may use all 64 bits.
pub(super) const fn u64_to_sql(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

/// The inverse of [`u64_to_sql`].
pub(super) const fn u64_from_sql(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

/// A position as (kind code, value).
pub(super) const fn position_to_sql(position: Position) -> (i64, i64) {
    match position {
        Position::Line(n) => (1, u64_to_sql(n)),
        Position::Offset(n) => (2, u64_to_sql(n)),
        Position::Index(n) => (3, u64_to_sql(n)),
        Position::Record(n) => (4, u64_to_sql(n)),
    }
}

/// The inverse of [`position_to_sql`].
pub(super) fn position_from_sql(kind: i64, value: i64) -> Result<Position, StoreError> {
    let value = u64_from_sql(value);
    match kind {
        1 => Ok(Position::Line(value)),
        2 => Ok(Position::Offset(value)),
        3 => Ok(Position::Index(value)),
        4 => Ok(Position::Record(value)),
        other => Err(corrupt(
            "position",
            format!("unknown position kind `{other}`"),
        )),
    }
}

/// A format's stable code.
pub(super) const fn format_code(format: Format) -> i64 {
    match format {
        Format::Ecs => 1,
        Format::Ocsf => 2,
        Format::SuricataEve => 3,
        Format::Zeek => 4,
        Format::WindowsJson => 5,
        Format::Evtx => 6,
        Format::FlowCsv => 7,
        Format::Stix => 8,
    }
}

/// The inverse of [`format_code`].
pub(super) fn format_from_code(code: Option<i64>) -> Result<Option<Format>, StoreError> {
    code.map(|code| {
        Format::ALL
            .into_iter()
            .find(|format| format_code(*format) == code)
            .ok_or_else(|| corrupt("format", format!("unknown format code `{code}`")))
    })
    .transpose()
}

/// An id read back from a 16-byte blob.
pub(super) fn id_from_blob<K: IdKind>(blob: &[u8]) -> Result<Id<K>, StoreError> {
    <[u8; 16]>::try_from(blob)
        .map(Id::from_bytes)
        .map_err(|_| corrupt("id", format!("expected 16 bytes, found {}", blob.len())))
}

/// Binds already-serialized JSON as TEXT without copying or re-checking it: `serde_json`
/// writes valid UTF-8 only.
pub(super) fn json_text(bytes: &[u8]) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(bytes))
}

/// Serializes `value` as compact JSON into `buffer`, replacing its contents.
pub(super) fn write_json<T: Serialize + ?Sized>(
    buffer: &mut Vec<u8>,
    value: &T,
    what: &'static str,
) -> Result<(), StoreError> {
    buffer.clear();
    serde_json::to_writer(&mut *buffer, value).map_err(|error| StoreError::Encode {
        what,
        reason: error.to_string(),
    })
}

/// Parses stored JSON.
pub(super) fn read_json<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| corrupt(what, error.to_string()))
}

/// A [`StoreError::Corrupt`].
pub(super) fn corrupt(what: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: reason.into(),
    }
}

/// Flow features as stored: `{"layout": …, "values": [[name, value], …]}`, where a value is a
/// JSON number, a string (a category) or `{"non_finite": "NaN" | "inf" | "-inf"}`. Plain JSON
/// has no NaN or infinities, and features keep them as read.
pub(super) struct StoredFeatures<'a>(pub(super) &'a FeatureRecord);

impl Serialize for StoredFeatures<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Values<'a>(&'a [(String, FeatureValue)]);
        impl Serialize for Values<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
                for (name, value) in self.0 {
                    seq.serialize_element(&(name, StoredValue(value)))?;
                }
                seq.end()
            }
        }
        let mut record = serializer.serialize_struct("FeatureRecord", 2)?;
        record.serialize_field("layout", &self.0.layout)?;
        record.serialize_field("values", &Values(&self.0.values))?;
        record.end()
    }
}

struct StoredValue<'a>(&'a FeatureValue);

impl Serialize for StoredValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            FeatureValue::Number(n) if n.is_finite() => serializer.serialize_f64(*n),
            FeatureValue::Number(n) => {
                let name = if n.is_nan() {
                    "NaN"
                } else if n.is_sign_positive() {
                    "inf"
                } else {
                    "-inf"
                };
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("non_finite", name)?;
                map.end()
            }
            FeatureValue::Category(text) => serializer.serialize_str(text),
        }
    }
}

/// Reads features written by [`StoredFeatures`].
pub(super) fn read_features(bytes: &[u8]) -> Result<FeatureRecord, StoreError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Stored {
        layout: String,
        values: Vec<(String, OwnedValue)>,
    }
    let stored: Stored = read_json(bytes, "features")?;
    Ok(FeatureRecord {
        layout: stored.layout,
        values: stored
            .values
            .into_iter()
            .map(|(name, value)| (name, value.0))
            .collect(),
    })
}

struct OwnedValue(FeatureValue);

impl<'de> Deserialize<'de> for OwnedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = OwnedValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number, a string or {\"non_finite\": …}")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(OwnedValue(FeatureValue::Number(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        // JSON integers beyond 2^53 only arise from values that were f64 to begin with.
        #[expect(clippy::cast_precision_loss, reason = "the stored value was an f64")]
        Ok(OwnedValue(FeatureValue::Number(v as f64)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        #[expect(clippy::cast_precision_loss, reason = "the stored value was an f64")]
        Ok(OwnedValue(FeatureValue::Number(v as f64)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(OwnedValue(FeatureValue::Category(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(OwnedValue(FeatureValue::Category(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (key, name): (String, String) = map
            .next_entry()?
            .ok_or_else(|| de::Error::custom("empty non-finite number"))?;
        if key != "non_finite" || map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom("expected only `non_finite`"));
        }
        let number = match name.as_str() {
            "NaN" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => return Err(de::Error::custom(format!("unknown non-finite `{other}`"))),
        };
        Ok(OwnedValue(FeatureValue::Number(number)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom("a feature value is never a list"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_across_the_whole_u64_range() {
        for position in [
            Position::Line(1),
            Position::Offset(0),
            Position::Index(u64::MAX),
            Position::Record(1 << 63),
        ] {
            let (kind, value) = position_to_sql(position);
            assert_eq!(position_from_sql(kind, value).unwrap(), position);
        }
        assert!(position_from_sql(9, 0).is_err());
    }

    #[test]
    fn format_codes_are_distinct_and_round_trip() {
        for format in Format::ALL {
            assert_eq!(
                format_from_code(Some(format_code(format))).unwrap(),
                Some(format)
            );
        }
        assert_eq!(format_from_code(None).unwrap(), None);
        assert!(format_from_code(Some(99)).is_err());
    }

    #[test]
    fn features_keep_non_finite_numbers_and_exact_floats() {
        let record = FeatureRecord {
            layout: "cic-ids2017".into(),
            values: vec![
                ("Flow Bytes/s".into(), FeatureValue::Number(f64::NAN)),
                ("Flow Packets/s".into(), FeatureValue::Number(f64::INFINITY)),
                ("neg".into(), FeatureValue::Number(f64::NEG_INFINITY)),
                ("third".into(), FeatureValue::Number(0.1 + 0.2)),
                ("tiny".into(), FeatureValue::Number(5e-324)),
                ("count".into(), FeatureValue::Number(3.0)),
                ("big".into(), FeatureValue::Number(1e300)),
                ("proto".into(), FeatureValue::Category("tcp".into())),
            ],
        };
        let mut buffer = Vec::new();
        write_json(&mut buffer, &StoredFeatures(&record), "features").unwrap();
        let back = read_features(&buffer).unwrap();
        assert_eq!(back.layout, record.layout);
        for ((name, stored), (_, original)) in back.values.iter().zip(&record.values) {
            match (stored, original) {
                (FeatureValue::Number(a), FeatureValue::Number(b)) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{name}");
                }
                (a, b) => assert_eq!(a, b),
            }
        }
        assert!(
            read_features(br#"{"layout":"x","values":[["a",{"non_finite":"huge"}]]}"#).is_err()
        );
    }
}
