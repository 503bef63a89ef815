//! Policy evaluation cost: loading the default set, and evaluating it for one incident.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark harness: failures should stop the run"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_core::{EntityKind, EntityRef, Incident, IncidentId};
use rampart_decide::{Autonomy, Decider, Facts, PolicySet};

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    group.bench_function("load_default_policies", |b| {
        b.iter(|| PolicySet::default_set().unwrap().len());
    });
    let incident = Incident {
        id: IncidentId::derive(&[b"bench"]),
        title: String::new(),
        alert_ids: Vec::new(),
        entities: vec![
            EntityRef::new(EntityKind::Host, "ws-02"),
            EntityRef::new(EntityKind::Host, "srv-03"),
            EntityRef::new(EntityKind::User, "acme\\alice"),
        ],
        tactics: vec!["credential-access".into(), "lateral-movement".into()],
        techniques: vec!["T1003.001".into(), "T1021.002".into()],
        score: 91.0,
        first_seen: None,
        last_seen: None,
    };
    let facts = Facts::from_incident(&incident, &[], &|_| 1.0);
    let decider = Decider::new(PolicySet::default_set().unwrap(), Autonomy::default()).unwrap();
    group.bench_function("evaluate_one_incident", |b| {
        b.iter(|| decider.evaluate(&facts).unwrap().len());
    });
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
