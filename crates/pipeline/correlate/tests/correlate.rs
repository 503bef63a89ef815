//! End-to-end behaviour of the correlator: linking, hubs, dedup, streaming and stable ids.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers fail the test by panicking"
)]
#![expect(
    clippy::float_cmp,
    reason = "explanations must add up to the score exactly, not approximately"
)]

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use rampart_core::{Alert, AlertId, AlertSource, EntityKind, EntityRef, EventId, Level};
use rampart_correlate::{CorrelateConfig, CorrelatedIncident, Correlator};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_000_000, 0).unwrap() + TimeDelta::seconds(secs)
}

fn host(v: &str) -> EntityRef {
    EntityRef::new(EntityKind::Host, v)
}
fn user(v: &str) -> EntityRef {
    EntityRef::new(EntityKind::User, v)
}
fn ip(v: &str) -> EntityRef {
    EntityRef::new(EntityKind::Ip, v)
}

fn alert(rule: &str, at: i64, entities: &[EntityRef]) -> Alert {
    let event = EventId::derive(&[
        rule.as_bytes(),
        &at.to_le_bytes(),
        format!("{entities:?}").as_bytes(),
    ]);
    Alert {
        id: AlertId::derive(&[rule.as_bytes(), event.as_bytes()]),
        source: AlertSource::Sigma,
        rule_id: rule.to_owned(),
        title: format!("rule {rule}"),
        level: Level::Medium,
        score: None,
        techniques: Vec::new(),
        tactics: Vec::new(),
        entities: entities.to_vec(),
        event_ids: vec![event],
        first_seen: Some(t(at)),
        last_seen: Some(t(at)),
        explanation: None,
    }
}

fn run(
    config: CorrelateConfig,
    alerts: impl IntoIterator<Item = Alert>,
) -> Vec<CorrelatedIncident> {
    let mut correlator = Correlator::new(config).unwrap();
    let mut out = Vec::new();
    for a in alerts {
        out.extend(correlator.observe(a));
    }
    out.extend(correlator.finish());
    out
}

/// Incidents as sets of every member alert id (representatives and folded repeats).
fn membership(incidents: &[CorrelatedIncident]) -> BTreeSet<BTreeSet<AlertId>> {
    incidents
        .iter()
        .map(|i| {
            i.alerts
                .iter()
                .flat_map(|a| std::iter::once(a.alert.id).chain(a.duplicate_ids.iter().copied()))
                .collect()
        })
        .collect()
}

#[test]
fn links_shared_entities_within_the_window_only() {
    let alerts = [
        alert("a", 0, &[host("ws1"), user("alice")]),
        alert("b", 1800, &[user("alice"), host("ws2")]),
        alert("c", 1800 + 3600, &[host("ws2")]),
        // Same host, but more than an hour after the last alert on it.
        alert("d", 1800 + 3600 + 3601, &[host("ws2")]),
        alert("e", 100, &[host("ws9")]),
    ];
    let incidents = run(CorrelateConfig::default(), alerts.clone());
    let sizes: Vec<usize> = incidents
        .iter()
        .map(|i| i.incident.alert_ids.len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 5);
    let big = incidents
        .iter()
        .find(|i| i.incident.alert_ids.len() == 3)
        .unwrap();
    let expected: BTreeSet<AlertId> = alerts[..3].iter().map(|a| a.id).collect();
    assert_eq!(
        big.incident
            .alert_ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>(),
        expected
    );
    assert_eq!(incidents.len(), 3);
}

#[test]
fn a_hub_does_not_glue_unrelated_hosts_together() {
    let dc = ip("10.0.0.1");
    let mut alerts = Vec::new();
    for i in 0..30 {
        // Every workstation talks to the domain controller; each also has its own second alert.
        alerts.push(alert(
            "logon",
            i * 10,
            &[host(&format!("ws{i}")), dc.clone()],
        ));
        alerts.push(alert("dump", i * 10 + 5, &[host(&format!("ws{i}"))]));
    }
    let incidents = run(CorrelateConfig::default(), alerts.clone());
    assert_eq!(incidents.len(), 30, "one incident per workstation");
    for incident in &incidents {
        assert_eq!(incident.incident.alert_ids.len(), 2);
        assert!(
            !incident.incident.entities.contains(&dc),
            "a hub is not an incident entity"
        );
    }

    // With suppression off (a threshold above the host count), the DC glues all of it.
    let glued = run(
        CorrelateConfig {
            hub_max_hosts: 100,
            ..CorrelateConfig::default()
        },
        alerts,
    );
    assert_eq!(glued.len(), 1);
}

#[test]
fn ignored_entities_link_nothing() {
    let alerts = [
        alert("a", 0, &[host("ws1"), user("NT AUTHORITY\\SYSTEM")]),
        alert("b", 10, &[host("ws2"), user("nt authority\\system")]),
    ];
    assert_eq!(run(CorrelateConfig::default(), alerts).len(), 2);
}

#[test]
fn repeats_fold_into_one_alert_with_a_count() {
    let mut alerts: Vec<Alert> = (0..50)
        .map(|i| alert("brute", i * 5, &[host("ws1"), ip("198.51.100.7")]))
        .collect();
    alerts.push(alert("brute", 0, &[host("ws1")])); // different entity set: its own alert
    let incidents = run(CorrelateConfig::default(), alerts.clone());
    assert_eq!(incidents.len(), 1);
    let merged = &incidents[0].alerts;
    assert_eq!(merged.len(), 2);
    let big = merged.iter().find(|m| m.count == 50).unwrap();
    assert_eq!(big.alert.first_seen, Some(t(0)));
    assert_eq!(big.alert.last_seen, Some(t(245)));
    assert_eq!(big.alert.event_ids.len(), 50);
    assert_eq!(
        big.alert.id, alerts[0].id,
        "the earliest repeat represents the group"
    );

    // Re-processing the same alerts is not counted as more repeats.
    let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
    for a in alerts.iter().chain(alerts.iter()) {
        correlator.observe(a.clone());
    }
    let again = correlator.finish();
    assert_eq!(again[0].alerts.iter().map(|m| m.count).sum::<u64>(), 51);
    assert_eq!(correlator.stats().repeated, 51);
    assert_eq!(again[0].incident.id, incidents[0].incident.id);
}

#[test]
fn closes_windows_while_streaming_and_keeps_memory_bounded() {
    let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
    let mut reported = 0;
    // One alert per minute on 200 rotating hosts for five days.
    for i in 0..(5 * 24 * 60) {
        let h = format!("ws{}", (i * 7) % 200);
        reported += correlator.observe(alert("r", i * 60, &[host(&h)])).len();
    }
    let stats = correlator.stats();
    assert!(reported > 0, "incidents are reported before finish");
    // Open alerts cover at most link window + tolerance (65 minutes) of event time.
    assert!(stats.peak_open_alerts <= 70, "{stats:?}");
    reported += correlator.finish().len();
    assert_eq!(correlator.stats().open_alerts, 0);
    assert_eq!(reported as u64, correlator.stats().incidents);
}

#[test]
fn late_alerts_are_counted() {
    let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
    correlator.observe(alert("a", 10_000, &[host("ws1")]));
    correlator.observe(alert("b", 10_000 - 301, &[host("ws1")]));
    assert_eq!(correlator.stats().late, 1);
    assert_eq!(
        correlator.finish().len(),
        1,
        "a late alert still joins an open group"
    );
}

#[test]
fn incidents_have_kill_chain_tactics_scores_and_explanations() {
    let mut a = alert("phish", 0, &[host("ws1"), user("bob")]);
    a.tactics = vec!["initial-access".into()];
    a.techniques = vec!["T1566.001".into()];
    let mut b = alert("lsass", 600, &[host("ws1")]);
    b.tactics = vec!["credential-access".into()];
    b.techniques = vec!["T1003.001".into()];
    b.level = Level::Critical;
    let mut c = alert("psexec", 1200, &[host("ws1"), host("srv1")]);
    c.tactics = vec!["Lateral Movement".into(), "execution".into()];
    c.techniques = vec!["T1021.002".into()];
    let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
    for x in [c, a, b] {
        correlator.observe(x);
    }
    let incidents = correlator.finish();
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0].incident;
    assert_eq!(
        incident.tactics,
        [
            "initial-access",
            "execution",
            "credential-access",
            "lateral-movement"
        ]
    );
    assert_eq!(incident.techniques, ["T1003.001", "T1021.002", "T1566.001"]);
    assert!(
        incident.title.starts_with("Lateral movement"),
        "{}",
        incident.title
    );
    assert!(
        incident.title.contains("on ws1 as bob"),
        "{}",
        incident.title
    );
    let why = correlator.explain(incident);
    assert_eq!(why, incidents[0].explanation);
    assert_eq!(why.entity, Some(host("ws1")));
    assert_eq!(why.total, incident.score);
    assert_eq!(why.contributions.len(), 3);
    assert_eq!(
        why.contributions.iter().map(|c| c.value).sum::<f64>(),
        incident.score
    );
    // Without the critical alert, the score drops by what it contributed.
    let critical = why
        .contributions
        .iter()
        .find(|c| c.rule_id == "lsass")
        .unwrap();
    let at = incident.last_seen.unwrap();
    let without = correlator
        .ledger()
        .without(&critical.alert_id)
        .incident_score(&incident.entities, at);
    assert!((incident.score - without - critical.value).abs() < 1e-9);
}

#[test]
fn ids_are_stable_across_runs() {
    let alerts: Vec<Alert> = (0..20)
        .map(|i| {
            alert(
                &format!("r{}", i % 4),
                i * 100,
                &[host(&format!("h{}", i % 3))],
            )
        })
        .collect();
    let first = run(CorrelateConfig::default(), alerts.clone());
    let second = run(CorrelateConfig::default(), alerts);
    assert_eq!(first, second);
}

/// Slow, obviously correct reference: all pairs, then connected components.
fn reference_components(alerts: &[Alert], window: i64) -> BTreeSet<BTreeSet<AlertId>> {
    let n = alerts.len();
    let mut component: Vec<usize> = (0..n).collect();
    let linked = |a: &Alert, b: &Alert| {
        let (ta, tb) = (a.first_seen.unwrap(), b.first_seen.unwrap());
        (ta - tb).num_seconds().abs() <= window && a.entities.iter().any(|e| b.entities.contains(e))
    };
    loop {
        let mut changed = false;
        for i in 0..n {
            for j in 0..n {
                if linked(&alerts[i], &alerts[j]) && component[i] != component[j] {
                    let m = component[i].min(component[j]);
                    component[i] = m;
                    component[j] = m;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut groups: std::collections::BTreeMap<usize, BTreeSet<AlertId>> =
        std::collections::BTreeMap::default();
    for (i, c) in component.into_iter().enumerate() {
        groups.entry(c).or_default().insert(alerts[i].id);
    }
    groups.into_values().collect()
}

fn arb_alerts() -> impl Strategy<Value = Vec<Alert>> {
    prop::collection::vec((0i64..20_000, 0usize..6, 0usize..6, 0usize..3), 1..60).prop_map(
        |specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (at, h, u, rule))| {
                    let entities = [host(&format!("h{h}")), user(&format!("u{u}"))];
                    // Distinct rules per index keep dedup out of the reference comparison.
                    alert(&format!("r{rule}-{i}"), at, &entities)
                })
                .collect()
        },
    )
}

fn quiet_config() -> CorrelateConfig {
    CorrelateConfig {
        link_window_secs: 1800,
        reorder_tolerance_secs: 600,
        dedup_window_secs: 60,
        hub_max_hosts: 1000,
        ..CorrelateConfig::default()
    }
}

proptest! {
    #[test]
    fn matches_the_all_pairs_reference(mut alerts in arb_alerts()) {
        alerts.sort_by_key(|a| a.first_seen);
        let got = membership(&run(quiet_config(), alerts.clone()));
        prop_assert_eq!(got, reference_components(&alerts, 1800));
    }

    #[test]
    fn arrival_order_within_the_tolerance_does_not_change_membership(
        alerts in arb_alerts(),
        jitter in prop::collection::vec(0i64..=600, 60),
        repeats in prop::collection::vec(0usize..60, 0..10),
    ) {
        // Add true repeats (same rule and entities, seconds apart) so dedup is exercised too.
        let mut alerts = alerts;
        let extra: Vec<Alert> = repeats.iter().filter_map(|&i| alerts.get(i)).map(|a| {
            let at = (a.first_seen.unwrap() - t(0)).num_seconds() + 1;
            alert(&a.rule_id, at, &a.entities)
        }).collect();
        alerts.extend(extra);
        let mut in_order = alerts.clone();
        in_order.sort_by_key(|a| (a.first_seen, a.id));
        // Each alert arrives at its time plus up to the tolerance: never behind the watermark.
        let mut shuffled: Vec<(DateTime<Utc>, Alert)> = alerts.into_iter().enumerate().map(|(i, a)| {
            (a.first_seen.unwrap() + TimeDelta::seconds(jitter[i % jitter.len()]), a)
        }).collect();
        shuffled.sort_by_key(|(arrival, a)| (*arrival, a.id));
        let mut correlator = Correlator::new(quiet_config()).unwrap();
        let mut got = Vec::new();
        for (_, a) in shuffled {
            got.extend(correlator.observe(a));
        }
        got.extend(correlator.finish());
        prop_assert_eq!(correlator.stats().late, 0);
        let expected = run(quiet_config(), in_order);
        prop_assert_eq!(membership(&got), membership(&expected));
        let ids = |v: &[CorrelatedIncident]| v.iter().map(|i| i.incident.id).collect::<BTreeSet<_>>();
        prop_assert_eq!(ids(&got), ids(&expected));
    }
}

#[test]
fn a_constantly_firing_host_yields_one_incident_per_span() {
    let mut correlator = Correlator::new(CorrelateConfig::default()).unwrap();
    let mut incidents = Vec::new();
    // Every ten minutes for three days, a different rule (no dedup) on the same host.
    for i in 0..(3 * 24 * 6) {
        incidents.extend(correlator.observe(alert(
            &format!("r{}", i % 7),
            i * 600,
            &[host("noisy")],
        )));
    }
    incidents.extend(correlator.finish());
    assert!((3..=4).contains(&incidents.len()), "{}", incidents.len());
    for i in &incidents {
        let span = i.incident.last_seen.unwrap() - i.incident.first_seen.unwrap();
        // At most the span, plus the reorder tolerance and one gap between alerts.
        assert!(
            span <= TimeDelta::hours(24) + TimeDelta::minutes(5 + 10),
            "{span}"
        );
    }
    assert_eq!(
        incidents.iter().map(|i| i.alerts.len()).sum::<usize>(),
        3 * 24 * 6
    );
}

/// Real Suricata alerts (ET Open over four public pcap sets) as alerts on their IPs, in
/// event-time order; `None` when the shared data is absent.
fn suricata_alerts() -> Option<Vec<Alert>> {
    let root = std::env::var("RAMPART_SHARED_DATA").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
        std::path::PathBuf::from,
    );
    let dir = root.join("suricata-eve-alerts");
    let mut alerts = Vec::new();
    for set in [
        "first-org-conf-2015",
        "honeypot-2018",
        "wrccdc-2017",
        "wrccdc-2018",
    ] {
        let path = dir.join(set).join("alerts-only.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("SKIPPED: {} is absent", path.display());
            return None;
        };
        let records: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        for (i, r) in records.iter().enumerate() {
            // Most sets carry a UTC offset; the honeypot set writes UTC without one.
            let stamp = r["timestamp"].as_str().unwrap();
            let at = DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f%z").map_or_else(
                |_| {
                    chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f")
                        .unwrap()
                        .and_utc()
                },
                |t| t.to_utc(),
            );
            let level = match r["alert"]["severity"].as_u64().unwrap() {
                1 => Level::High,
                2 => Level::Medium,
                _ => Level::Low,
            };
            let rule = r["alert"]["signature_id"].to_string();
            let entities = vec![
                ip(r["src_ip"].as_str().unwrap()),
                ip(r["dest_ip"].as_str().unwrap()),
            ];
            let event = EventId::derive(&[set.as_bytes(), &i.to_le_bytes()]);
            alerts.push(Alert {
                id: AlertId::derive(&[rule.as_bytes(), event.as_bytes()]),
                source: AlertSource::Imported,
                title: r["alert"]["signature"].as_str().unwrap().to_owned(),
                rule_id: rule,
                level,
                score: None,
                techniques: Vec::new(),
                tactics: Vec::new(),
                entities,
                event_ids: vec![event],
                first_seen: Some(at),
                last_seen: Some(at),
                explanation: None,
            });
        }
    }
    alerts.sort_by_key(|a| (a.first_seen, a.id));
    Some(alerts)
}

#[test]
fn real_suricata_alerts_match_the_reference_and_hubs_split_them() {
    let Some(alerts) = suricata_alerts() else {
        return;
    };
    assert!(alerts.len() > 500, "{}", alerts.len());
    let plain = CorrelateConfig {
        ignored_entities: Vec::new(),
        hub_max_hosts: usize::MAX - 1,
        ..CorrelateConfig::default()
    };
    let got = run(plain.clone(), alerts.clone());
    assert_eq!(membership(&got), reference_components(&alerts, 3600));
    assert_eq!(
        got,
        run(plain, alerts.clone()),
        "re-runs give the same incidents"
    );

    // With hub suppression, scanners and busy servers stop gluing: more, smaller incidents,
    // and every alert still in exactly one.
    let split = run(CorrelateConfig::default(), alerts.clone());
    let count = |v: &[CorrelatedIncident]| {
        v.iter()
            .map(|i| i.alerts.iter().map(|a| a.count).sum::<u64>())
            .sum::<u64>()
    };
    assert_eq!(count(&split), alerts.len() as u64);
    assert_eq!(count(&got), alerts.len() as u64);
    assert!(split.len() > got.len(), "{} vs {}", split.len(), got.len());
    // The honeypot talks to 35 attackers: without suppression it glues them all together.
    let honeypot = ip("138.68.3.71");
    let with_honeypot = |v: &[CorrelatedIncident]| {
        v.iter()
            .filter(|i| {
                i.alerts
                    .iter()
                    .any(|a| a.alert.entities.contains(&honeypot))
            })
            .map(|i| i.incident.alert_ids.len())
            .collect::<Vec<_>>()
    };
    assert_eq!(with_honeypot(&got).len(), 1);
    assert!(with_honeypot(&got)[0] >= 35, "{:?}", with_honeypot(&got));
    assert!(
        with_honeypot(&split).len() >= 30,
        "{:?}",
        with_honeypot(&split)
    );
    for incident in &split {
        assert!(!incident.incident.entities.contains(&ip("0.0.0.0")));
        assert!(!incident.incident.entities.contains(&honeypot));
        assert!(incident.incident.score > 0.0 || incident.incident.entities.is_empty());
    }
}

#[test]
fn the_correlator_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Correlator>();
    assert_send::<CorrelatedIncident>();
}
