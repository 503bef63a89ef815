//! A deterministic stream of realistic alerts for benchmarks: 2000 workstations with their
//! users and 20 roaming admins,
//! rules with a skewed firing rate, a domain controller and the `system` user on many alerts
//! (hubs), repeats of noisy rules, and multi-stage attack chains every few thousand alerts.
//! Technique and tactic pairs come from ATT&CK Enterprise when the shared data is present.

use chrono::{DateTime, TimeDelta, Utc};
use rampart_core::{Alert, AlertId, AlertSource, EntityKind, EntityRef, EventId, Level};

/// `(technique, tactic)` pairs used when the ATT&CK data is absent.
const FALLBACK: [(&str, &str); 12] = [
    ("T1566.001", "initial-access"),
    ("T1059.001", "execution"),
    ("T1053.005", "persistence"),
    ("T1055", "privilege-escalation"),
    ("T1027", "defense-evasion"),
    ("T1003.001", "credential-access"),
    ("T1087.002", "discovery"),
    ("T1021.002", "lateral-movement"),
    ("T1560.001", "collection"),
    ("T1071.001", "command-and-control"),
    ("T1041", "exfiltration"),
    ("T1486", "impact"),
];

/// `SplitMix64`: small, fast and good enough for synthetic data.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Skewed towards small values: the minimum of two uniforms, twice.
    pub fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n).min(self.below(n));
        a.min(self.below(n))
    }
}

/// Real `(technique, tactic)` pairs from the shared ATT&CK data, or [`FALLBACK`].
pub fn techniques() -> Vec<(String, String)> {
    let root = std::env::var("RAMPART_SHARED_DATA").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        std::path::PathBuf::from,
    );
    let path = root.join("mitre-attack-enterprise-v18.1/attack-patterns-lookup-v18.1.json");
    let loaded: Option<Vec<(String, String)>> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .map(|doc| {
            doc.get("attack_patterns")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| {
                    p.get("revoked") != Some(&serde_json::Value::Bool(true))
                        && p.get("deprecated") != Some(&serde_json::Value::Bool(true))
                })
                .filter_map(|p| {
                    let id = p.get("external_id")?.as_str()?;
                    let tactic = p.get("tactics")?.as_array()?.first()?.as_str()?;
                    Some((id.to_owned(), tactic.to_owned()))
                })
                .collect()
        });
    match loaded {
        Some(pairs) if !pairs.is_empty() => pairs,
        _ => {
            eprintln!(
                "ATT&CK data absent at {}; using built-in techniques",
                path.display()
            );
            FALLBACK
                .iter()
                .map(|(t, a)| ((*t).to_owned(), (*a).to_owned()))
                .collect()
        }
    }
}

/// An endless, deterministic alert stream in event-time order.
pub struct AlertStream {
    rng: Rng,
    techniques: Vec<(String, String)>,
    clock: DateTime<Utc>,
    step_ms: u64,
    n: u64,
    chain: Vec<Alert>,
}

impl AlertStream {
    /// A stream whose alerts are `step_ms` apart on average.
    pub fn new(seed: u64, step_ms: u64, techniques: Vec<(String, String)>) -> Self {
        Self {
            rng: Rng::new(seed),
            techniques,
            clock: DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
            step_ms,
            n: 0,
            chain: Vec::new(),
        }
    }

    fn alert(&mut self, rule: u64, host: u64, user: u64, tech: usize, level: Level) -> Alert {
        self.n += 1;
        let at = self.clock;
        let mut entities = vec![
            EntityRef::new(EntityKind::Host, format!("ws-{host:04}")),
            EntityRef::new(EntityKind::User, format!("corp\\user{user:04}")),
        ];
        // Noisy rules repeat on the same entities (what dedup folds); others vary.
        let extra = if rule < 20 { 9 } else { self.rng.below(10) };
        match extra {
            0 | 1 => entities.push(EntityRef::new(EntityKind::Ip, "10.0.0.10")), // the DC
            2 => entities.push(EntityRef::new(EntityKind::User, "nt authority\\system")),
            3 => entities.push(EntityRef::new(
                EntityKind::Process,
                format!(
                    "ws-{host:04}:{}:powershell.exe",
                    1000 + self.rng.below(30_000)
                ),
            )),
            4 => entities.push(EntityRef::new(
                EntityKind::Domain,
                format!("cdn{}.example.net", self.rng.below(500)),
            )),
            _ => {}
        }
        let (technique, tactic) = self
            .techniques
            .get(tech % self.techniques.len().max(1))
            .cloned()
            .unwrap_or_default();
        let event = EventId::derive(&[&self.n.to_le_bytes()]);
        Alert {
            id: AlertId::derive(&[b"bench", event.as_bytes()]),
            source: AlertSource::Sigma,
            rule_id: format!("rule-{rule:03}"),
            title: format!("rule {rule}"),
            level,
            score: None,
            techniques: vec![technique],
            tactics: vec![tactic],
            entities,
            event_ids: vec![event],
            first_seen: Some(at),
            last_seen: Some(at),
            explanation: None,
        }
    }
}

impl Iterator for AlertStream {
    type Item = Alert;

    fn next(&mut self) -> Option<Alert> {
        let step = i64::try_from(self.rng.below(2 * self.step_ms + 1)).unwrap_or(0);
        self.clock += TimeDelta::milliseconds(step);
        if let Some(next) = self.chain.pop() {
            return Some(Alert {
                first_seen: Some(self.clock),
                last_seen: Some(self.clock),
                ..next
            });
        }
        if self.n.is_multiple_of(5000) && self.n > 0 {
            // An attack chain: one host and user walking down the kill chain.
            let host = self.rng.below(2000);
            let user = host;
            let stages = 4 + self.rng.below(5);
            for stage in (0..stages).rev() {
                let tech =
                    usize::try_from(self.rng.below(self.techniques.len() as u64)).unwrap_or(0);
                let a = self.alert(900 + stage, host, user, tech, Level::High);
                self.chain.push(a);
            }
            return self.chain.pop();
        }
        // Noisy rules fire most, on few hosts; the skew makes repeats (dedup) common.
        let rule = self.rng.skewed(300);
        let host = if rule < 20 {
            self.rng.below(50)
        } else {
            self.rng.below(2000)
        };
        // Mostly the workstation's own user; sometimes one of 20 admins, who roam.
        let user = if self.rng.below(20) == 0 {
            9000 + self.rng.below(20)
        } else {
            host
        };
        let tech = usize::try_from(rule * 7).unwrap_or(0);
        let level = match rule % 10 {
            0..=4 => Level::Low,
            5..=7 => Level::Medium,
            8 => Level::High,
            _ => Level::Informational,
        };
        Some(self.alert(rule, host, user, tech, level))
    }
}
