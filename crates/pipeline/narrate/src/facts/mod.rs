//! The fact sheet: everything a narrative may say about an incident, typed, each fact under
//! an evidence id.
//!
//! Evidence ids are the ids the rest of Rampart already prints: alert ids (`alr_…`), event
//! ids (`evt_…`), decision ids (`dec_…`), the incident id (`inc_…`), technique ids
//! (`T1059.001`) and entity values (`ws-0231`, `198.51.100.7`). An entity value that is not a
//! plain token (a URL, an IPv6 address, anything with spaces) and every user name gets a
//! derived id instead (`ent_user_3f2a9c01b7d4`), so personal data never becomes an id.
//!
//! Large incidents are summarised hierarchically to fit a token budget (see [`Detail`]):
//! alerts are grouped by rule and host, then by rule alone, then the least severe groups
//! are dropped, always keeping counts so the narrative can say what it left out.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rampart_core::{
    ActionMode, Alert, AlertId, AlertSource, Contribution, Decision, DecisionId, EntityKind,
    EntityRef, Event, EventId, Incident, IncidentId, Level,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

mod summary;
mod text;

pub(crate) use text::{
    alert_facts_line, clip, fmt_num, fmt_score, fmt_time, group_line, level_text, mode_text,
    score_line,
};

/// Longest untrusted text kept per field (longer values are cut at a character boundary).
pub const MAX_FIELD_BYTES: usize = 4096;
/// Most alert ids a summarised group cites.
pub const GROUP_SAMPLE: usize = 3;
/// Most contributions kept per model explanation.
pub const TOP_CONTRIBUTIONS: usize = 3;
/// Longest entity value used as its own evidence id (longer ones get a derived id, so a
/// prompt label `<id>@<field>` stays within the guard's 64-character label).
pub const MAX_PLAIN_ID: usize = 40;
/// Most triggering events per alert kept as evidence items (the rest are counted).
pub const EVENTS_PER_ALERT: usize = 5;
/// Most event fields attached to one fact sheet.
pub const MAX_EVENT_FIELDS: usize = 2000;

/// Event fields worth quoting in a narrative, in the order they are attached.
pub const EVENT_FIELDS: [&str; 10] = [
    "process.command_line",
    "process.parent.command_line",
    "process.executable",
    "file.path",
    "url.full",
    "dns.question.name",
    "registry.path",
    "rule.description",
    "event.action",
    "message",
];

/// How much of the incident the sheet describes alert by alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// Every alert individually.
    Full,
    /// Alerts grouped by rule and host, with counts and a few sample ids.
    ByRuleAndHost,
    /// Alerts grouped by rule, with host counts.
    ByRule,
    /// Grouped by rule and only the most severe groups kept; the rest are counted.
    TopRules,
}

/// A model score and its largest contributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreFact {
    /// The model's name.
    pub model: String,
    /// The model's version.
    pub model_version: String,
    /// Expected raw output over the background data.
    pub base_value: f64,
    /// The raw output explained.
    pub raw_output: f64,
    /// The largest contributions, largest magnitude first.
    pub top: Vec<Contribution>,
}

/// One alert, as the narrative sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertFact {
    /// The alert's id (its evidence id).
    pub id: AlertId,
    /// Which detector raised it.
    pub source: AlertSource,
    /// The rule or model id (untrusted: rules and imported alerts come from outside).
    pub rule_id: String,
    /// The title (untrusted).
    pub title: String,
    /// Severity.
    pub level: Level,
    /// Model score in `[0, 1]`, if any.
    pub score: Option<f64>,
    /// Technique ids.
    pub techniques: Vec<String>,
    /// Host names among its entities.
    pub hosts: Vec<String>,
    /// Evidence ids of its entities.
    pub entity_ids: Vec<String>,
    /// The events that triggered it.
    pub event_ids: Vec<EventId>,
    /// First event time.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last event time.
    pub last_seen: Option<DateTime<Utc>>,
    /// The model explanation, trimmed to the top contributions.
    pub explanation: Option<ScoreFact>,
}

/// Alerts of one rule (and host) summarised together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertGroup {
    /// The rule id.
    pub rule_id: String,
    /// The title of the first alert of the group.
    pub title: String,
    /// The host, when grouped by rule and host and the alerts name one.
    pub host: Option<String>,
    /// How many distinct hosts the alerts name.
    pub hosts: usize,
    /// How many alerts.
    pub count: usize,
    /// The highest level.
    pub level: Level,
    /// The highest model score, if any.
    pub max_score: Option<f64>,
    /// Up to [`GROUP_SAMPLE`] alert ids, earliest first (each is an evidence id).
    pub sample: Vec<AlertId>,
    /// First event time over the group.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last event time over the group.
    pub last_seen: Option<DateTime<Utc>>,
}

/// A technique seen in the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechniqueFact {
    /// ATT&CK or ATLAS id (its evidence id).
    pub id: String,
    /// Its name, when the catalogue knows it.
    pub name: Option<String>,
    /// The alerts that carry it.
    pub alert_ids: Vec<AlertId>,
}

/// An entity involved in the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityFact {
    /// Its evidence id (the value itself, or a derived `ent_…` id; see the module docs).
    pub evidence_id: String,
    /// The entity.
    pub entity: EntityRef,
    /// The alerts that name it.
    pub alert_ids: Vec<AlertId>,
}

/// A policy decision about the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionFact {
    /// The decision's id (its evidence id).
    pub id: DecisionId,
    /// The action.
    pub action: String,
    /// Its autonomy mode.
    pub mode: ActionMode,
    /// The policy that matched.
    pub policy_id: String,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
}

/// One field of one triggering event (a command line, a URL, a message); untrusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventField {
    /// The event (its evidence id).
    pub event_id: EventId,
    /// The ECS field name.
    pub field: String,
    /// The value, cut to [`MAX_FIELD_BYTES`].
    pub text: String,
}

/// What a summarised sheet left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omitted {
    /// Alerts not described individually (summarised in groups or dropped).
    pub alerts: usize,
    /// Alert groups dropped at [`Detail::TopRules`].
    pub groups: usize,
    /// Entities dropped.
    pub entities: usize,
    /// Event fields dropped.
    pub event_fields: usize,
    /// Alert ids the incident lists but that were not supplied.
    pub missing_alerts: usize,
}

/// One evidence item: an id and the labelled texts it stands for, in the form a prompt
/// carries them (every text is treated as untrusted by the LLM renderer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceItem {
    /// The evidence id.
    pub id: String,
    /// `(ECS field, text)` pairs.
    pub parts: Vec<(String, String)>,
}

/// A typed summary of one incident: what a narrative may say, under evidence ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactSheet {
    /// The incident.
    pub incident_id: IncidentId,
    /// Its title (untrusted: built from alert titles).
    pub title: String,
    /// Its risk score.
    pub score: f64,
    /// First event time.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last event time.
    pub last_seen: Option<DateTime<Utc>>,
    /// Tactics in kill-chain order.
    pub tactics: Vec<String>,
    /// How many alerts the incident has.
    pub alert_count: usize,
    /// Alerts described one by one, in time order (empty when summarised).
    pub alerts: Vec<AlertFact>,
    /// Alert groups (when summarised).
    pub groups: Vec<AlertGroup>,
    /// Techniques, in the incident's order.
    pub techniques: Vec<TechniqueFact>,
    /// Entities, most-cited first.
    pub entities: Vec<EntityFact>,
    /// Decisions, in time order.
    pub decisions: Vec<DecisionFact>,
    /// Event fields attached with [`FactSheet::attach_events`].
    pub event_fields: Vec<EventField>,
    /// How much detail the sheet keeps.
    pub detail: Detail,
    /// What was left out.
    pub omitted: Omitted,
}

/// Approximate tokens of a text (4 bytes a token, the usual rule for English and logs).
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

impl FactSheet {
    /// Builds the full fact sheet of `incident` from its `alerts` (others are ignored) and the
    /// `decisions` about it; `technique_name` names technique ids (ATT&CK, ATLAS).
    pub fn build(
        incident: &Incident,
        alerts: &[Alert],
        decisions: &[Decision],
        technique_name: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        let wanted: BTreeSet<AlertId> = incident.alert_ids.iter().copied().collect();
        let mut seen = BTreeSet::new();
        let mut mine: Vec<&Alert> = alerts
            .iter()
            .filter(|a| wanted.contains(&a.id) && seen.insert(a.id))
            .collect();
        mine.sort_by(|a, b| {
            (a.first_seen, a.id.to_string()).cmp(&(b.first_seen, b.id.to_string()))
        });

        let entities = entity_facts(incident, &mine);
        let entity_id: BTreeMap<&EntityRef, &str> = entities
            .iter()
            .map(|e| (&e.entity, e.evidence_id.as_str()))
            .collect();
        let alert_facts: Vec<AlertFact> = mine.iter().map(|a| alert_fact(a, &entity_id)).collect();
        let techniques = technique_facts(incident, &mine, technique_name);
        let mut decision_facts: Vec<DecisionFact> = decisions
            .iter()
            .filter(|d| d.incident_id == incident.id)
            .map(|d| DecisionFact {
                id: d.id,
                action: clip(&d.action),
                mode: d.mode,
                policy_id: clip(&d.policy_id),
                decided_at: d.decided_at,
            })
            .collect();
        decision_facts.sort_by_key(|d| (d.decided_at, d.id));
        decision_facts.dedup_by_key(|d| d.id);
        Self {
            incident_id: incident.id,
            title: clip(&incident.title),
            score: incident.score,
            first_seen: incident.first_seen,
            last_seen: incident.last_seen,
            tactics: incident.tactics.iter().map(|t| clip(t)).collect(),
            alert_count: incident.alert_ids.len(),
            alerts: alert_facts,
            groups: Vec::new(),
            techniques,
            entities,
            decisions: decision_facts,
            event_fields: Vec::new(),
            detail: Detail::Full,
            omitted: Omitted {
                missing_alerts: wanted.len().saturating_sub(mine.len()),
                ..Omitted::default()
            },
        }
    }

    /// Like [`FactSheet::build`], then summarised (see [`FactSheet::fit`]) to at most
    /// `max_tokens` of evidence.
    pub fn build_within(
        incident: &Incident,
        alerts: &[Alert],
        decisions: &[Decision],
        technique_name: &dyn Fn(&str) -> Option<String>,
        max_tokens: usize,
    ) -> Self {
        let mut sheet = Self::build(incident, alerts, decisions, technique_name);
        sheet.fit(max_tokens);
        sheet
    }

    /// Attaches the narrative-worthy fields ([`EVENT_FIELDS`]) of the `events` that
    /// triggered the sheet's alerts; other events are ignored. Values are untrusted and are
    /// screened before any prompt is built.
    pub fn attach_events(&mut self, events: &[Event]) {
        let wanted: BTreeSet<EventId> = self
            .alerts
            .iter()
            .flat_map(|a| a.event_ids.iter().copied())
            .collect();
        let mut done: BTreeSet<EventId> = self.event_fields.iter().map(|f| f.event_id).collect();
        for event in events {
            if !wanted.contains(&event.id) || !done.insert(event.id) {
                continue;
            }
            let fields = event.ecs.flatten();
            for name in EVENT_FIELDS {
                let value = fields
                    .get(name)
                    .or_else(|| event.attributes.get(name))
                    .and_then(serde_json::Value::as_str);
                let Some(value) = value else {
                    continue;
                };
                if value.trim().is_empty() {
                    continue;
                }
                if self.event_fields.len() >= MAX_EVENT_FIELDS {
                    self.omitted.event_fields += 1;
                    continue;
                }
                self.event_fields.push(EventField {
                    event_id: event.id,
                    field: name.to_owned(),
                    text: clip(value),
                });
            }
        }
    }

    /// Attaches one untrusted event field (for callers that hold fields rather than events).
    pub fn attach_event_field(&mut self, event_id: EventId, field: &str, text: &str) {
        if self.event_fields.len() >= MAX_EVENT_FIELDS {
            self.omitted.event_fields += 1;
            return;
        }
        self.event_fields.push(EventField {
            event_id,
            field: clip(field),
            text: clip(text),
        });
    }

    /// Estimated prompt tokens of the sheet's evidence.
    pub fn estimated_tokens(&self) -> usize {
        self.evidence()
            .iter()
            .map(|item| {
                estimate_tokens(&item.id)
                    + item
                        .parts
                        .iter()
                        .map(|(f, t)| part_tokens(f, t))
                        .sum::<usize>()
            })
            .sum()
    }

    /// Every evidence id of the sheet, in [`FactSheet::evidence`] order.
    pub fn evidence_ids(&self) -> Vec<String> {
        self.evidence().into_iter().map(|i| i.id).collect()
    }

    /// The evidence items, incident first, then alerts (or groups), techniques, entities,
    /// decisions and event fields. Items with the same id are merged.
    pub fn evidence(&self) -> Vec<EvidenceItem> {
        let mut items: Vec<EvidenceItem> = Vec::new();
        let mut at: BTreeMap<String, usize> = BTreeMap::new();
        let mut push = |id: String, field: &str, text: String| {
            if text.trim().is_empty() {
                return;
            }
            let i = *at.entry(id.clone()).or_insert_with(|| {
                items.push(EvidenceItem {
                    id,
                    parts: Vec::new(),
                });
                items.len() - 1
            });
            if let Some(item) = items.get_mut(i) {
                item.parts.push((field.to_owned(), text));
            }
        };
        let inc = self.incident_id.to_string();
        push(inc.clone(), "message", self.title.clone());
        push(
            inc.clone(),
            "event.severity",
            format!(
                "risk score {}; {} alerts; first seen {}; last seen {}",
                fmt_score(self.score),
                self.alert_count,
                fmt_time(self.first_seen),
                fmt_time(self.last_seen)
            ),
        );
        push(inc, "threat.tactic.name", self.tactics.join(", "));
        for a in &self.alerts {
            let id = a.id.to_string();
            push(id.clone(), "rule.name", a.title.clone());
            push(id.clone(), "rule.id", a.rule_id.clone());
            push(id.clone(), "event.severity", alert_facts_line(a));
            push(id.clone(), "threat.technique.id", a.techniques.join(", "));
            push(id.clone(), "host.name", a.hosts.join(", "));
            if let Some(s) = &a.explanation {
                push(id, "message", score_line(s));
            }
            for e in a.event_ids.iter().take(EVENTS_PER_ALERT) {
                push(
                    e.to_string(),
                    "event.severity",
                    format!("triggered an alert at level {}", level_text(a.level)),
                );
            }
        }
        for g in &self.groups {
            for (id, field, text) in group_parts(g) {
                push(id, field, text);
            }
        }
        for t in &self.techniques {
            push(t.id.clone(), "threat.technique.id", t.id.clone());
            if let Some(name) = &t.name {
                push(t.id.clone(), "threat.technique.name", name.clone());
            }
            push(
                t.id.clone(),
                "event.severity",
                format!("seen in {} alerts", t.alert_ids.len()),
            );
        }
        for e in &self.entities {
            for (id, field, text) in entity_parts(e) {
                push(id, field, text);
            }
        }
        for d in &self.decisions {
            let id = d.id.to_string();
            push(id.clone(), "event.action", d.action.clone());
            push(
                id,
                "event.outcome",
                format!(
                    "{}; policy {}; decided at {}",
                    mode_text(d.mode),
                    d.policy_id,
                    fmt_time(Some(d.decided_at))
                ),
            );
        }
        for f in &self.event_fields {
            push(f.event_id.to_string(), &f.field, f.text.clone());
        }
        items
    }
}

/// Tokens one labelled text adds to a prompt (its label, its text, the block markers).
pub(crate) fn part_tokens(field: &str, text: &str) -> usize {
    estimate_tokens(field) + estimate_tokens(text) + 8
}

/// The evidence texts of a summarised group: one item per sample alert id.
pub(crate) fn group_parts(g: &AlertGroup) -> Vec<(String, &'static str, String)> {
    let mut parts = Vec::with_capacity(g.sample.len() * 3);
    for sample in &g.sample {
        let id = sample.to_string();
        parts.push((id.clone(), "rule.name", g.title.clone()));
        parts.push((id.clone(), "rule.id", g.rule_id.clone()));
        parts.push((id, "event.severity", group_line(g, str::to_owned)));
    }
    parts
}

/// The evidence texts of an entity.
pub(crate) fn entity_parts(e: &EntityFact) -> Vec<(String, &'static str, String)> {
    vec![
        (
            e.evidence_id.clone(),
            entity_field(e.entity.kind),
            e.entity.value.clone(),
        ),
        (
            e.evidence_id.clone(),
            "event.severity",
            format!("named in {} alerts", e.alert_ids.len()),
        ),
    ]
}

/// The ECS field an entity kind is quoted under.
pub fn entity_field(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Host => "host.name",
        EntityKind::User => "user.name",
        EntityKind::Ip => "source.ip",
        EntityKind::Process => "process.name",
        EntityKind::FileHash => "file.hash.sha256",
        EntityKind::Domain => "dns.question.name",
        EntityKind::Url => "url.full",
        EntityKind::Email => "user.email",
    }
}

/// The evidence id of an entity: its value when that is a plain token and not personal
/// data, else `ent_<kind>_<12 hex of SHA-256>`.
pub fn entity_evidence_id(entity: &EntityRef) -> String {
    let plain = !matches!(entity.kind, EntityKind::User | EntityKind::Email)
        && !entity.value.is_empty()
        && entity.value.len() <= MAX_PLAIN_ID
        && entity
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && entity
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if plain {
        return entity.value.clone();
    }
    let kind = match entity.kind {
        EntityKind::Host => "host",
        EntityKind::User => "user",
        EntityKind::Ip => "ip",
        EntityKind::Process => "process",
        EntityKind::FileHash => "file",
        EntityKind::Domain => "domain",
        EntityKind::Url => "url",
        EntityKind::Email => "email",
    };
    let digest = Sha256::digest(entity.value.as_bytes());
    let hex = hex::encode(digest);
    format!("ent_{kind}_{}", hex.get(..12).unwrap_or(&hex))
}

fn entity_facts(incident: &Incident, alerts: &[&Alert]) -> Vec<EntityFact> {
    let mut by_entity: BTreeMap<EntityRef, Vec<AlertId>> = BTreeMap::new();
    for e in &incident.entities {
        by_entity.entry(clip_entity(e)).or_default();
    }
    for a in alerts {
        for e in &a.entities {
            let ids = by_entity.entry(clip_entity(e)).or_default();
            if !ids.contains(&a.id) {
                ids.push(a.id);
            }
        }
    }
    let mut facts: Vec<EntityFact> = by_entity
        .into_iter()
        .map(|(entity, alert_ids)| EntityFact {
            evidence_id: entity_evidence_id(&entity),
            entity,
            alert_ids,
        })
        .collect();
    facts.sort_by(|a, b| (b.alert_ids.len(), &a.entity).cmp(&(a.alert_ids.len(), &b.entity)));
    // Two entities whose derived ids collide would share citations; keep the first.
    let mut ids = BTreeSet::new();
    facts.retain(|f| ids.insert(f.evidence_id.clone()));
    facts
}

fn clip_entity(e: &EntityRef) -> EntityRef {
    EntityRef {
        kind: e.kind,
        value: clip(&e.value),
    }
}

fn alert_fact(a: &Alert, entity_id: &BTreeMap<&EntityRef, &str>) -> AlertFact {
    let mut hosts = Vec::new();
    let mut entity_ids = Vec::new();
    for e in &a.entities {
        let e = clip_entity(e);
        if e.kind == EntityKind::Host && !hosts.contains(&e.value) {
            hosts.push(e.value.clone());
        }
        if let Some(id) = entity_id.get(&e) {
            let id = (*id).to_owned();
            if !entity_ids.contains(&id) {
                entity_ids.push(id);
            }
        }
    }
    AlertFact {
        id: a.id,
        source: a.source,
        rule_id: clip(&a.rule_id),
        title: clip(&a.title),
        level: a.level,
        score: a.score,
        techniques: a.techniques.iter().map(|t| clip(t)).collect(),
        hosts,
        entity_ids,
        event_ids: a.event_ids.clone(),
        first_seen: a.first_seen,
        last_seen: a.last_seen,
        explanation: a.explanation.as_ref().map(|x| {
            let mut top = x.contributions.clone();
            top.sort_by(|p, q| q.contribution.abs().total_cmp(&p.contribution.abs()));
            top.truncate(TOP_CONTRIBUTIONS);
            for c in &mut top {
                c.feature = clip(&c.feature);
                c.value = clip(&c.value);
            }
            ScoreFact {
                model: clip(&x.model),
                model_version: clip(&x.model_version),
                base_value: x.base_value,
                raw_output: x.raw_output,
                top,
            }
        }),
    }
}

fn technique_facts(
    incident: &Incident,
    alerts: &[&Alert],
    technique_name: &dyn Fn(&str) -> Option<String>,
) -> Vec<TechniqueFact> {
    let mut order: Vec<String> = Vec::new();
    for t in incident
        .techniques
        .iter()
        .chain(alerts.iter().flat_map(|a| a.techniques.iter()))
    {
        let t = clip(t);
        if !order.contains(&t) {
            order.push(t);
        }
    }
    order
        .into_iter()
        .map(|id| TechniqueFact {
            name: technique_name(&id).map(|n| clip(&n)),
            alert_ids: alerts
                .iter()
                .filter(|a| a.techniques.contains(&id))
                .map(|a| a.id)
                .collect(),
            id,
        })
        .collect()
}
