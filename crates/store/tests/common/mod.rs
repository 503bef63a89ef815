//! Deterministic, realistic records for tests and benchmarks: Suricata EVE alerts shaped like
//! those in `shared/data/suricata-eve-alerts` (about 700 bytes raw), as the reader maps them.

use std::ops::Range;

use rampart_core::{ContentHash, Ecs, Event, Format, Ingested, Position, Provenance};
use serde_json::{Map, Value, json};

/// A Suricata alert event at `line` of `source`; the content varies with `line`.
pub fn suricata_alert(source: &str, line: u64) -> Event {
    let minute = line / 60 % 60;
    let second = line % 60;
    let flow_id = 928_532_049_924_531 + line * 7919;
    let (a, b) = (line / 250 % 250, line % 250);
    let src_port = 1024 + line % 60_000;
    let sid = 2_001_219 + line % 97;
    let raw = format!(
        r#"{{"timestamp":"2018-03-24T14:{minute:02}:{second:02}.037299-0600","flow_id":{flow_id},"pcap_cnt":{pcap},"event_type":"alert","src_ip":"10.47.{a}.{b}","src_port":{src_port},"dest_ip":"10.47.8.150","dest_port":80,"proto":"TCP","tx_id":0,"alert":{{"action":"allowed","gid":1,"signature_id":{sid},"rev":20,"signature":"ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT","category":"Web Application Attack","severity":1}},"http":{{"hostname":"10.47.8.150","url":"/index.php?id=1%20UNION%20SELECT%20{line}","http_user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":{length}}},"app_proto":"http","flow":{{"pkts_toserver":4,"pkts_toclient":3,"bytes_toserver":561,"bytes_toclient":1432,"start":"2018-03-24T14:{minute:02}:{second:02}.035810-0600"}}}}"#,
        pcap = 169_577 + line,
        length = 900 + line % 1000,
    );
    let provenance = Provenance {
        source: source.to_owned(),
        position: Position::Line(line),
        format: Some(Format::SuricataEve),
        parser: "suricata-eve/1".to_owned(),
        ingested_at: "2026-11-28T12:00:00Z".parse().unwrap(),
        content_hash: ContentHash::of(raw.as_bytes()),
    };
    let mut ecs = Ecs {
        timestamp: Some(
            format!("2018-03-24T20:{minute:02}:{second:02}.037299Z")
                .parse()
                .unwrap(),
        ),
        ..Ecs::default()
    };
    ecs.event.kind = Some("alert".into());
    ecs.event.category = vec!["network".into(), "intrusion_detection".into()];
    ecs.event.kind_type = vec!["info".into()];
    ecs.event.action = Some("allowed".into());
    ecs.event.severity = Some(1);
    ecs.event.dataset = Some("suricata.eve".into());
    ecs.source.ip = Some(format!("10.47.{a}.{b}").parse().unwrap());
    ecs.source.port = Some(u16::try_from(src_port).unwrap());
    ecs.source.bytes = Some(561);
    ecs.source.packets = Some(4);
    ecs.destination.ip = Some("10.47.8.150".parse().unwrap());
    ecs.destination.port = Some(80);
    ecs.destination.bytes = Some(1432);
    ecs.destination.packets = Some(3);
    ecs.network.transport = Some("tcp".into());
    ecs.network.protocol = Some("http".into());
    ecs.url.full = Some(format!("/index.php?id=1%20UNION%20SELECT%20{line}"));
    ecs.rule.id = Some(sid.to_string());
    ecs.rule.name = Some("ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT".into());
    ecs.rule.category = Some("Web Application Attack".into());
    let mut event = Event::new(ecs, raw, provenance);
    let attributes: Map<String, Value> = [
        ("suricata.eve.flow_id", json!(flow_id)),
        ("suricata.eve.pcap_cnt", json!(169_577 + line)),
        ("suricata.eve.tx_id", json!(0)),
        ("suricata.eve.alert.gid", json!(1)),
        ("suricata.eve.alert.rev", json!(20)),
        ("suricata.eve.app_proto", json!("http")),
        ("suricata.eve.http.http_method", json!("GET")),
        ("suricata.eve.http.status", json!(200)),
        (
            "suricata.eve.http.http_user_agent",
            json!("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
        ),
        (
            "suricata.eve.flow.start",
            json!("2018-03-24T14:00:00.035810-0600"),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    event.attributes = attributes;
    event
}

/// Alerts for `lines` of `source`, as ingested records.
pub fn batch(source: &str, lines: Range<u64>) -> Vec<Ingested> {
    lines
        .map(|line| Ingested::Event(Box::new(suricata_alert(source, line))))
        .collect()
}
