//! Labelled CSV flow records in the NSL-KDD, CIC-IDS2017 and UNSW-NB15 layouts.
//!
//! Each row becomes an event whose [`FeatureRecord`] holds the layout's feature columns in
//! order (numbers as [`FeatureValue::Number`], `Infinity` and `NaN` kept as read;
//! `protocol_type`, `service`, `flag`, `proto` and `state` as [`FeatureValue::Category`]) and
//! whose [`GroundTruth`] holds the label. Label columns are never features, and identifier
//! columns (addresses, flow ids, timestamps) are neither: they go to ECS, or to attributes
//! under the layout's name. What ECS can hold (addresses, ports, transport, duration,
//! bytes, packets) is mapped.
//!
//! NSL-KDD files have no header (41 features, then the attack name and, in the `+` files, a
//! difficulty level); CIC-IDS2017 and UNSW-NB15 files start with one, and columns are found
//! by name, so both the original and the corrected CIC-IDS2017 headers read.

mod layout;

use std::borrow::Cow;
use std::sync::Arc;

use rampart_core::{
    Ecs, Event, FeatureRecord, FeatureValue, Format, GroundTruth, Ingested, Position,
};
use serde_json::{Map, Value};

use super::{Delivery, Input, Limits, RecordParser, RecordSink};
use crate::frame::{Line, LineReader, is_blank};
use crate::{Frame, RawRecord, SourceInfo};
use layout::{Column, Layout, Slot};

/// Parser name and version recorded in provenance.
const PARSER_ID: &str = "flow-csv/1";

/// Reads one flow CSV file.
pub(crate) fn read(input: &mut Input<'_>, limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    let mut lines = LineReader::new(input.reader, limits);
    let mut sink: Option<RecordSink<'_>> = None;
    let mut header: Option<Vec<u8>> = None;
    let mut pending_bad = Vec::new();
    let source = Arc::clone(&input.source);
    let mut deliver = Some(deliver);
    while let Some(line) = lines.next_line() {
        let (bytes, number) = match line {
            Line::Text { bytes, number, .. } => (bytes, number),
            Line::Bad(frame) => {
                match sink.as_mut() {
                    Some(sink) => sink.push(frame),
                    None => pending_bad.push(frame),
                }
                continue;
            }
        };
        if is_blank(&bytes) {
            continue;
        }
        if sink.is_none() {
            let (layout, is_header) = Layout::from_first_line(&bytes);
            let parser: Arc<dyn RecordParser> = Arc::new(FlowCsv {
                layout,
                max_fields: limits.max_fields,
            });
            let Some(deliver) = deliver.take() else {
                return;
            };
            let mut opened = RecordSink::new(Arc::clone(&source), parser, limits, deliver);
            for frame in pending_bad.drain(..) {
                opened.push(frame);
            }
            sink = Some(opened);
            if is_header {
                header = Some(bytes);
                continue;
            }
        }
        // Concatenated exports repeat the header; it is not a record.
        if header.as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if let Some(sink) = sink.as_mut() {
            sink.push(Frame::Record(RawRecord {
                bytes,
                position: Position::Line(number),
            }));
        }
    }
    match sink {
        Some(sink) => {
            sink.finish();
        }
        None => {
            // Only bad lines (or nothing): deliver them with a parser that knows no layout.
            if let Some(deliver) = deliver.take()
                && !pending_bad.is_empty()
            {
                let parser: Arc<dyn RecordParser> = Arc::new(FlowCsv {
                    layout: Layout::unknown(),
                    max_fields: limits.max_fields,
                });
                let mut sink = RecordSink::new(source, parser, limits, deliver);
                for frame in pending_bad {
                    sink.push(frame);
                }
                sink.finish();
            }
        }
    }
}

/// Parses rows of one layout.
pub(crate) struct FlowCsv {
    layout: Layout,
    max_fields: usize,
}

impl RecordParser for FlowCsv {
    fn format(&self) -> Format {
        Format::FlowCsv
    }

    fn parser_id(&self) -> &'static str {
        PARSER_ID
    }

    fn parse(&self, record: &RawRecord, source: &SourceInfo, out: &mut Vec<Ingested>) {
        match self.row(&record.bytes) {
            Ok((ecs, features, ground_truth, attributes)) => {
                let raw = String::from_utf8_lossy(&record.bytes).into_owned();
                let mut event = Event::new(ecs, raw, self.provenance(record, source));
                event.features = Some(features);
                event.ground_truth = ground_truth;
                event.attributes = attributes;
                out.push(Ingested::Event(Box::new(event)));
            }
            Err(reason) => out.push(self.dead_letter(record, source, reason)),
        }
    }
}

type Row = (Ecs, FeatureRecord, Option<GroundTruth>, Map<String, Value>);

impl FlowCsv {
    fn row(&self, bytes: &[u8]) -> Result<Row, String> {
        let Some(columns) = self.layout.columns() else {
            return Err(
                "CSV header matches none of the NSL-KDD, CIC-IDS2017 and UNSW-NB15 layouts"
                    .to_owned(),
            );
        };
        let cells = split_row(bytes, self.max_fields)?;
        if !self.layout.accepts(cells.len()) {
            return Err(format!(
                "row has {} columns; the {} layout has {}",
                cells.len(),
                self.layout.name(),
                self.layout.expected()
            ));
        }
        let mut ecs = Ecs::default();
        ecs.event.kind = Some("event".to_owned());
        ecs.event.category = vec!["network".to_owned()];
        ecs.event.kind_type = vec!["connection".to_owned()];
        ecs.event.dataset = Some(self.layout.name().to_owned());
        let mut features = Vec::with_capacity(cells.len());
        let mut attributes = Map::new();
        let mut label: Option<&str> = None;
        let mut attack_category: Option<&str> = None;
        for (column, cell) in columns.iter().zip(&cells) {
            let cell = cell.trim();
            fill(&mut ecs, column, cell)?;
            match column.slot {
                Slot::Label => label = Some(cell),
                Slot::AttackCategory => attack_category = Some(cell),
                _ => {}
            }
            if let Some(categorical) = column.feature {
                let value = if categorical {
                    FeatureValue::Category(cell.to_owned())
                } else {
                    FeatureValue::Number(number(&column.name, cell)?)
                };
                features.push((column.name.clone(), value));
            } else if column.attribute {
                attributes.insert(
                    format!("{}.{}", self.layout.attribute_prefix(), column.key),
                    Value::String(cell.to_owned()),
                );
            }
        }
        ecs.network.bytes = add(ecs.source.bytes, ecs.destination.bytes);
        ecs.network.packets = add(ecs.source.packets, ecs.destination.packets);
        let ground_truth = self.layout.ground_truth(label, attack_category);
        let features = FeatureRecord {
            layout: self.layout.name().to_owned(),
            values: features,
        };
        Ok((ecs, features, ground_truth, attributes))
    }
}

fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// A numeric cell: decimals, `Infinity`, `-Infinity` and `NaN` (kept as read).
fn number(name: &str, cell: &str) -> Result<f64, String> {
    cell.parse::<f64>()
        .map_err(|_| format!("`{name}` is not a number: `{cell}`"))
}

/// A count cell (bytes, packets): a non-negative integer, possibly written as `12.0`.
fn count(name: &str, cell: &str) -> Result<u64, String> {
    if let Ok(value) = cell.parse::<u64>() {
        return Ok(value);
    }
    let value = number(name, cell)?;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 1.8e19 {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked above: finite, non-negative, integral and in range"
        )]
        return Ok(value as u64);
    }
    Err(format!("`{name}` is not a count: `{cell}`"))
}

/// Fills the ECS slot a column maps to.
fn fill(ecs: &mut Ecs, column: &Column, cell: &str) -> Result<(), String> {
    let name = column.name.as_str();
    match column.slot {
        Slot::SourceIp => ecs.source.ip = ip(name, cell)?,
        Slot::DestinationIp => ecs.destination.ip = ip(name, cell)?,
        Slot::SourcePort => ecs.source.port = Some(port(name, cell)?),
        Slot::DestinationPort => ecs.destination.port = Some(port(name, cell)?),
        Slot::ProtocolNumber => {
            ecs.network.transport = match count(name, cell)? {
                1 => Some("icmp".to_owned()),
                6 => Some("tcp".to_owned()),
                17 => Some("udp".to_owned()),
                58 => Some("ipv6-icmp".to_owned()),
                _ => None,
            };
        }
        Slot::ProtocolName => ecs.network.transport = super::protocol_name(cell),
        Slot::Service => {
            // NSL-KDD's `private`/`other` and ICMP pseudo-services are not protocols.
            ecs.network.protocol = super::protocol_name(cell).filter(|service| {
                !matches!(service.as_str(), "other" | "private") && !service.ends_with("_i")
            });
        }
        Slot::Timestamp => ecs.timestamp = timestamp(cell),
        Slot::DurationSeconds => ecs.event.duration = nanos(number(name, cell)?, 1e9),
        Slot::DurationMicros => ecs.event.duration = nanos(number(name, cell)?, 1e3),
        Slot::SourceBytes => ecs.source.bytes = Some(count(name, cell)?),
        Slot::DestinationBytes => ecs.destination.bytes = Some(count(name, cell)?),
        Slot::SourcePackets => ecs.source.packets = Some(count(name, cell)?),
        Slot::DestinationPackets => ecs.destination.packets = Some(count(name, cell)?),
        Slot::None | Slot::Label | Slot::AttackCategory => {}
    }
    Ok(())
}

fn ip(name: &str, cell: &str) -> Result<Option<std::net::IpAddr>, String> {
    if cell.is_empty() || cell == "-" {
        return Ok(None);
    }
    super::parse_ip(cell)
        .map(Some)
        .ok_or_else(|| format!("`{name}` is not an IP address: `{cell}`"))
}

fn port(name: &str, cell: &str) -> Result<u16, String> {
    u16::try_from(count(name, cell)?).map_err(|_| format!("`{name}` is not a port: `{cell}`"))
}

/// CIC-IDS2017 timestamps: `2017-07-07 19:14:04.346778` (corrected release) or
/// `7/7/2017 3:30:00` (original release, day first); both without a zone, taken as UTC.
fn timestamp(cell: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    super::parse_timestamp(cell).or_else(|| {
        [
            "%d/%m/%Y %H:%M:%S",
            "%d/%m/%Y %H:%M",
            "%d/%m/%Y %I:%M:%S %p",
            "%d/%m/%Y %I:%M %p",
        ]
        .iter()
        .find_map(|pattern| chrono::NaiveDateTime::parse_from_str(cell, pattern).ok())
        .map(|time| time.and_utc())
    })
}

/// A duration in some unit as nanoseconds, when it is a sensible one.
fn nanos(value: f64, per_unit: f64) -> Option<i64> {
    super::seconds_to_nanos(value * per_unit / 1e9)
}

/// Splits one CSV row. Rows of these layouts carry no quotes; a row that does is read with
/// the `csv` crate's quoting rules.
fn split_row(bytes: &[u8], max_fields: usize) -> Result<Vec<Cow<'_, str>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|error| format!("row is not UTF-8: {error}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let cells: Vec<Cow<'_, str>> = if text.contains('"') {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => record
                .iter()
                .map(|cell| Cow::Owned(cell.to_owned()))
                .collect(),
            Ok(false) => Vec::new(),
            Err(error) => return Err(format!("row is not valid CSV: {error}")),
        }
    } else {
        // Unquoted rows (all three layouts) borrow their cells from the record.
        text.split(',')
            .take(max_fields + 1)
            .map(Cow::Borrowed)
            .collect()
    };
    if cells.len() > max_fields {
        return Err(format!(
            "row has more than {max_fields} columns (`max_fields`)"
        ));
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReadOptions, read_bytes_all};

    const NSL: &str = "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20\n0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,0.00,255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19\n";

    fn events(name: &str, text: &str) -> Vec<Event> {
        read_bytes_all(name, text.as_bytes(), &ReadOptions::default())
            .into_iter()
            .map(|item| match item {
                Ingested::Event(event) => *event,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn nsl_kdd_rows_become_features_and_ground_truth() {
        let read = events("/x/KDDTrain+.txt", NSL);
        assert_eq!(read.len(), 2);
        let features = read[0].features.as_ref().unwrap();
        assert_eq!(features.layout, "nsl-kdd");
        assert_eq!(features.values.len(), 41);
        assert_eq!(
            features.values[1],
            (
                "protocol_type".to_owned(),
                FeatureValue::Category("tcp".into())
            )
        );
        assert!(features.values.iter().all(|(name, _)| name != "label"));
        assert_eq!(
            read[0].ground_truth.as_ref().unwrap().malicious,
            Some(false)
        );
        let neptune = read[1].ground_truth.as_ref().unwrap();
        assert_eq!(
            (
                neptune.label.as_str(),
                neptune.malicious,
                neptune.category.as_deref()
            ),
            ("neptune", Some(true), Some("dos"))
        );
        assert_eq!(read[0].ecs.source.bytes, Some(491));
        assert_eq!(read[0].ecs.network.transport.as_deref(), Some("tcp"));
        assert_eq!(read[0].ecs.network.protocol.as_deref(), Some("ftp_data"));
        assert_eq!(read[1].ecs.network.protocol, None);
    }

    #[test]
    fn unsw_nb15_header_and_row() {
        let text = "\u{feff}id,dur,proto,service,state,spkts,dpkts,sbytes,dbytes,rate,sttl,dttl,sload,dload,sloss,dloss,sinpkt,dinpkt,sjit,djit,swin,stcpb,dtcpb,dwin,tcprtt,synack,ackdat,smean,dmean,trans_depth,response_body_len,ct_srv_src,ct_state_ttl,ct_dst_ltm,ct_src_dport_ltm,ct_dst_sport_ltm,ct_dst_src_ltm,is_ftp_login,ct_ftp_cmd,ct_flw_http_mthd,ct_src_ltm,ct_srv_dst,is_sm_ips_ports,attack_cat,label\n1,0.000011,udp,-,INT,2,0,496,0,90909.0902,254,0,180363632,0,0,0,0.011,0,0,0,0,0,0,0,0,0,0,248,0,0,0,2,2,1,1,1,2,0,0,0,1,2,0,Normal,0\n2,0.5,tcp,http,FIN,10,8,1000,2000,36,62,252,1,1,0,0,1,1,1,1,255,1,1,255,0.1,0.05,0.05,100,250,1,0,1,1,1,1,1,1,0,0,1,1,1,0,Exploits,1\n";
        let read = events("/x/UNSW_NB15_training-set.csv", text);
        assert_eq!(read.len(), 2);
        let normal = read[0].ground_truth.as_ref().unwrap();
        assert_eq!(
            (
                normal.label.as_str(),
                normal.malicious,
                normal.category.as_deref()
            ),
            ("Normal", Some(false), None)
        );
        let exploit = read[1].ground_truth.as_ref().unwrap();
        assert_eq!(
            (exploit.malicious, exploit.category.as_deref()),
            (Some(true), Some("Exploits"))
        );
        let features = read[1].features.as_ref().unwrap();
        assert_eq!(features.layout, "unsw-nb15");
        assert_eq!(features.values.len(), 42);
        assert!(
            features
                .values
                .iter()
                .all(|(name, _)| !matches!(name.as_str(), "id" | "label" | "attack_cat"))
        );
        assert_eq!(read[1].ecs.network.protocol.as_deref(), Some("http"));
        assert_eq!(read[1].ecs.event.duration, Some(500_000_000));
        assert_eq!(read[1].attributes["unsw_nb15.id"], "2");
    }

    #[test]
    fn cic_ids2017_keeps_infinity_and_maps_tuple() {
        let text = "Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Flow Bytes/s,Label\nx-1,192.168.10.5,50000,8.8.8.8,53,17,2017-07-07 19:14:04.346778,1000,Infinity,BENIGN\nx-2,172.16.0.1,64271,192.168.10.50,80,6,2017-07-07 19:14:04,10,NaN,DDoS\n";
        let read = events("/x/cic.csv", text);
        assert_eq!(read.len(), 2);
        let first = &read[0];
        assert_eq!(first.ecs.destination.port, Some(53));
        assert_eq!(first.ecs.network.transport.as_deref(), Some("udp"));
        assert_eq!(first.ecs.event.duration, Some(1_000_000));
        let values = &first.features.as_ref().unwrap().values;
        assert_eq!(
            values
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>(),
            ["Dst Port", "Protocol", "Flow Duration", "Flow Bytes/s"]
        );
        assert!(matches!(values[3].1, FeatureValue::Number(n) if n.is_infinite()));
        assert!(
            matches!(read[1].features.as_ref().unwrap().values[3].1, FeatureValue::Number(n) if n.is_nan())
        );
        assert_eq!(first.ground_truth.as_ref().unwrap().malicious, Some(false));
        assert_eq!(
            read[1].ground_truth.as_ref().unwrap().category.as_deref(),
            Some("dos")
        );
    }

    fn nsl_parser() -> FlowCsv {
        FlowCsv {
            layout: Layout::from_first_line(NSL.lines().next().unwrap_or_default().as_bytes()).0,
            max_fields: 4096,
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_rows_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = nsl_parser().row(&bytes);
            let (layout, _) = Layout::from_first_line(&bytes);
            let _ = FlowCsv { layout, max_fields: 64 }.row(&bytes);
        }

        #[test]
        fn nsl_kdd_rows_round_trip(
            numbers in proptest::collection::vec(0u32..100_000, 38),
            protocol in "tcp|udp|icmp",
            service in "[a-z_]{1,10}",
            flag in "SF|S0|REJ|RSTO",
            label in "normal|neptune|smurf|guess_passwd|buffer_overflow|somethingnew",
        ) {
            let mut cells: Vec<String> = numbers.iter().map(ToString::to_string).collect();
            cells.insert(1, protocol.clone());
            cells.insert(2, service.clone());
            cells.insert(3, flag.clone());
            cells.push(label.clone());
            let line = cells.join(",");
            let (_, features, truth, _) = nsl_parser().row(line.as_bytes()).unwrap_or_else(|reason| panic!("{reason}"));
            proptest::prop_assert_eq!(features.values.len(), 41);
            for ((_, value), cell) in features.values.iter().zip(&cells) {
                let expected = match cell.parse::<f64>() {
                    Ok(number) => FeatureValue::Number(number),
                    Err(_) => FeatureValue::Category(cell.clone()),
                };
                proptest::prop_assert_eq!(value, &expected);
            }
            let truth = truth.unwrap();
            proptest::prop_assert_eq!(truth.malicious, Some(label != "normal"));
            proptest::prop_assert_eq!(truth.label, label);
        }
    }

    #[test]
    fn wrong_columns_and_bad_numbers_are_dead_letters() {
        let text = "Flow ID,Src IP,Dst Port,Flow Duration,Label\nx,10.0.0.1,80,12,BENIGN\nx,10.0.0.1,80\nx,10.0.0.1,80,twelve,BENIGN\nx,10.0.0.300,80,12,BENIGN\n";
        let read = read_bytes_all("/x/cic.csv", text.as_bytes(), &ReadOptions::default());
        let kinds: Vec<_> = read
            .iter()
            .map(|item| matches!(item, Ingested::Event(_)))
            .collect();
        assert_eq!(kinds, [true, false, false, false]);
    }
}
