//! One Windows event, normalised from the JSON shapes that exports write.
//!
//! Two shapes are read:
//!
//! - nested, as `evtx_dump` (and the `evtx` crate) render the XML: `Event.System` with
//!   `#attributes` objects (or `<name>_attributes` siblings) and `Event.EventData` /
//!   `Event.UserData`;
//! - flat, as nxlog and the OTRF / Splunk exports write it: system fields (`EventID`,
//!   `Channel`, `Hostname`, `SourceName`, …) and event data fields side by side at the top level.
//!
//! Event data values are normalised to strings (numbers and booleans rendered in decimal), so
//! that the same event reads the same whichever exporter wrote it: nxlog writes
//! `"ProcessId":"2008"` where `evtx_dump` writes `"ProcessId":2008`. Fields without a value
//! (`null`) are left out, since some exporters write them and others do not.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::formats::parse_timestamp;

/// Which exporter shape a record had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `Event.System` / `Event.EventData`.
    Nested,
    /// nxlog-style top-level fields.
    Flat,
}

/// A Windows event in one shape, whatever the exporter.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct WinRecord {
    /// Which shape it was read from.
    pub shape: Shape,
    /// `System.EventID`.
    pub event_id: u32,
    /// `System.Channel`.
    pub channel: Option<String>,
    /// `System.Provider.Name`.
    pub provider: Option<String>,
    /// `System.Provider.Guid`.
    pub provider_guid: Option<String>,
    /// `System.Computer`.
    pub computer: Option<String>,
    /// `System.EventRecordID`.
    pub record_id: Option<u64>,
    /// `System.TimeCreated.SystemTime` (or the flat exporter's best time field).
    pub time: Option<DateTime<Utc>>,
    /// Other system values under their `winlog.*` names (`task`, `process.pid`, …).
    pub system: Map<String, Value>,
    /// `EventData` fields by name; unnamed `Data` items under `Data`.
    pub data: Map<String, Value>,
    /// The fields of the `UserData` element by name.
    pub user_data: Map<String, Value>,
    /// The rendered message, when the exporter kept it (flat exports do).
    pub message: Option<String>,
    /// Exporter tags (`["mordorDataset"]`).
    pub tags: Option<Value>,
}

impl WinRecord {
    /// Reads a record in either shape. The error is the dead-letter reason.
    pub fn from_json(mut map: Map<String, Value>) -> Result<Self, String> {
        if let Some(Value::Object(event)) = map.remove("Event") {
            return Self::nested(&event);
        }
        if matches!(map.get("System"), Some(Value::Object(_))) {
            return Self::nested(&map);
        }
        if map.contains_key("EventID") {
            return Self::flat(map);
        }
        Err(
            "not a Windows event: expected `Event.System` (evtx_dump JSON) or a flat record \
             with `EventID` (nxlog JSON)"
                .to_owned(),
        )
    }

    /// A data field as written (command lines keep their trailing blanks), when present, not
    /// blank and not the `-` placeholder.
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = self.data.get(name).or_else(|| self.user_data.get(name))?;
        let text = value.as_str()?;
        let trimmed = text.trim();
        (!trimmed.is_empty() && trimmed != "-").then_some(text)
    }

    /// The first of several data fields that is present.
    pub fn first(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|name| self.get(name))
    }

    /// A system value by its `winlog.*` name, as text.
    pub fn system_text(&self, name: &str) -> Option<&str> {
        self.system.get(name).and_then(Value::as_str)
    }

    /// The channel lowercased, for comparisons (exports disagree on case: `security`).
    pub fn channel_lower(&self) -> String {
        self.channel
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    fn nested(event: &Map<String, Value>) -> Result<Self, String> {
        let Some(Value::Object(system)) = event.get("System") else {
            return Err("`Event.System` is missing or not an object".to_owned());
        };
        let event_id = text_of(system.get("EventID"))
            .and_then(scalar_u64)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| "`Event.System.EventID` is missing or not a number".to_owned())?;
        let mut record = Self {
            shape: Shape::Nested,
            event_id,
            channel: text_of(system.get("Channel")).and_then(scalar_string),
            provider: attribute(system, "Provider", "Name").and_then(scalar_string),
            provider_guid: attribute(system, "Provider", "Guid").and_then(scalar_string),
            computer: text_of(system.get("Computer")).and_then(scalar_string),
            record_id: text_of(system.get("EventRecordID")).and_then(scalar_u64),
            time: attribute(system, "TimeCreated", "SystemTime")
                .and_then(Value::as_str)
                .and_then(parse_timestamp),
            system: Map::new(),
            data: Map::new(),
            user_data: Map::new(),
            message: None,
            tags: None,
        };
        for (key, name) in [
            ("Level", "level"),
            ("Task", "task"),
            ("Opcode", "opcode"),
            ("Keywords", "keywords"),
            ("Version", "version"),
        ] {
            record.put_system(name, text_of(system.get(key)));
        }
        record.put_system("process.pid", attribute(system, "Execution", "ProcessID"));
        record.put_system(
            "process.thread.id",
            attribute(system, "Execution", "ThreadID"),
        );
        record.put_system("user.identifier", attribute(system, "Security", "UserID"));
        record.put_system(
            "activity_id",
            attribute(system, "Correlation", "ActivityID"),
        );
        if let Some(data) = event.get("EventData") {
            event_data(data, &mut record.data);
        }
        if let Some(Value::Object(user_data)) = event.get("UserData") {
            for (key, child) in user_data {
                match child {
                    Value::Object(fields) => {
                        for (name, value) in fields {
                            if name != "#attributes" {
                                record
                                    .user_data
                                    .insert(name.clone(), normalise(text_of(Some(value))));
                            }
                        }
                    }
                    _ if key != "#attributes" => {
                        record.user_data.insert(key.clone(), normalise(Some(child)));
                    }
                    _ => {}
                }
            }
        }
        record.drop_empty();
        Ok(record)
    }

    /// Drops fields without a value (`null`, an empty XML element): exporters disagree on
    /// whether to write them at all (`"Binary": null` in one, nothing in the other).
    fn drop_empty(&mut self) {
        self.data.retain(|_, value| !value.is_null());
        self.user_data.retain(|_, value| !value.is_null());
    }

    fn flat(mut map: Map<String, Value>) -> Result<Self, String> {
        let event_id = map
            .get("EventID")
            .and_then(scalar_u64)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| "`EventID` is not a number".to_owned())?;
        // Times: the exporter's ISO time first, then Sysmon's explicit UTC time, then nxlog's
        // `EventTime` (the collector's clock, offset-less, read as UTC).
        let time = ["@timestamp", "TimeCreated", "UtcTime", "EventTime"]
            .into_iter()
            .find_map(|key| {
                map.get(key)
                    .and_then(Value::as_str)
                    .and_then(parse_timestamp)
            });
        map.remove("@timestamp");
        map.remove("TimeCreated");
        let mut take = |key: &str| map.remove(key);
        let mut record = Self {
            shape: Shape::Flat,
            event_id,
            channel: take("Channel").as_ref().and_then(scalar_string),
            provider: take("SourceName")
                .or_else(|| take("ProviderName"))
                .as_ref()
                .and_then(scalar_string),
            provider_guid: take("ProviderGuid").as_ref().and_then(scalar_string),
            computer: take("Hostname")
                .or_else(|| take("Computer"))
                .as_ref()
                .and_then(scalar_string),
            record_id: take("RecordNumber")
                .or_else(|| take("EventRecordID"))
                .as_ref()
                .and_then(scalar_u64),
            time,
            system: Map::new(),
            data: Map::new(),
            user_data: Map::new(),
            message: take("Message").as_ref().and_then(scalar_string),
            tags: take("tags"),
        };
        map.remove("EventID");
        for (key, name) in [
            ("Level", "level"),
            ("Task", "task"),
            ("Opcode", "opcode"),
            ("Keywords", "keywords"),
            ("Version", "version"),
            ("ExecutionProcessID", "process.pid"),
            ("ThreadID", "process.thread.id"),
            ("ExecutionThreadID", "process.thread.id"),
            ("UserID", "user.identifier"),
            ("AccountName", "user.name"),
            ("Domain", "user.domain"),
            ("ActivityID", "activity_id"),
        ] {
            let value = map.remove(key);
            if !record.system.contains_key(name) {
                record.put_system(name, value.as_ref());
            }
        }
        // nxlog's own `ProcessID` is the execution process id and is a JSON number; the
        // Windows Filtering Platform events carry a `ProcessID` event data field as a string.
        if matches!(map.get("ProcessID"), Some(Value::Number(_))) {
            let value = map.remove("ProcessID");
            if !record.system.contains_key("process.pid") {
                record.put_system("process.pid", value.as_ref());
            }
        }
        // nxlog's `EventType` (`AUDIT_SUCCESS`, `INFO`) shares its name with Sysmon's event
        // data field (`SetValue`, `CreateKey`); only the former is collector metadata.
        if map
            .get("EventType")
            .and_then(Value::as_str)
            .is_some_and(|kind| NXLOG_EVENT_TYPES.contains(&kind))
        {
            map.remove("EventType");
        }
        for (key, value) in map {
            if !COLLECTOR_KEYS.contains(&key.as_str()) {
                record.data.insert(key, normalise(Some(&value)));
            }
        }
        record.drop_empty();
        Ok(record)
    }

    fn put_system(&mut self, name: &str, value: Option<&Value>) {
        if let Value::String(text) = normalise(value)
            && !text.is_empty()
        {
            self.system.insert(name.to_owned(), Value::String(text));
        }
    }
}

/// Values nxlog writes in its own `EventType` field.
const NXLOG_EVENT_TYPES: [&str; 8] = [
    "AUDIT_SUCCESS",
    "AUDIT_FAILURE",
    "INFO",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "VERBOSE",
    "DEBUG",
];

/// Fields the collectors (nxlog, Logstash) add about themselves, not about the event. The raw
/// record keeps them.
const COLLECTOR_KEYS: [&str; 13] = [
    "EventTime",
    "EventReceivedTime",
    "SourceModuleName",
    "SourceModuleType",
    "Severity",
    "SeverityValue",
    "OpcodeValue",
    "EventTypeOrignal",
    "AccountType",
    "Category",
    "host",
    "port",
    "@version",
];

/// `obj[key]["#attributes"][name]`, `obj[key][name]` or `obj[key_attributes][name]`: the
/// three ways exporters render an XML attribute.
fn attribute<'a>(object: &'a Map<String, Value>, key: &str, name: &str) -> Option<&'a Value> {
    if let Some(Value::Object(element)) = object.get(key) {
        if let Some(Value::Object(attributes)) = element.get("#attributes")
            && let Some(value) = attributes.get(name)
        {
            return Some(value);
        }
        if let Some(value) = element.get(name) {
            return Some(value);
        }
    }
    match object.get(&format!("{key}_attributes")) {
        Some(Value::Object(attributes)) => attributes.get(name),
        _ => None,
    }
}

/// The text of an element: `{"#text": x, "#attributes": …}` becomes `x`.
fn text_of(value: Option<&Value>) -> Option<&Value> {
    match value {
        Some(Value::Object(element)) if element.contains_key("#text") => element.get("#text"),
        other => other,
    }
}

/// Reads `EventData`: named fields, `Data` items with a `Name` attribute, unnamed `Data`.
fn event_data(value: &Value, out: &mut Map<String, Value>) {
    let mut unnamed = Vec::new();
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                match key.as_str() {
                    "#attributes" => {}
                    "Data" => data_items(field, out, &mut unnamed),
                    _ => {
                        out.insert(key.clone(), normalise(text_of(Some(field))));
                    }
                }
            }
        }
        Value::Null => {}
        other => data_items(other, out, &mut unnamed),
    }
    match unnamed.len() {
        0 => {}
        1 => {
            out.insert("Data".to_owned(), unnamed.swap_remove(0));
        }
        _ => {
            out.insert("Data".to_owned(), Value::Array(unnamed));
        }
    }
}

fn data_items(value: &Value, out: &mut Map<String, Value>, unnamed: &mut Vec<Value>) {
    match value {
        Value::Array(items) => {
            for item in items {
                data_items(item, out, unnamed);
            }
        }
        Value::Object(item) => {
            let name = item
                .get("#attributes")
                .and_then(|attributes| attributes.get("Name"))
                .and_then(Value::as_str);
            match (name, item.get("#text")) {
                (Some(name), text) => {
                    out.insert(name.to_owned(), normalise(text));
                }
                (None, Some(Value::Array(texts))) => {
                    unnamed.extend(texts.iter().map(|text| normalise(Some(text))));
                }
                (None, Some(text)) => unnamed.push(normalise(Some(text))),
                (None, None) => {}
            }
        }
        Value::Null => {}
        scalar => unnamed.push(normalise(Some(scalar))),
    }
}

/// Renders scalars as strings; keeps null and structures.
fn normalise(value: Option<&Value>) -> Value {
    match value {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(text)) => Value::String(text.clone()),
        Some(Value::Number(number)) => Value::String(number.to_string()),
        Some(Value::Bool(flag)) => Value::String(flag.to_string()),
        Some(Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|item| normalise(text_of(Some(item))))
                .collect(),
        ),
        Some(Value::Object(object)) => match object.get("#text") {
            Some(text) => normalise(Some(text)),
            None => Value::Object(object.clone()),
        },
    }
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn scalar_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn reads_nested_with_attributes_and_qualified_event_id() {
        let record = WinRecord::from_json(object(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"PowerShell"}},
            "EventID":{"#attributes":{"Qualifiers":0},"#text":800},"EventRecordID":789,
            "TimeCreated":{"#attributes":{"SystemTime":"2020-08-26T05:09:33.349710Z"}},
            "Execution":{"#attributes":{"ProcessID":0,"ThreadID":0}},
            "Channel":"Windows PowerShell","Computer":"DESKTOP-1"},
            "EventData":{"Data":{"#text":["first","second"]}}}}"##,
        ))
        .unwrap();
        assert_eq!(record.shape, Shape::Nested);
        assert_eq!(record.event_id, 800);
        assert_eq!(record.record_id, Some(789));
        assert_eq!(record.provider.as_deref(), Some("PowerShell"));
        assert_eq!(record.system_text("process.pid"), Some("0"));
        assert_eq!(record.data["Data"], serde_json::json!(["first", "second"]));
        assert!(record.time.is_some());
    }

    #[test]
    fn reads_named_data_items_and_separated_attributes() {
        let record = WinRecord::from_json(object(
            r##"{"Event":{"System":{"Provider":"","Provider_attributes":{"Name":"Microsoft-Windows-Sysmon"},
            "EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},
            "EventData":{"Data":[{"#attributes":{"Name":"ProcessId"},"#text":42},
            {"#attributes":{"Name":"Image"},"#text":"C:\\x.exe"}]}}}"##,
        ))
        .unwrap();
        assert_eq!(record.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(record.get("ProcessId"), Some("42"));
        assert_eq!(record.get("Image"), Some("C:\\x.exe"));
    }

    #[test]
    fn splits_flat_system_fields_from_event_data() {
        let record = WinRecord::from_json(object(
            r#"{"EventID":13,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS6",
            "SourceName":"Microsoft-Windows-Sysmon","EventType":"SetValue","EventTypeOrignal":"INFO",
            "ProcessID":3500,"ProcessId":"6196","RecordNumber":713650,"port":62387,
            "@timestamp":"2020-06-10T02:50:56.537Z","TargetObject":"HKLM\\x","Path":null}"#,
        ))
        .unwrap();
        assert_eq!(record.shape, Shape::Flat);
        assert_eq!(record.get("EventType"), Some("SetValue"));
        assert_eq!(record.get("ProcessId"), Some("6196"));
        assert_eq!(record.system_text("process.pid"), Some("3500"));
        assert_eq!(record.record_id, Some(713_650));
        assert!(!record.data.contains_key("port"));
        assert!(!record.data.contains_key("Path"));
        assert_eq!(record.computer.as_deref(), Some("WS6"));
    }

    #[test]
    fn drops_nxlog_event_type_and_rejects_non_windows_objects() {
        let record =
            WinRecord::from_json(object(r#"{"EventID":"4624","EventType":"AUDIT_SUCCESS"}"#))
                .unwrap();
        assert!(!record.data.contains_key("EventType"));
        assert!(WinRecord::from_json(object(r#"{"event_type":"alert"}"#)).is_err());
        assert!(WinRecord::from_json(object(r#"{"EventID":"x"}"#)).is_err());
        assert!(WinRecord::from_json(object(r#"{"Event":{"System":{}}}"#)).is_err());
    }
}
