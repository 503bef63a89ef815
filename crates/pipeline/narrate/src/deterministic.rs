//! The deterministic renderer: a markdown narrative written from the fact sheet alone.
//!
//! It is always available and is the fallback of the LLM renderer. Every line is one
//! sentence and ends with the evidence ids it rests on (`[alr_…]`). Untrusted text (titles,
//! rule ids, command lines) is quoted as an inline code span with brackets, backticks and
//! line breaks defused, so it can neither fake a citation nor render as markdown.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use rampart_core::EntityKind;

use crate::facts::{
    FactSheet, alert_facts_line, fmt_num, fmt_score, fmt_time, group_line, level_text, mode_text,
};
use crate::narrative::{Narrative, Renderer, cited_ids};

/// Longest quoted untrusted value, in characters.
pub const MAX_QUOTE_CHARS: usize = 160;
/// Most entities listed one by one.
pub const MAX_LISTED_ENTITIES: usize = 20;

/// Writes narratives from fact sheets without any model.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeterministicRenderer;

impl DeterministicRenderer {
    /// A renderer.
    pub fn new() -> Self {
        Self
    }

    /// The narrative of `sheet`: markdown in which every sentence cites evidence ids.
    pub fn render(&self, sheet: &FactSheet) -> Narrative {
        let known = sheet.evidence_ids();
        let mut w = Writer {
            have: known.iter().map(String::as_str).collect(),
            text: String::new(),
        };
        w.overview(sheet);
        w.timeline(sheet);
        w.groups(sheet);
        w.scores(sheet);
        w.techniques(sheet);
        w.entities(sheet);
        w.decisions(sheet);
        w.event_fields(sheet);
        let text = w.text;
        let citations = cited_ids(&text, &known);
        Narrative {
            incident_id: sheet.incident_id,
            renderer: Renderer::Deterministic,
            text,
            citations,
            fallback_reason: None,
            prompt_sha256: None,
            response_sha256: None,
        }
    }
}

/// The text being written and the evidence ids it may cite.
struct Writer<'a> {
    have: BTreeSet<&'a str>,
    text: String,
}

impl Writer<'_> {
    /// ` [id] [id]` for the ids that are evidence items.
    fn cite(&self, ids: &[String]) -> String {
        let mut out = String::new();
        for id in ids {
            if self.have.contains(id.as_str()) {
                let _ = write!(out, " [{id}]");
            }
        }
        out
    }

    fn inc_cite(&self, sheet: &FactSheet) -> String {
        self.cite(&[sheet.incident_id.to_string()])
    }

    fn overview(&mut self, sheet: &FactSheet) {
        let inc_cite = self.inc_cite(sheet);
        let text = &mut self.text;
        let _ = writeln!(text, "## Incident {}\n", sheet.incident_id);
        let _ = writeln!(
            text,
            "Incident {} has risk score {} over {}, first seen {} and last seen {}.{inc_cite}",
            quote(&sheet.title),
            fmt_score(sheet.score),
            count(sheet.alert_count, "alert"),
            fmt_time(sheet.first_seen),
            fmt_time(sheet.last_seen),
        );
        if !sheet.tactics.is_empty() {
            let tactics: Vec<String> = sheet.tactics.iter().map(|t| quote(t)).collect();
            let _ = writeln!(
                text,
                "Its tactics, in kill-chain order, are {}.{inc_cite}",
                tactics.join(", ")
            );
        }
        if sheet.omitted.missing_alerts > 0 {
            let _ = writeln!(
                text,
                "{} of its alerts were not available to this narrative.{inc_cite}",
                sheet.omitted.missing_alerts
            );
        }
    }

    fn timeline(&mut self, sheet: &FactSheet) {
        if sheet.alerts.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "\n### Timeline\n");
        for a in &sheet.alerts {
            let hosts = if a.hosts.is_empty() {
                "no named host".to_owned()
            } else {
                let h: Vec<String> = a.hosts.iter().map(|h| quote(h)).collect();
                format!("host {}", h.join(", "))
            };
            let mut ids = vec![a.id.to_string()];
            ids.extend(a.event_ids.iter().map(ToString::to_string));
            let cite = self.cite(&ids);
            let _ = writeln!(
                self.text,
                "- At {}, {} alert {} (rule {}) fired on {hosts} ({}).{cite}",
                fmt_time(a.first_seen),
                level_text(a.level),
                quote(&a.title),
                quote(&a.rule_id),
                alert_facts_line(a),
            );
        }
    }

    fn groups(&mut self, sheet: &FactSheet) {
        if sheet.groups.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "\n### Alerts by rule\n");
        for g in &sheet.groups {
            let ids: Vec<String> = g.sample.iter().map(ToString::to_string).collect();
            let cite = self.cite(&ids);
            let _ = writeln!(
                self.text,
                "- Rule {} ({}) raised {}.{cite}",
                quote(&g.rule_id),
                quote(&g.title),
                group_line(g, quote),
            );
        }
        if sheet.omitted.groups > 0 {
            let inc_cite = self.inc_cite(sheet);
            let _ = writeln!(
                self.text,
                "- {} less severe rule groups are not listed.{inc_cite}",
                sheet.omitted.groups
            );
        }
    }

    fn scores(&mut self, sheet: &FactSheet) {
        let scored: Vec<_> = sheet
            .alerts
            .iter()
            .filter_map(|a| a.explanation.as_ref().map(|x| (a, x)))
            .collect();
        if scored.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "\n### Scores\n");
        for (a, x) in scored {
            let score = a.score.map_or_else(
                || "a score".to_owned(),
                |s| format!("score {}", fmt_score(s)),
            );
            let mut line = format!(
                "- Model {} {} gave alert {} {score} (raw output {} against a base value of {})",
                quote(&x.model),
                quote(&x.model_version),
                a.id,
                fmt_num(x.raw_output),
                fmt_num(x.base_value)
            );
            if !x.top.is_empty() {
                let parts: Vec<String> = x
                    .top
                    .iter()
                    .map(|c| {
                        format!(
                            "{} = {} ({:+})",
                            quote(&c.feature),
                            quote(&c.value),
                            (c.contribution * 1000.0).round() / 1000.0
                        )
                    })
                    .collect();
                let _ = write!(
                    line,
                    "; its largest contributions were {}",
                    parts.join(", ")
                );
            }
            let cite = self.cite(&[a.id.to_string()]);
            let _ = writeln!(self.text, "{line}.{cite}");
        }
    }

    fn techniques(&mut self, sheet: &FactSheet) {
        if sheet.techniques.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "\n### Techniques\n");
        for t in &sheet.techniques {
            let name = t
                .name
                .as_deref()
                .map_or_else(String::new, |n| format!(" ({})", quote(n)));
            let mut ids = vec![t.id.clone()];
            ids.extend(t.alert_ids.iter().map(ToString::to_string));
            let cite = self.cite(&ids);
            let _ = writeln!(
                self.text,
                "- Technique {}{name} appears in {}.{cite}",
                quote(&t.id),
                count(t.alert_ids.len(), "alert"),
            );
        }
    }

    fn entities(&mut self, sheet: &FactSheet) {
        if sheet.entities.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "\n### Entities\n");
        for e in sheet.entities.iter().take(MAX_LISTED_ENTITIES) {
            let kind = entity_kind_text(e.entity.kind);
            let mut ids = vec![e.evidence_id.clone()];
            ids.extend(e.alert_ids.iter().map(ToString::to_string));
            let cite = self.cite(&ids);
            let _ = writeln!(
                self.text,
                "- The {kind} {} is named in {}.{cite}",
                quote(&e.entity.value),
                count(e.alert_ids.len(), "alert"),
            );
        }
        let more =
            sheet.entities.len().saturating_sub(MAX_LISTED_ENTITIES) + sheet.omitted.entities;
        if more > 0 {
            let inc_cite = self.inc_cite(sheet);
            let _ = writeln!(
                self.text,
                "- {more} more entities are not listed.{inc_cite}"
            );
        }
    }

    fn decisions(&mut self, sheet: &FactSheet) {
        if sheet.decisions.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "\n### Decisions\n");
        for d in &sheet.decisions {
            let cite = self.cite(&[d.id.to_string()]);
            let _ = writeln!(
                self.text,
                "- Policy {} decided {} ({}) at {}.{cite}",
                quote(&d.policy_id),
                quote(&d.action),
                mode_text(d.mode),
                fmt_time(Some(d.decided_at)),
            );
        }
    }

    fn event_fields(&mut self, sheet: &FactSheet) {
        if !sheet.event_fields.is_empty() {
            let _ = writeln!(self.text, "\n### Event details\n");
            for f in &sheet.event_fields {
                let cite = self.cite(&[f.event_id.to_string()]);
                let _ = writeln!(
                    self.text,
                    "- Event {} has {} {}.{cite}",
                    f.event_id,
                    quote(&f.field),
                    quote(&f.text),
                );
            }
        }
        if sheet.omitted.event_fields > 0 {
            let inc_cite = self.inc_cite(sheet);
            let _ = writeln!(
                self.text,
                "\n{} event fields were left out to fit the budget.{inc_cite}",
                sheet.omitted.event_fields
            );
        }
    }
}

/// `1 alert`, `3 alerts`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn entity_kind_text(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Host => "host",
        EntityKind::User => "user",
        EntityKind::Ip => "IP address",
        EntityKind::Process => "process",
        EntityKind::FileHash => "file hash",
        EntityKind::Domain => "domain",
        EntityKind::Url => "URL",
        EntityKind::Email => "e-mail address",
    }
}

/// Quotes untrusted text as an inline code span: whitespace runs and control characters
/// become one space, backticks become `'`, brackets become parentheses (so the value cannot
/// pose as a citation), and long values are cut with `…`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_QUOTE_CHARS * 4) + 2);
    out.push('`');
    let mut chars = 0usize;
    let mut space = false;
    for c in s.trim().chars() {
        if chars >= MAX_QUOTE_CHARS {
            out.push('…');
            break;
        }
        let c = match c {
            '`' => '\'',
            '[' => '(',
            ']' => ')',
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        };
        if c == ' ' {
            if space {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        out.push(c);
        chars += 1;
    }
    out.push('`');
    out
}
