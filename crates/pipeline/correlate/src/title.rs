//! Incident titles that say what happened and where: the furthest tactic reached, the most
//! frequent technique of the alerts that reached it, the main host and user.

use std::collections::BTreeMap;

use rampart_core::{EntityKind, EntityRef};

use crate::MergedAlert;
use crate::tactics::normalise_tactic;

/// Builds the title of an incident from its alerts (at least one), its ordered tactics and
/// the entities that link it (sorted).
pub(crate) fn title(alerts: &[MergedAlert], tactics: &[String], entities: &[EntityRef]) -> String {
    let what = match tactics.last() {
        Some(tactic) => {
            let mut text = humanise(tactic);
            // The technique shown is one the furthest tactic was reached with, so the title
            // never pairs a tactic with an unrelated technique; alerts without tactics fall
            // back to every alert's techniques.
            let furthest = normalise_tactic(tactic);
            let reached = |a: &&MergedAlert| {
                a.alert
                    .tactics
                    .iter()
                    .any(|t| normalise_tactic(t) == furthest)
            };
            let techniques_of = |only_reached: bool| {
                most_frequent(
                    alerts
                        .iter()
                        .filter(|a| !only_reached || reached(a))
                        .flat_map(|a| a.alert.techniques.iter().map(|t| (t.clone(), a.count))),
                )
            };
            if let Some(technique) = techniques_of(true).or_else(|| techniques_of(false)) {
                text = format!("{text} ({technique})");
            }
            text
        }
        // No ATT&CK mapping: the most severe alert's own title says it best.
        None => alerts
            .iter()
            .max_by(|a, b| {
                a.alert
                    .level
                    .cmp(&b.alert.level)
                    .then_with(|| b.alert.id.cmp(&a.alert.id))
            })
            .map(|a| a.alert.title.clone())
            .unwrap_or_default(),
    };
    let main = |kind: EntityKind| {
        most_frequent(alerts.iter().flat_map(|a| {
            a.alert
                .entities
                .iter()
                .filter(move |e| e.kind == kind && entities.binary_search(e).is_ok())
                .map(|e| (e.value.clone(), a.count))
        }))
    };
    let mut text = what;
    match (main(EntityKind::Host), main(EntityKind::User)) {
        (Some(host), Some(user)) => text = format!("{text} on {host} as {user}"),
        (Some(host), None) => text = format!("{text} on {host}"),
        (None, Some(user)) => text = format!("{text} by {user}"),
        (None, None) => {
            if let Some(ip) = main(EntityKind::Ip) {
                text = format!("{text} involving {ip}");
            }
        }
    }
    let count: u64 = alerts.iter().map(|a| a.count).sum();
    let rules = alerts
        .iter()
        .map(|a| a.alert.rule_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let plural = |n: u64, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let tactic_note = if tactics.len() > 1 {
        format!(", {} tactics", tactics.len())
    } else {
        String::new()
    };
    format!(
        "{text}: {} from {}{tactic_note}",
        plural(count, "alert"),
        plural(rules as u64, "rule")
    )
}

/// `credential-access` -> `Credential access`.
fn humanise(tactic: &str) -> String {
    let spaced = tactic.replace('-', " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The value with the highest total weight; ties go to the smallest value.
fn most_frequent(items: impl Iterator<Item = (String, u64)>) -> Option<String> {
    let mut weights: BTreeMap<String, u64> = BTreeMap::new();
    for (value, weight) in items {
        *weights.entry(value).or_default() += weight;
    }
    let mut best: Option<(String, u64)> = None;
    for (value, weight) in weights {
        if best.as_ref().is_none_or(|(_, w)| weight > *w) {
            best = Some((value, weight));
        }
    }
    best.map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::alert;
    use rampart_core::Level;

    #[test]
    fn the_technique_shown_is_one_the_furthest_tactic_was_reached_with() {
        let host = EntityRef::new(EntityKind::Host, "dc-01");
        let mut execution = alert("r1", Level::Medium, 0, std::slice::from_ref(&host));
        execution.techniques = vec!["T1059.001".into()];
        execution.tactics = vec!["Execution".into()];
        let mut lateral = alert("r2", Level::Medium, 5, std::slice::from_ref(&host));
        lateral.techniques = vec!["T1021.006".into()];
        lateral.tactics = vec!["Lateral Movement".into()];
        let mut repeated = MergedAlert::new(execution);
        repeated.count = 9;
        let alerts = [repeated, MergedAlert::new(lateral)];
        let got = title(
            &alerts,
            &["Execution".into(), "Lateral Movement".into()],
            &[host],
        );
        assert!(
            got.starts_with("Lateral Movement (T1021.006) on dc-01"),
            "{got}"
        );
    }

    #[test]
    fn names_tactic_technique_host_and_user() {
        let host = EntityRef::new(EntityKind::Host, "WS-01");
        let user = EntityRef::new(EntityKind::User, "ACME\\alice");
        let mut a = alert("r1", Level::High, 0, &[host.clone(), user.clone()]);
        a.techniques = vec!["T1003.001".into()];
        let mut b = alert("r2", Level::Low, 0, std::slice::from_ref(&host));
        b.techniques = vec!["T1059.001".into()];
        let alerts = [MergedAlert::new(a), {
            let mut m = MergedAlert::new(b);
            m.count = 1;
            m
        }];
        let got = title(
            &alerts,
            &["execution".into(), "credential-access".into()],
            &[host, user],
        );
        assert_eq!(
            got,
            "Credential access (T1003.001) on ws-01 as acme\\alice: 2 alerts from 2 rules, 2 tactics"
        );
    }

    #[test]
    fn falls_back_to_the_most_severe_alert_title() {
        let ip = EntityRef::new(EntityKind::Ip, "10.1.2.3");
        let mut a = alert("r1", Level::Low, 0, std::slice::from_ref(&ip));
        a.title = "ET SCAN Nmap".into();
        let got = title(&[MergedAlert::new(a)], &[], &[ip]);
        assert_eq!(got, "ET SCAN Nmap involving 10.1.2.3: 1 alert from 1 rule");
    }
}
