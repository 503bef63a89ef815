//! The wording of facts, shared by the evidence texts and the deterministic renderer.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_core::{ActionMode, AlertSource, Level};

use super::{AlertFact, AlertGroup, MAX_FIELD_BYTES, ScoreFact};

/// `level high; score 0.93; source sigma; 3 events; first seen …; last seen …`.
pub(crate) fn alert_facts_line(a: &AlertFact) -> String {
    let mut s = format!("level {}", level_text(a.level));
    if let Some(score) = a.score {
        s.push_str("; score ");
        s.push_str(&fmt_score(score));
    }
    s.push_str("; source ");
    s.push_str(source_text(a.source));
    let _ = write!(
        s,
        "; {} event{}; first seen {}; last seen {}",
        a.event_ids.len(),
        if a.event_ids.len() == 1 { "" } else { "s" },
        fmt_time(a.first_seen),
        fmt_time(a.last_seen)
    );
    s
}

/// `4 alerts; level up to high; host …; first seen …; last seen …`, with the host (untrusted)
/// written by `host`: the deterministic renderer quotes it, the prompt's evidence keeps it
/// raw because the whole evidence text is spotlighted there.
pub(crate) fn group_line(g: &AlertGroup, host: impl Fn(&str) -> String) -> String {
    let mut s = format!("{} alerts; level up to {}", g.count, level_text(g.level));
    if let Some(score) = g.max_score {
        s.push_str("; score up to ");
        s.push_str(&fmt_score(score));
    }
    match &g.host {
        Some(h) => {
            let _ = write!(s, "; host {}", host(h));
        }
        None => {
            let _ = write!(s, "; {} hosts", g.hosts);
        }
    }
    let _ = write!(
        s,
        "; first seen {}; last seen {}",
        fmt_time(g.first_seen),
        fmt_time(g.last_seen)
    );
    s
}

pub(crate) fn score_line(s: &ScoreFact) -> String {
    let mut line = format!(
        "model {} {}: raw output {}, base value {}",
        s.model,
        s.model_version,
        fmt_num(s.raw_output),
        fmt_num(s.base_value)
    );
    if !s.top.is_empty() {
        line.push_str("; top contributions: ");
        let parts: Vec<String> = s
            .top
            .iter()
            .map(|c| format!("{}={} ({:+})", c.feature, c.value, round3(c.contribution)))
            .collect();
        line.push_str(&parts.join(", "));
    }
    line
}

/// A score with at most three decimals.
pub(crate) fn fmt_score(x: f64) -> String {
    fmt_num(x)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn fmt_num(x: f64) -> String {
    format!("{}", round3(x))
}

/// RFC 3339 seconds in UTC, or `unknown`.
pub(crate) fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "unknown".to_owned(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

pub(crate) fn level_text(l: Level) -> &'static str {
    match l {
        Level::Informational => "informational",
        Level::Low => "low",
        Level::Medium => "medium",
        Level::High => "high",
        Level::Critical => "critical",
    }
}

pub(crate) fn source_text(s: AlertSource) -> &'static str {
    match s {
        AlertSource::Sigma => "sigma",
        AlertSource::Correlation => "correlation",
        AlertSource::Anomaly => "anomaly",
        AlertSource::Scorer => "scorer",
        AlertSource::Indicator => "indicator",
        AlertSource::Imported => "imported",
    }
}

pub(crate) fn mode_text(m: ActionMode) -> String {
    match m {
        ActionMode::DryRun => "dry run".to_owned(),
        ActionMode::NeedsApproval(n) => format!("needs {n} approvals"),
        ActionMode::Automatic => "automatic".to_owned(),
    }
}

/// Cuts `s` to [`MAX_FIELD_BYTES`] at a character boundary.
pub(crate) fn clip(s: &str) -> String {
    if s.len() <= MAX_FIELD_BYTES {
        return s.to_owned();
    }
    let mut end = MAX_FIELD_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}
