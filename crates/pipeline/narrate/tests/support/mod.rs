//! Shared test fixtures: incidents shaped like real detections, an audit sink that keeps
//! events in memory, and an OpenAI-compatible HTTP server on 127.0.0.1 whose answers each
//! test scripts (honest or adversarial).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test fixtures: a broken fixture should abort the test with its message"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use rampart_audit::{AuditError, AuditEvent, AuditReceipt, AuditSink};
use rampart_core::{
    ActionMode, Alert, AlertId, AlertSource, Contribution, Decision, DecisionId, EntityKind,
    EntityRef, EventId, Explanation, Incident, IncidentId, Level,
};
use serde_json::{Value, json};

pub fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from(minute))
}

pub fn event_id(name: &str) -> EventId {
    EventId::derive(&[name.as_bytes()])
}

/// One alert of `rule` on `host` at `minute`, with a title chosen by the caller.
pub fn alert(rule: &str, title: &str, host: &str, minute: u32) -> Alert {
    Alert {
        id: AlertId::derive(&[rule.as_bytes(), host.as_bytes(), &minute.to_le_bytes()]),
        source: AlertSource::Sigma,
        rule_id: rule.to_owned(),
        title: title.to_owned(),
        level: Level::High,
        score: None,
        techniques: vec!["T1059.001".to_owned()],
        tactics: vec!["execution".to_owned()],
        entities: vec![
            EntityRef::new(EntityKind::Host, host),
            EntityRef::new(EntityKind::User, "CORP\\jdoe"),
        ],
        event_ids: vec![event_id(&format!("{rule}/{host}/{minute}"))],
        first_seen: Some(t(minute)),
        last_seen: Some(t(minute)),
        explanation: None,
    }
}

/// The incident over `alerts`.
pub fn incident(title: &str, alerts: &[Alert]) -> Incident {
    let mut entities: Vec<EntityRef> = alerts.iter().flat_map(|a| a.entities.clone()).collect();
    entities.sort();
    entities.dedup();
    let mut techniques: Vec<String> = alerts.iter().flat_map(|a| a.techniques.clone()).collect();
    techniques.dedup();
    Incident {
        id: IncidentId::derive(&[title.as_bytes()]),
        title: title.to_owned(),
        alert_ids: alerts.iter().map(|a| a.id).collect(),
        entities,
        tactics: vec!["execution".to_owned(), "command-and-control".to_owned()],
        techniques,
        score: 0.91,
        first_seen: alerts.iter().filter_map(|a| a.first_seen).min(),
        last_seen: alerts.iter().filter_map(|a| a.last_seen).max(),
    }
}

/// A realistic three-alert incident: an Office macro spawning encoded PowerShell, a
/// download from a fresh domain scored by the model, and the C2 beacon it led to.
pub fn powershell_incident() -> (Incident, Vec<Alert>, Vec<Decision>) {
    let mut a1 = alert(
        "proc_creation_win_office_spawn_powershell",
        "Suspicious PowerShell Spawned by Microsoft Word",
        "ws-0231.corp.example",
        14,
    );
    a1.techniques = vec!["T1059.001".into(), "T1566.001".into()];
    a1.tactics = vec!["initial-access".into(), "execution".into()];
    let mut a2 = alert(
        "net_connection_win_powershell_download",
        "PowerShell Download From Newly Registered Domain",
        "ws-0231.corp.example",
        15,
    );
    a2.source = AlertSource::Scorer;
    a2.score = Some(0.934);
    a2.techniques = vec!["T1105".into()];
    a2.entities.push(EntityRef::new(
        EntityKind::Domain,
        "update-check.example.net",
    ));
    a2.entities
        .push(EntityRef::new(EntityKind::Ip, "198.51.100.7"));
    a2.explanation = Some(Explanation {
        model: "threat-scorer".into(),
        model_version: "2026.03.1".into(),
        base_value: -2.1,
        raw_output: 2.65,
        contributions: vec![
            Contribution {
                feature: "domain_age_days".into(),
                value: "2".into(),
                contribution: 2.2,
            },
            Contribution {
                feature: "parent_process".into(),
                value: "winword.exe".into(),
                contribution: 1.4,
            },
            Contribution {
                feature: "bytes_in".into(),
                value: "48211".into(),
                contribution: 0.9,
            },
            Contribution {
                feature: "hour_of_day".into(),
                value: "9".into(),
                contribution: 0.25,
            },
        ],
    });
    let mut a3 = alert(
        "net_c2_beacon_periodic",
        "Periodic Beaconing to 198.51.100.7",
        "ws-0231.corp.example",
        31,
    );
    a3.source = AlertSource::Correlation;
    a3.level = Level::Critical;
    a3.techniques = vec!["T1071.001".into()];
    a3.tactics = vec!["command-and-control".into()];
    a3.entities
        .push(EntityRef::new(EntityKind::Ip, "198.51.100.7"));
    a3.event_ids = vec![
        event_id("beacon/1"),
        event_id("beacon/2"),
        event_id("beacon/3"),
    ];
    a3.last_seen = Some(t(52));
    let alerts = vec![a1, a2, a3];
    let mut incident = incident(
        "PowerShell download cradle and C2 beaconing on ws-0231",
        &alerts,
    );
    incident.tactics = vec![
        "initial-access".into(),
        "execution".into(),
        "command-and-control".into(),
    ];
    let decision = Decision {
        id: DecisionId::derive(&[b"contain"]),
        incident_id: incident.id,
        action: "contain_host".into(),
        mode: ActionMode::NeedsApproval(2),
        policy_id: "contain-critical-c2".into(),
        facts: json!({"score": 0.91}),
        decided_at: t(53),
    };
    (incident, alerts, vec![decision])
}

/// ATT&CK names for the techniques the fixtures use.
pub fn technique_name(id: &str) -> Option<String> {
    Some(
        match id {
            "T1059.001" => "PowerShell",
            "T1566.001" => "Spearphishing Attachment",
            "T1105" => "Ingress Tool Transfer",
            "T1071.001" => "Web Protocols",
            _ => return None,
        }
        .to_owned(),
    )
}

/// An audit sink that keeps events in memory (or refuses them all).
#[derive(Default)]
pub struct MemorySink {
    pub events: Mutex<Vec<AuditEvent>>,
    pub refuse: bool,
}

impl MemorySink {
    pub fn refusing() -> Self {
        Self {
            events: Mutex::new(Vec::new()),
            refuse: true,
        }
    }

    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap().clone()
    }
}

impl AuditSink for MemorySink {
    fn record(&self, event: AuditEvent) -> Result<AuditReceipt, AuditError> {
        if self.refuse {
            return Err(AuditError::EventRejected("storage is read-only".into()));
        }
        let mut events = self.events.lock().unwrap();
        events.push(event);
        Ok(AuditReceipt {
            index: events.len() as u64 - 1,
            leaf_hash: [0; 32],
        })
    }
}

/// What the scripted model does with one request.
pub enum Reply {
    /// A 200 chat-completions response whose message content is this text.
    Content(String),
    /// A raw HTTP response with this status and body.
    Status(u16, String),
    /// Waits this long before answering with the content.
    Stall(Duration, String),
    /// Closes the connection without answering.
    Close,
}

/// A scripted model: request number and request in, reply out.
pub type Script = dyn Fn(usize, &Request) -> Reply + Send + Sync;

/// One request as the server received it.
#[derive(Clone)]
pub struct Request {
    pub body: String,
    pub authorization: Option<String>,
}

impl Request {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn message(&self, role: &str) -> String {
        self.json()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["role"] == role)
            .and_then(|m| m["content"].as_str())
            .unwrap()
            .to_owned()
    }

    /// `(evidence id, field, content)` of every data block in the user message, with the
    /// datamarks turned back into spaces.
    pub fn blocks(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for line in self.message("user").lines() {
            let Some(rest) = line.strip_prefix("<<data id=") else {
                continue;
            };
            let (_, rest) = rest.split_once(" field=").unwrap();
            let (label, rest) = rest.split_once(">>").unwrap();
            let (content, _) = rest.rsplit_once("<</data id=").unwrap();
            let (id, field) = label.split_once('@').unwrap();
            out.push((
                id.to_owned(),
                field.to_owned(),
                content.replace('\u{02C6}', " "),
            ));
        }
        out
    }

    /// The canary token in the system message.
    pub fn canary(&self) -> String {
        let system = self.message("system");
        let at = system.find("CANARY-").unwrap();
        system[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    }
}

/// An honest answer built only from the evidence blocks: verbatim block texts and
/// combinations of blocks of one item, each citing that item.
pub fn honest_answer(request: &Request) -> String {
    let blocks = request.blocks();
    let usable: Vec<&(String, String, String)> = blocks
        .iter()
        .filter(|(_, _, c)| !c.starts_with("[withheld"))
        .collect();
    let mut claims = Vec::new();
    for (id, _, content) in &usable {
        claims.push(json!({"text": quote_fragment(content), "evidence": [id]}));
    }
    // Two facts about one alert in one sentence.
    for (id, field, content) in usable.iter().take(4) {
        if field != "rule.name" {
            continue;
        }
        if let Some((_, _, severity)) = usable
            .iter()
            .find(|(i, f, _)| i == id && f == "event.severity")
        {
            claims.push(json!({
                "text": format!("The alert {} was raised with {severity}.", quote_fragment(content)),
                "evidence": [id]
            }));
        }
    }
    claims.truncate(50);
    let summary = usable
        .first()
        .map(|(_, _, c)| format!("This incident concerns {}.", quote_fragment(c)));
    json!({"summary": summary, "claims": claims}).to_string()
}

/// A model quotes long texts in part: the first words, cut at a space, up to 400 bytes.
fn quote_fragment(content: &str) -> String {
    if content.len() <= 400 {
        return content.to_owned();
    }
    let mut out = String::new();
    for word in content.split(' ') {
        if out.len() + word.len() + 1 > 400 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// An OpenAI-compatible server on 127.0.0.1 playing the scripted model.
pub struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(script: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        {
            let requests = Arc::clone(&requests);
            let connections = Arc::clone(&connections);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let n = connections.fetch_add(1, Ordering::SeqCst);
                    let requests = Arc::clone(&requests);
                    let script = Arc::clone(&script);
                    std::thread::spawn(move || serve(stream, n, &requests, &*script));
                }
            });
        }
        Self {
            port,
            requests,
            connections,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, n: usize, requests: &Mutex<Vec<Request>>, script: &Script) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    assert!(
        request_line.starts_with("POST /v1/chat/completions "),
        "{request_line}"
    );
    let mut length = 0usize;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap();
        }
        if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.trim().to_owned());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let request = Request {
        body: String::from_utf8(body).unwrap(),
        authorization,
    };
    requests.lock().unwrap().push(request.clone());
    let mut stream = stream;
    let (status, body) = match script(n, &request) {
        Reply::Close => return,
        Reply::Status(status, body) => (status, body),
        Reply::Content(content) => (200, completion(&content)),
        Reply::Stall(d, content) => {
            std::thread::sleep(d);
            (200, completion(&content))
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

/// A chat-completions response body carrying `content`.
pub fn completion(content: &str) -> String {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    })
    .to_string()
}
