//! Matching one event against 100,000 indicators: IPv4 addresses, CIDR blocks of many prefix
//! lengths, domains, URLs and hashes from an IOC list, plus STIX indicators whose patterns
//! cannot be indexed (`LIKE`, `MATCHES`) and are checked against every event. Also the cost of
//! reading the embedded ATT&CK/ATLAS catalogue and of one technique lookup.

#![expect(clippy::unwrap_used, reason = "a benchmark's setup fails by panicking")]

use std::fmt::Write as _;
use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use rampart_core::{ContentHash, Ecs, Event, Position, Provenance};
use rampart_enrich::{IntelStore, SourceInfo};
use serde_json::json;

const INDICATORS: u32 = 100_000;
const UNINDEXED: u32 = 20;

/// A deterministic spread of values (no RNG dependency): a multiplicative hash of `i`.
fn spread(i: u32) -> u32 {
    i.wrapping_mul(2_654_435_761)
}

fn store() -> IntelStore {
    let mut list = String::new();
    for i in 0..INDICATORS - UNINDEXED {
        let value = spread(i);
        let [high, o2, o3, o4] = value.to_be_bytes();
        let o1 = high.max(1);
        let _ = match i % 10 {
            0..=3 => writeln!(list, "{o1}.{o2}.{o3}.{o4}"),
            4 => writeln!(list, "{o1}.{o2}.{o3}.0/{}", 16 + (o4 % 13)),
            5..=7 => writeln!(list, "host{value:08x}.example{}.net", i % 97),
            8 => writeln!(list, "http://u{value:08x}.example.org/p/{i}"),
            _ => writeln!(
                list,
                "{value:08x}{:08x}{:08x}{:08x}",
                spread(value),
                spread(value ^ 1),
                spread(value ^ 2)
            ),
        };
    }
    let mut store = IntelStore::new();
    let report = store.add_ioc_list("bench", &list);
    assert!(report.errors.is_empty(), "{:?}", report.errors.first());
    let source = SourceInfo::new("bench", "1");
    for i in 0..UNINDEXED {
        let indicator = json!({
            "type": "indicator", "id": format!("indicator--bench-{i}"),
            "pattern": format!("[process:command_line LIKE '%-enc{i} %' OR url:value MATCHES '^https?://[a-z]+{i}\\\\.evil/']"),
            "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
        });
        store.add_stix_object(&indicator, &source).unwrap();
    }
    store
}

fn event(ecs: serde_json::Value) -> Event {
    let ecs: Ecs = serde_json::from_value(ecs).unwrap();
    let provenance = Provenance {
        source: "bench".into(),
        position: Position::Line(1),
        format: None,
        parser: "bench".into(),
        ingested_at: Utc::now(),
        content_hash: ContentHash::of(b"bench"),
    };
    Event::new(ecs, String::new(), provenance)
}

fn bench(c: &mut Criterion) {
    let store = store();
    assert!(
        store.indicator_count() > 90_000,
        "{}",
        store.indicator_count()
    );
    let now = Utc::now();
    let [a, b, cc, d] = spread(0).to_be_bytes();
    let hit = event(json!({
        "source": {"ip": "10.1.2.3", "port": 50000},
        "destination": {"ip": format!("{}.{b}.{cc}.{d}", a.max(1)), "port": 443},
        "network": {"transport": "tcp"}
    }));
    assert_eq!(store.match_event(&hit, now).len(), 1);
    let miss = event(json!({
        "source": {"ip": "10.1.2.3"}, "destination": {"ip": "192.0.2.77"},
        "dns": {"question": {"name": "www.example.com"}},
        "url": {"full": "https://www.example.com/index.html"},
        "process": {"name": "curl", "command_line": "curl https://www.example.com/index.html"},
        "file": {"hash": {"sha256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}}
    }));
    assert!(store.match_event(&miss, now).is_empty());
    let mut group = c.benchmark_group("match_event_100k_indicators");
    group.bench_function("network_hit", |bench| {
        bench.iter(|| store.match_event(black_box(&hit), now));
    });
    group.bench_function("rich_event_miss", |bench| {
        bench.iter(|| store.match_event(black_box(&miss), now));
    });
    group.bench_function("alerts_for_hit", |bench| {
        bench.iter(|| store.alerts_for(black_box(&hit), now));
    });
    group.finish();
}

fn catalog(c: &mut Criterion) {
    c.bench_function("catalog_embedded_parse", |bench| {
        bench.iter(rampart_enrich::Catalog::embedded);
    });
    let catalog = rampart_enrich::Catalog::embedded();
    c.bench_function("catalog_technique_lookup", |bench| {
        bench.iter(|| {
            catalog
                .technique(black_box("t1059.001"))
                .map(|t| t.tactics.len())
        });
    });
}

criterion_group!(benches, bench, catalog);
criterion_main!(benches);
