//! Fact-sheet building, hierarchical summarisation and deterministic rendering on incidents
//! of 10, 1,000 and 10,000 alerts.
//!
//! `cargo bench -p rampart-narrate --bench narrate`

use std::hint::black_box;

use chrono::{TimeZone as _, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rampart_core::{
    Alert, AlertId, AlertSource, EntityKind, EntityRef, EventId, Incident, IncidentId, Level,
};
use rampart_narrate::{DeterministicRenderer, FactSheet};

fn alerts(n: u32) -> Vec<Alert> {
    let start = Utc
        .with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .unwrap_or_default();
    (0..n)
        .map(|i| {
            let host = format!("srv-{:03}", i % 97);
            Alert {
                id: AlertId::derive(&[&i.to_le_bytes()]),
                source: AlertSource::Sigma,
                rule_id: format!("rule-{}", i % 13),
                title: format!("Failed logon burst from 198.51.100.{} on {host}", i % 250),
                level: if i % 13 == 0 {
                    Level::High
                } else {
                    Level::Medium
                },
                score: None,
                techniques: vec!["T1110.003".into()],
                tactics: vec!["credential-access".into()],
                entities: vec![
                    EntityRef::new(EntityKind::Host, host),
                    EntityRef::new(EntityKind::Ip, format!("198.51.100.{}", i % 250)),
                ],
                event_ids: vec![EventId::derive(&[b"e", &i.to_le_bytes()])],
                first_seen: Some(start + chrono::Duration::seconds(i64::from(i))),
                last_seen: Some(start + chrono::Duration::seconds(i64::from(i))),
                explanation: None,
            }
        })
        .collect()
}

fn incident(alerts: &[Alert]) -> Incident {
    Incident {
        id: IncidentId::derive(&[b"bench"]),
        title: "Password spraying across the server estate".into(),
        alert_ids: alerts.iter().map(|a| a.id).collect(),
        entities: Vec::new(),
        tactics: vec!["credential-access".into()],
        techniques: vec!["T1110.003".into()],
        score: 0.8,
        first_seen: alerts.first().and_then(|a| a.first_seen),
        last_seen: alerts.last().and_then(|a| a.last_seen),
    }
}

fn bench(c: &mut Criterion) {
    let names = |id: &str| (id == "T1110.003").then(|| "Password Spraying".to_owned());
    let mut group = c.benchmark_group("narrate");
    group.sample_size(20);
    for n in [10u32, 1_000, 10_000] {
        let alerts = alerts(n);
        let inc = incident(&alerts);
        group.bench_with_input(BenchmarkId::new("build_within_6k_tokens", n), &n, |b, _| {
            b.iter(|| FactSheet::build_within(black_box(&inc), &alerts, &[], &names, 6_000));
        });
        let sheet = FactSheet::build_within(&inc, &alerts, &[], &names, 6_000);
        group.bench_with_input(BenchmarkId::new("render_deterministic", n), &n, |b, _| {
            b.iter(|| DeterministicRenderer::new().render(black_box(&sheet)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
