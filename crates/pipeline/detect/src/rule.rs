//! One Sigma rule document: metadata, logsource and compiled detection.

use rampart_core::Level;

use crate::detection::{self, Detection, FieldTable};
use crate::fields::Family;
use crate::logsource::{self, Route};
use crate::yaml::Node;

/// Longest title kept (the specification's limit).
const MAX_TITLE: usize = 256;

/// What a rule says about itself: shared by detection and correlation rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule's `id` (falls back to its `name`, then its title, when it has none).
    pub id: String,
    /// The rule's `name`, used by correlation rules to refer to it.
    pub name: Option<String>,
    /// The title.
    pub title: String,
    /// The level; `medium` when the rule gives none.
    pub level: Level,
    /// `status` as written (`test`, `experimental`, …).
    pub status: Option<String>,
    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags, uppercased (`T1059.001`).
    pub techniques: Vec<String>,
    /// ATT&CK tactic short names from `attack.<tactic>` tags (`execution`,
    /// `defense-evasion`).
    pub tactics: Vec<String>,
    /// The file it came from (`archive.tar.gz!rules/x.yml` for archive members).
    pub file: String,
}

/// A compiled single-event rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub info: RuleInfo,
    pub routes: Vec<Route>,
    /// How the rule's field names resolve (correlations read group-by fields the same way).
    pub family: Family,
    /// The Zeek log type of Zeek rules.
    pub zeek_log: Option<String>,
    pub detection: Detection,
    /// Whether matches become alerts of their own (false for rules that only feed a
    /// correlation, per the correlation specification's `generate`).
    pub generate: bool,
}

/// Reads the metadata every rule document has.
pub(crate) fn info(doc: &Node, file: &str) -> Result<RuleInfo, String> {
    let title = doc
        .get("title")
        .and_then(Node::as_str)
        .ok_or("missing `title`")?;
    let title: String = title.chars().take(MAX_TITLE).collect();
    let name = doc.get("name").and_then(Node::as_str).map(str::to_owned);
    let id = doc
        .get("id")
        .and_then(Node::as_str)
        .map(str::to_owned)
        .or_else(|| name.clone())
        .unwrap_or_else(|| title.clone());
    let level = match doc.get("level").and_then(Node::as_str) {
        None => Level::Medium,
        Some(text) => parse_level(text).ok_or_else(|| format!("unknown level `{text}`"))?,
    };
    let status = doc.get("status").and_then(Node::as_str).map(str::to_owned);
    let mut techniques = Vec::new();
    let mut tactics = Vec::new();
    if let Some(Node::Seq(tags)) = doc.get("tags") {
        for tag in tags.iter().filter_map(Node::as_str) {
            classify_tag(tag, &mut techniques, &mut tactics);
        }
    }
    Ok(RuleInfo {
        id,
        name,
        title,
        level,
        status,
        techniques,
        tactics,
        file: file.to_owned(),
    })
}

/// Parses a Sigma level.
pub(crate) fn parse_level(text: &str) -> Option<Level> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "informational" => Level::Informational,
        "low" => Level::Low,
        "medium" => Level::Medium,
        "high" => Level::High,
        "critical" => Level::Critical,
        _ => return None,
    })
}

/// Sorts an `attack.*` tag into techniques (`attack.t1059.001` → `T1059.001`) or tactics
/// (`attack.defense_evasion` → `defense-evasion`); group (`g0016`) and software (`s0002`)
/// tags and every other namespace are ignored.
pub(crate) fn classify_tag(tag: &str, techniques: &mut Vec<String>, tactics: &mut Vec<String>) {
    let tag = tag.trim().to_ascii_lowercase();
    let Some(rest) = tag.strip_prefix("attack.") else {
        return;
    };
    let mut chars = rest.chars();
    let first = chars.next();
    let is_id = |prefix: char| {
        first == Some(prefix) && chars.clone().next().is_some_and(|c| c.is_ascii_digit())
    };
    if is_id('t') {
        let id = rest.to_ascii_uppercase();
        let valid = id
            .strip_prefix('T')
            .is_some_and(|digits| digits.chars().all(|c| c.is_ascii_digit() || c == '.'));
        if valid && !techniques.contains(&id) {
            techniques.push(id);
        }
    } else if is_id('g') || is_id('s') || is_id('m') {
        // Groups, software and mitigations are not tactics.
    } else if !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_')
    {
        let tactic = rest.replace('_', "-");
        if !tactics.contains(&tactic) {
            tactics.push(tactic);
        }
    }
}

/// Compiles a detection rule document.
pub(crate) fn compile(doc: &Node, info: RuleInfo, table: &mut FieldTable) -> Result<Rule, String> {
    let logsource = doc.get("logsource").ok_or("missing `logsource`")?;
    if !matches!(logsource, Node::Map(_)) {
        return Err(format!(
            "`logsource` is {}, expected a map",
            logsource.kind()
        ));
    }
    let part = |key: &str| {
        logsource
            .get(key)
            .and_then(Node::as_str)
            .map(str::to_ascii_lowercase)
    };
    let (product, category, service) = (part("product"), part("category"), part("service"));
    let resolved = logsource::resolve(product.as_deref(), category.as_deref(), service.as_deref())?;
    let detection = doc.get("detection").ok_or("missing `detection`")?;
    let detection = detection::compile(
        detection,
        table,
        resolved.family,
        resolved.zeek_log.as_deref(),
    )?;
    Ok(Rule {
        info,
        routes: resolved.routes,
        family: resolved.family,
        zeek_log: resolved.zeek_log,
        detection,
        generate: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_techniques_and_tactics() {
        let mut techniques = Vec::new();
        let mut tactics = Vec::new();
        for tag in [
            "attack.execution",
            "attack.t1059.001",
            "attack.defense_evasion",
            "attack.g0016",
            "attack.s0002",
            "car.2016-04-005",
            "attack.T1059.001",
            "detection.threat-hunting",
        ] {
            classify_tag(tag, &mut techniques, &mut tactics);
        }
        assert_eq!(techniques, ["T1059.001"]);
        assert_eq!(tactics, ["execution", "defense-evasion"]);
    }
}
