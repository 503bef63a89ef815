//! Parses a JSON object straight into dotted attribute paths, without building the value tree
//! first: `{"alert":{"gid":1}}` becomes `suricata.eve.alert.gid = 1` in one pass.
//!
//! Readers whose attributes are the record's own fields under a prefix (Suricata EVE) spend
//! most of their time building and then flattening the tree; fusing the two halves the
//! allocations. Arrays stay whole values (as [`rampart_core::flatten_into`] leaves them),
//! nulls and empty objects leave no path, and the caps of [`Limits`] hold as in
//! [`super::parse_json`].

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::Limits;

/// A record parsed into dotted paths.
#[derive(Debug, Default)]
pub(crate) struct FlatRecord {
    /// `prefix.path.to.leaf` → leaf value, for every field not listed in `top`.
    pub(crate) attributes: Map<String, Value>,
    /// The values of the top-level keys asked for, whole (not flattened, no prefix).
    pub(crate) top: Map<String, Value>,
}

/// Parses `bytes` (a JSON object) into attributes under `prefix`, setting the top-level keys
/// in `top_keys` aside whole. The error is the dead-letter reason.
pub(crate) fn parse_flat(
    bytes: &[u8],
    prefix: &str,
    top_keys: &[&str],
    limits: &Limits,
) -> Result<FlatRecord, String> {
    let mut record = FlatRecord::default();
    let mut path = String::with_capacity(64);
    path.push_str(prefix);
    let mut fields = 0usize;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    Flatten {
        record: &mut record,
        path: &mut path,
        top_keys,
        depth: 0,
        fields: &mut fields,
        limits,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end())
    .map_err(|error| format!("invalid JSON: {error}"))?;
    Ok(record)
}

struct Flatten<'a> {
    record: &'a mut FlatRecord,
    path: &'a mut String,
    top_keys: &'a [&'a str],
    depth: usize,
    fields: &'a mut usize,
    limits: &'a Limits,
}

impl Flatten<'_> {
    fn leaf<E: serde::de::Error>(self, value: Value) -> Result<(), E> {
        if self.depth == 0 {
            return Err(E::custom(format!(
                "expected a JSON object, found {}",
                super::json_kind(&value)
            )));
        }
        self.record.attributes.insert(self.path.clone(), value);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<(), E> {
        self.leaf(Value::Bool(value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<(), E> {
        self.leaf(Value::from(value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<(), E> {
        self.leaf(Value::from(value))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<(), E> {
        self.leaf(Value::from(value))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<(), E> {
        self.leaf(Value::String(value.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<(), E> {
        self.leaf(Value::String(value))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        if self.depth == 0 {
            return self.leaf(Value::Null);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value: Value =
            serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        let mut fields = *self.fields;
        super::check_shape(&value, self.depth + 1, self.limits, &mut fields)
            .map_err(A::Error::custom)?;
        *self.fields = fields;
        self.leaf(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.depth + 1;
        if depth > self.limits.max_json_depth {
            return Err(A::Error::custom(format!(
                "JSON nesting deeper than {} levels (`max_json_depth`)",
                self.limits.max_json_depth
            )));
        }
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            *self.fields += 1;
            if *self.fields > self.limits.max_fields {
                return Err(A::Error::custom(format!(
                    "more than {} fields in one record (`max_fields`)",
                    self.limits.max_fields
                )));
            }
            if depth == 1 && self.top_keys.contains(&key.as_ref()) {
                let value: Value = map.next_value()?;
                self.record.top.insert(key.into_owned(), value);
                continue;
            }
            let keep = self.path.len();
            if !self.path.is_empty() {
                self.path.push('.');
            }
            self.path.push_str(&key);
            map.next_value_seed(Flatten {
                record: &mut *self.record,
                path: &mut *self.path,
                top_keys: self.top_keys,
                depth,
                fields: &mut *self.fields,
                limits: self.limits,
            })?;
            self.path.truncate(keep);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_in_one_pass_and_sets_top_keys_aside() {
        let record = parse_flat(
            br#"{"timestamp":"t","alert":{"gid":1,"meta":{"ids":["T1"]},"none":null,"empty":{}},"n":1.5}"#,
            "suricata.eve",
            &["timestamp"],
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(record.top["timestamp"], "t");
        let keys: Vec<&str> = record.attributes.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "suricata.eve.alert.gid",
                "suricata.eve.alert.meta.ids",
                "suricata.eve.n"
            ]
        );
        assert_eq!(
            record.attributes["suricata.eve.alert.meta.ids"],
            serde_json::json!(["T1"])
        );
    }

    #[test]
    fn agrees_with_tree_then_flatten() {
        let text = br#"{"a":{"b":{"c":[1,{"d":2}],"e":"x\"y"},"f":true},"g":-3}"#;
        let fast = parse_flat(text, "p", &[], &Limits::default()).unwrap();
        let mut slow = std::collections::BTreeMap::new();
        rampart_core::flatten_into(&mut slow, "p".into(), serde_json::from_slice(text).unwrap());
        assert_eq!(
            fast.attributes
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
            slow
        );
    }

    #[test]
    fn rejects_non_objects_trailing_bytes_and_cap_breaches() {
        let limits = Limits {
            max_json_depth: 2,
            max_fields: 3,
            ..Limits::default()
        };
        for bad in [
            &b"[1]"[..],
            b"\"s\"",
            b"null",
            b"{\"a\":1} x",
            b"{\"a\":{\"b\":{\"c\":1}}}",
            b"{\"a\":1,\"b\":2,\"c\":3,\"d\":4}",
            b"{\"a\":[[[1]]]}",
            b"{\"a\"",
        ] {
            assert!(
                parse_flat(bad, "p", &[], &limits).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_flat(&bytes, "p", &["a"], &Limits::default());
        }
    }
}
