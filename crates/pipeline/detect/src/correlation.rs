//! Sigma correlation rules (specification v2): parsing and reference resolution.
//!
//! A correlation refers to single-event rules or other correlations by `id` or `name`, groups
//! their matches by `group-by` fields (through `aliases` when the referenced rules call the
//! same thing by different names), and fires when its condition holds within `timespan`.
//! Types: `event_count`, `value_count`, `temporal`, `temporal_ordered`, and the metric types
//! `value_sum`, `value_avg` and `value_percentile` (the metric of `condition.field` compared
//! with the bounds; `value_percentile` also takes `condition.percentile`, default 50).
//! Streaming evaluation lives in [`crate::Correlator`].

use std::collections::HashMap;

use crate::detection::FieldId;
use crate::fields::Family;
use crate::rule::{self, RuleInfo};
use crate::ruleset::RuleSet;
use crate::yaml::Node;

/// Longest timespan accepted (a year): windows longer than that hold state without bound.
const MAX_TIMESPAN_MS: i64 = 366 * 24 * 3600 * 1000;
/// Deepest chain of correlations referring to correlations.
pub(crate) const MAX_CHAIN: usize = 16;

/// The correlation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

/// A bound of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound {
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Eq(f64),
}

impl Bound {
    pub(crate) fn holds(self, value: f64) -> bool {
        match self {
            Self::Gt(b) => value > b,
            Self::Gte(b) => value >= b,
            Self::Lt(b) => value < b,
            Self::Lte(b) => value <= b,
            Self::Eq(b) => (value - b).abs() < f64::EPSILON,
        }
    }

    /// Whether more events can make the bound fail again (an upper bound): such conditions
    /// are decided when a window closes rather than when an event arrives.
    pub(crate) fn is_upper(self) -> bool {
        matches!(self, Self::Lt(_) | Self::Lte(_) | Self::Eq(_))
    }
}

/// What a correlation refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A single-event rule, by index.
    Rule(usize),
    /// Another correlation, by index.
    Correlation(usize),
}

/// A compiled correlation rule.
#[derive(Debug, Clone)]
pub(crate) struct CorrelationRule {
    pub info: RuleInfo,
    pub kind: Kind,
    pub sources: Vec<Source>,
    /// Per source, per `group-by` entry: the field name to read (aliases resolved), as an
    /// index into [`Fields::names`].
    pub group_fields: Vec<Vec<usize>>,
    /// Per source: the value field (`value_count` and the metric types).
    pub value_field: Option<Vec<usize>>,
    pub timespan_ms: i64,
    pub bounds: Vec<Bound>,
    pub percentile: f64,
    /// Whether it raises alerts (false when it only feeds another correlation).
    pub generate: bool,
}

impl CorrelationRule {
    /// Whether the condition has an upper bound (decided at window close).
    pub(crate) fn tumbling(&self) -> bool {
        self.bounds.iter().any(|b| b.is_upper())
    }

    /// Whether a metric satisfies every bound.
    pub(crate) fn holds(&self, value: f64) -> bool {
        self.bounds.iter().all(|b| b.holds(value))
    }
}

/// The field names correlations read, and for each single-event rule that feeds a
/// correlation, the ids of those fields under the rule's field mapping.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    pub names: Vec<String>,
    /// Per rule index that feeds a correlation: field id per name.
    pub by_rule: HashMap<usize, Vec<FieldId>>,
}

/// What compiling the correlations of a load rejected.
pub(crate) struct Outcome {
    pub rejected: Vec<(String, Option<String>, String)>,
}

struct Parsed {
    file: String,
    info: RuleInfo,
    kind: Kind,
    references: Vec<String>,
    group_by: Vec<String>,
    aliases: Aliases,
    value_field: Option<String>,
    timespan_ms: i64,
    bounds: Vec<Bound>,
    percentile: f64,
    generate: bool,
}

/// Parses a timespan: a number and `s`, `m`, `h` or `d`.
pub(crate) fn parse_timespan(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("correlation timespan `{text}` is not a number followed by s, m, h or d");
    let unit = text.chars().last().ok_or_else(bad)?;
    let number: i64 = text
        .get(..text.len() - unit.len_utf8())
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)?;
    let scale = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return Err(bad()),
    };
    let ms = number.checked_mul(scale).ok_or_else(bad)?;
    if ms <= 0 || ms > MAX_TIMESPAN_MS {
        return Err(format!(
            "correlation timespan `{text}` must be positive and at most 366d"
        ));
    }
    Ok(ms)
}

fn strings(node: Option<&Node>, what: &str) -> Result<Vec<String>, String> {
    match node {
        None => Ok(Vec::new()),
        Some(Node::Seq(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("correlation `{what}` items must be strings"))
            })
            .collect(),
        Some(other) => other
            .as_str()
            .map(|s| vec![s.to_owned()])
            .ok_or_else(|| format!("correlation `{what}` must be a list of strings")),
    }
}

type Aliases = HashMap<String, HashMap<String, String>>;

fn parse_aliases(node: Option<&Node>) -> Result<Aliases, String> {
    let mut aliases = HashMap::new();
    if let Some(Node::Map(entries)) = node {
        for (alias, mapping) in entries {
            let alias = alias
                .as_str()
                .ok_or("correlation alias names must be strings")?;
            let Node::Map(per_rule) = mapping else {
                return Err(format!(
                    "correlation alias `{alias}` must map rule names to fields"
                ));
            };
            let mut fields = HashMap::new();
            for (rule, field) in per_rule {
                let (Some(rule), Some(field)) = (rule.as_str(), field.as_str()) else {
                    return Err(format!(
                        "correlation alias `{alias}` must map names to fields"
                    ));
                };
                fields.insert(rule.to_owned(), field.to_owned());
            }
            aliases.insert(alias.to_owned(), fields);
        }
    }
    Ok(aliases)
}

fn parse_condition(node: Option<&Node>) -> Result<(Vec<Bound>, Option<String>, f64), String> {
    let mut bounds = Vec::new();
    let mut value_field = None;
    let mut percentile = 50.0;
    match node {
        Some(Node::Map(entries)) => {
            for (key, value) in entries {
                let key = key.as_str().unwrap_or_default();
                let number = || {
                    value
                        .as_str()
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| format!("correlation condition `{key}` needs a number"))
                };
                match key {
                    "gt" => bounds.push(Bound::Gt(number()?)),
                    "gte" => bounds.push(Bound::Gte(number()?)),
                    "lt" => bounds.push(Bound::Lt(number()?)),
                    "lte" => bounds.push(Bound::Lte(number()?)),
                    "eq" => bounds.push(Bound::Eq(number()?)),
                    "field" => {
                        value_field = Some(
                            value
                                .as_str()
                                .ok_or("correlation condition `field` must be a string")?
                                .to_owned(),
                        );
                    }
                    "percentile" => {
                        percentile = number()?;
                        if !(0.0..=100.0).contains(&percentile) {
                            return Err("correlation percentile must be within 0..=100".to_owned());
                        }
                    }
                    other => return Err(format!("unknown correlation condition `{other}`")),
                }
            }
        }
        Some(_) => return Err("correlation `condition` must be a map".to_owned()),
        None => {}
    }
    Ok((bounds, value_field, percentile))
}

fn parse(file: &str, doc: &Node) -> Result<Parsed, String> {
    let info = rule::info(doc, file)?;
    let body = doc.get("correlation").ok_or("missing `correlation`")?;
    if !matches!(body, Node::Map(_)) {
        return Err("correlation: `correlation` must be a map".to_owned());
    }
    let kind = match body.get("type").and_then(Node::as_str) {
        Some("event_count") => Kind::EventCount,
        Some("value_count") => Kind::ValueCount,
        Some("temporal") => Kind::Temporal,
        Some("temporal_ordered") => Kind::TemporalOrdered,
        Some("value_sum") => Kind::ValueSum,
        Some("value_avg") => Kind::ValueAvg,
        Some("value_percentile") => Kind::ValuePercentile,
        Some(other) => return Err(format!("unknown correlation type `{other}`")),
        None => return Err("correlation: missing `type`".to_owned()),
    };
    let references = strings(body.get("rules"), "rules")?;
    if references.is_empty() {
        return Err("correlation: `rules` is empty".to_owned());
    }
    let group_by = strings(body.get("group-by"), "group-by")?;
    let timespan_ms = parse_timespan(
        body.get("timespan")
            .or_else(|| body.get("timeframe"))
            .and_then(Node::as_str)
            .ok_or("correlation: missing `timespan`")?,
    )?;
    let aliases = parse_aliases(body.get("aliases"))?;
    let (bounds, value_field, percentile) = parse_condition(body.get("condition"))?;
    let needs_field = matches!(
        kind,
        Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile
    );
    if needs_field && value_field.is_none() {
        return Err("correlation: this type needs `condition.field`".to_owned());
    }
    let temporal = matches!(kind, Kind::Temporal | Kind::TemporalOrdered);
    if bounds.is_empty() && !temporal {
        return Err("correlation: `condition` needs a bound (gt, gte, lt, lte, eq)".to_owned());
    }
    let generate = match doc.get("generate").or_else(|| body.get("generate")) {
        Some(node) => node.as_str() == Some("true"),
        None => false,
    };
    Ok(Parsed {
        file: file.to_owned(),
        info,
        kind,
        references,
        group_by,
        aliases,
        value_field,
        timespan_ms,
        bounds,
        percentile,
        generate,
    })
}

/// Lookups by `id` and `name`.
struct Keys {
    rules: HashMap<String, usize>,
    correlations: HashMap<String, usize>,
}

/// What compiling one parsed correlation needs to know about the others.
struct Progress {
    /// Per parsed correlation: its index in the rule set once compiled.
    compiled: Vec<Option<usize>>,
    /// Per parsed correlation: whether it was rejected.
    failed: Vec<bool>,
}

enum Resolution {
    Ready(Vec<Source>),
    Waiting,
    Rejected(String),
}

fn resolve_references(p: &Parsed, index: usize, keys: &Keys, progress: &Progress) -> Resolution {
    let mut sources = Vec::new();
    let mut waiting = false;
    for reference in &p.references {
        if let Some(&rule) = keys.rules.get(reference) {
            sources.push(Source::Rule(rule));
        } else if let Some(&other) = keys.correlations.get(reference) {
            if other == index {
                return Resolution::Rejected(format!(
                    "correlation refers to itself as `{reference}`"
                ));
            }
            if progress.failed.get(other).copied().unwrap_or(true) {
                return Resolution::Rejected(format!(
                    "correlation refers to rejected correlation `{reference}`"
                ));
            }
            match progress.compiled.get(other).copied().flatten() {
                Some(done) => sources.push(Source::Correlation(done)),
                None => waiting = true,
            }
        } else {
            return Resolution::Rejected(format!(
                "correlation refers to unknown rule `{reference}`"
            ));
        }
    }
    if waiting {
        Resolution::Waiting
    } else {
        Resolution::Ready(sources)
    }
}

/// The index of a correlation field name, adding it on first use.
fn field_index(fields: &mut Fields, name: String) -> usize {
    if let Some(at) = fields.names.iter().position(|n| *n == name) {
        at
    } else {
        fields.names.push(name);
        fields.names.len() - 1
    }
}

/// Builds a correlation whose references are resolved.
fn build(p: &Parsed, sources: Vec<Source>, set: &RuleSet, fields: &mut Fields) -> CorrelationRule {
    let infos: Vec<Option<&RuleInfo>> = sources
        .iter()
        .map(|source| match *source {
            Source::Rule(r) => set.rules.get(r).map(|rule| &rule.info),
            Source::Correlation(c) => set.correlations.get(c).map(|rule| &rule.info),
        })
        .collect();
    // A group-by name is an alias when the correlation defines one for the source's name.
    let mut field_for = |wanted: &str, source: usize| {
        let name = infos
            .get(source)
            .copied()
            .flatten()
            .and_then(|info| info.name.as_ref())
            .and_then(|source_name| p.aliases.get(wanted)?.get(source_name))
            .cloned()
            .unwrap_or_else(|| wanted.to_owned());
        field_index(fields, name)
    };
    let group_fields = (0..sources.len())
        .map(|s| p.group_by.iter().map(|g| field_for(g, s)).collect())
        .collect();
    let value_field = p
        .value_field
        .as_ref()
        .map(|wanted| (0..sources.len()).map(|s| field_for(wanted, s)).collect());
    // The correlation's alerts carry the ATT&CK tags of what it correlates as well.
    let mut info = p.info.clone();
    for inner in infos.iter().flatten() {
        for technique in &inner.techniques {
            if !info.techniques.contains(technique) {
                info.techniques.push(technique.clone());
            }
        }
        for tactic in &inner.tactics {
            if !info.tactics.contains(tactic) {
                info.tactics.push(tactic.clone());
            }
        }
    }
    CorrelationRule {
        info,
        kind: p.kind,
        sources,
        group_fields,
        value_field,
        timespan_ms: p.timespan_ms,
        bounds: p.bounds.clone(),
        percentile: p.percentile,
        generate: true,
    }
}

/// Parses every correlation document and resolves what it refers to; correlations that
/// refer to correlations are compiled after them, and cycles or unknown references rejected.
pub(crate) fn compile_all(pending: &[(String, Node)], set: &mut RuleSet) -> Outcome {
    let mut rejected = Vec::new();
    let mut parsed = Vec::new();
    for (file, doc) in pending {
        let id = doc.get("id").and_then(Node::as_str).map(str::to_owned);
        match parse(file, doc) {
            Ok(p) => parsed.push(p),
            Err(reason) => rejected.push((file.clone(), id, reason)),
        }
    }
    let mut keys = Keys {
        rules: HashMap::new(),
        correlations: HashMap::new(),
    };
    for (index, rule) in set.rules.iter().enumerate() {
        keys.rules.entry(rule.info.id.clone()).or_insert(index);
        if let Some(name) = &rule.info.name {
            keys.rules.entry(name.clone()).or_insert(index);
        }
    }
    for (index, p) in parsed.iter().enumerate() {
        keys.correlations.entry(p.info.id.clone()).or_insert(index);
        if let Some(name) = &p.info.name {
            keys.correlations.entry(name.clone()).or_insert(index);
        }
    }
    // Compile in dependency order: a correlation is ready once all the correlations it
    // refers to are compiled; whatever is still waiting at the end is in a cycle.
    let mut progress = Progress {
        compiled: vec![None; parsed.len()],
        failed: vec![false; parsed.len()],
    };
    let mut fields = Fields::default();
    let mut silenced = Vec::new();
    let mut changed = true;
    while changed {
        changed = false;
        for (index, p) in parsed.iter().enumerate() {
            let done = progress.compiled.get(index).copied().flatten().is_some();
            if done || progress.failed.get(index).copied().unwrap_or(true) {
                continue;
            }
            match resolve_references(p, index, &keys, &progress) {
                Resolution::Waiting => continue,
                Resolution::Rejected(reason) => {
                    if let Some(flag) = progress.failed.get_mut(index) {
                        *flag = true;
                    }
                    rejected.push((p.file.clone(), Some(p.info.id.clone()), reason));
                }
                Resolution::Ready(sources) => {
                    if !p.generate {
                        silenced.extend(sources.iter().copied());
                    }
                    let rule = build(p, sources, set, &mut fields);
                    if let Some(slot) = progress.compiled.get_mut(index) {
                        *slot = Some(set.correlations.len());
                    }
                    set.correlations.push(rule);
                }
            }
            changed = true;
        }
    }
    for (index, p) in parsed.iter().enumerate() {
        let undecided = progress.compiled.get(index).copied().flatten().is_none()
            && !progress.failed.get(index).copied().unwrap_or(true);
        if undecided {
            rejected.push((
                p.file.clone(),
                Some(p.info.id.clone()),
                "correlation refers to correlations in a cycle".to_owned(),
            ));
        }
    }
    // Per the specification, rules a correlation refers to raise no alerts of their own
    // unless it says `generate: true`.
    for source in silenced {
        match source {
            Source::Rule(r) => {
                if let Some(rule) = set.rules.get_mut(r) {
                    rule.generate = false;
                }
            }
            Source::Correlation(c) => {
                if let Some(correlation) = set.correlations.get_mut(c) {
                    correlation.generate = false;
                }
            }
        }
    }
    intern_fields(&mut fields, set);
    set.correlation_fields = fields;
    Outcome { rejected }
}

/// Resolves the correlation field names under the field mapping of each rule that feeds a
/// correlation.
fn intern_fields(fields: &mut Fields, set: &mut RuleSet) {
    let mut feeding: Vec<usize> = set
        .correlations
        .iter()
        .flat_map(|c| c.sources.iter())
        .filter_map(|s| match *s {
            Source::Rule(r) => Some(r),
            Source::Correlation(_) => None,
        })
        .collect();
    feeding.sort_unstable();
    feeding.dedup();
    for rule_index in feeding {
        let Some(rule) = set.rules.get(rule_index) else {
            continue;
        };
        let family: Family = rule.family;
        let zeek_log = rule.zeek_log.clone();
        let ids = fields
            .names
            .iter()
            .map(|name| set.table.intern(name, family, zeek_log.as_deref()))
            .collect();
        fields.by_rule.insert(rule_index, ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("5m"), Ok(300_000));
        assert_eq!(parse_timespan("1h"), Ok(3_600_000));
        assert_eq!(parse_timespan("30s"), Ok(30_000));
        assert_eq!(parse_timespan("2d"), Ok(172_800_000));
        assert!(parse_timespan("5").is_err());
        assert!(parse_timespan("0m").is_err());
        assert!(parse_timespan("-1m").is_err());
        assert!(parse_timespan("9999999999999999d").is_err());
        assert!(parse_timespan("5w").is_err());
        assert!(parse_timespan("").is_err());
    }
}
