//! Correlation tests: the specification's examples, window edges, out-of-order input,
//! every correlation type and the state bounds.

use super::*;
use crate::testkit::windows_event;

/// The complete example of the Sigma correlation specification: many failed logins
/// followed by a successful one.
const SPEC_EXAMPLE: &str = r"
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
tags: [attack.credential-access, attack.t1110]
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
";

fn at(seconds: i64) -> String {
    let base: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
    (base + TimeDelta::seconds(seconds)).to_rfc3339()
}

fn login(event_id: u32, user: &str, seconds: i64) -> Event {
    windows_event("Security", event_id, &[("User", user)], Some(&at(seconds)))
}

fn run(
    rules: &Arc<RuleSet>,
    events: &[Event],
    options: CorrelatorOptions,
) -> (Vec<Alert>, CorrelatorStats) {
    let mut correlator = Correlator::with_options(Arc::clone(rules), options);
    let mut alerts = Vec::new();
    for event in events {
        alerts.extend(correlator.observe(event));
    }
    alerts.extend(correlator.flush());
    (alerts, correlator.stats().clone())
}

fn spec_rules() -> Arc<RuleSet> {
    let (rules, report) = RuleSet::from_texts([("mr_spec.yml", SPEC_EXAMPLE)]);
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    assert_eq!((rules.len(), rules.correlation_count()), (2, 2));
    Arc::new(rules)
}

#[test]
fn spec_example_fires_once_for_brute_force_then_success() {
    let rules = spec_rules();
    let mut events: Vec<Event> = (0..10).map(|i| login(4625, "bob", i * 30)).collect();
    events.push(login(4624, "bob", 400));
    // Another user with too few failures, and a success that comes first.
    events.push(login(4624, "eve", 10));
    events.extend((0..9).map(|i| login(4625, "eve", 20 + i)));
    events.push(login(4624, "eve", 60));
    events.sort_by_key(|e| e.ecs.timestamp);
    let (alerts, stats) = run(&rules, &events, CorrelatorOptions::default());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.source, AlertSource::Correlation);
    assert_eq!(alert.rule_id, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
    assert_eq!(alert.event_ids.len(), 11);
    assert_eq!(alert.first_seen, Some(at(0).parse().unwrap()));
    assert_eq!(alert.last_seen, Some(at(400).parse().unwrap()));
    assert_eq!(
        alert.techniques,
        ["T1110"],
        "tags of the correlated rules carry over"
    );
    assert_eq!(stats.alerts, 1);
    // Referenced rules raise no alerts of their own (`generate` defaults to false).
    assert!(events.iter().all(|e| rules.evaluate(e).is_empty()));
    assert_eq!(rules.matching_rule_ids(&events[0]).len(), 1);
}

#[test]
fn spec_example_needs_the_order_and_the_timespan() {
    let rules = spec_rules();
    // Success first, then failures: no alert.
    let mut events = vec![login(4624, "bob", 0)];
    events.extend((0..10).map(|i| login(4625, "bob", 10 + i)));
    assert!(
        run(&rules, &events, CorrelatorOptions::default())
            .0
            .is_empty()
    );
    // The success comes 10 minutes and 1 second after the first failure: out of reach.
    let mut events: Vec<Event> = (0..10).map(|i| login(4625, "bob", i)).collect();
    events.push(login(4624, "bob", 601));
    assert!(
        run(&rules, &events, CorrelatorOptions::default())
            .0
            .is_empty()
    );
    // Exactly 10 minutes: still inside the window.
    let mut events: Vec<Event> = (0..10).map(|i| login(4625, "bob", i)).collect();
    events.push(login(4624, "bob", 600));
    assert_eq!(
        run(&rules, &events, CorrelatorOptions::default()).0.len(),
        1
    );
}

fn counting(condition: &str, timespan: &str) -> Arc<RuleSet> {
    let text = format!(
        "title: burst\nid: burst-1\ncorrelation:\n    type: event_count\n    rules: [failed]\n    group-by: [User]\n    timespan: {timespan}\n    condition: {condition}\n---\ntitle: failed\nname: failed\nlogsource: {{product: windows, service: security}}\ndetection: {{s: {{EventID: 4625}}, condition: s}}\n"
    );
    Arc::new(RuleSet::from_yaml_str("burst.yml", &text).unwrap())
}

#[test]
fn event_count_window_edges_are_inclusive() {
    let rules = counting("{gte: 3}", "5m");
    let inside = [
        login(4625, "a", 0),
        login(4625, "a", 120),
        login(4625, "a", 300),
    ];
    assert_eq!(
        run(&rules, &inside, CorrelatorOptions::default()).0.len(),
        1
    );
    let outside = [
        login(4625, "a", 0),
        login(4625, "a", 120),
        login(4625, "a", 301),
    ];
    assert!(
        run(&rules, &outside, CorrelatorOptions::default())
            .0
            .is_empty()
    );
    // Different groups never add up.
    let split = [
        login(4625, "a", 0),
        login(4625, "b", 1),
        login(4625, "a", 2),
    ];
    assert!(
        run(&rules, &split, CorrelatorOptions::default())
            .0
            .is_empty()
    );
    // After firing, a group starts afresh: six events make two alerts, not four.
    let six: Vec<Event> = (0..6).map(|i| login(4625, "a", i)).collect();
    assert_eq!(run(&rules, &six, CorrelatorOptions::default()).0.len(), 2);
}

#[test]
fn out_of_order_within_tolerance_matches_sorted_input() {
    let rules = counting("{gte: 3}", "1m");
    let sorted: Vec<Event> = [0, 10, 20, 100, 110, 120, 200, 260, 330]
        .iter()
        .map(|&s| login(4625, "a", s))
        .collect();
    let (expected, _) = run(&rules, &sorted, CorrelatorOptions::default());
    assert_eq!(expected.len(), 2);
    let mut shuffled = sorted.clone();
    shuffled.swap(0, 2);
    shuffled.swap(3, 5);
    shuffled.swap(6, 7);
    let (alerts, stats) = run(&rules, &shuffled, CorrelatorOptions::default());
    assert_eq!(alerts, expected);
    assert_eq!(stats.late, 0);
    // With no tolerance, the same shuffle loses events and says so.
    let strict = CorrelatorOptions {
        out_of_order_ms: 0,
        ..CorrelatorOptions::default()
    };
    let (_, stats) = run(&rules, &shuffled, strict);
    assert!(stats.late > 0);
}

#[test]
fn upper_bounds_are_decided_when_the_window_closes() {
    let rules = counting("{lt: 3}", "5m");
    let events = [
        login(4625, "quiet", 0),
        login(4625, "busy", 1),
        login(4625, "busy", 2),
        login(4625, "busy", 3),
    ];
    let (alerts, _) = run(&rules, &events, CorrelatorOptions::default());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_ids, [events[0].id]);
    // Streaming: the quiet group's window is decided once event time has moved past it,
    // before the end of input.
    let mut correlator = Correlator::new(Arc::clone(&rules));
    let mut early = Vec::new();
    for event in [
        login(4625, "quiet", 0),
        login(4625, "other", 2000),
        login(4625, "other", 4000),
    ] {
        early.extend(correlator.observe(&event));
    }
    assert_eq!(early.len(), 1, "{early:?}");
    assert_eq!(early[0].event_ids.len(), 1);
    // The other group's two windows (one event each) are decided at the end.
    assert_eq!(correlator.flush().len(), 2);
    let range = counting("{gt: 1, lte: 2}", "5m");
    let (alerts, _) = run(&range, &events, CorrelatorOptions::default());
    assert!(alerts.is_empty(), "quiet has 1, busy has 3");
}

#[test]
fn value_count_and_metrics() {
    let text = "title: spray\nid: spray-1\ncorrelation:\n    type: value_count\n    rules: [failed]\n    group-by: [IpAddress]\n    timespan: 1h\n    condition: {field: TargetUserName, gte: 3}\n---\ntitle: failed\nname: failed\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 4625}, condition: s}\n";
    let rules = Arc::new(RuleSet::from_yaml_str("spray.yml", text).unwrap());
    let attempt = |user: &str, s: i64| {
        windows_event(
            "Security",
            4625,
            &[("IpAddress", "10.0.0.9"), ("TargetUserName", user)],
            Some(&at(s)),
        )
    };
    let same_user = [
        attempt("a", 0),
        attempt("A", 1),
        attempt("a", 2),
        attempt("b", 3),
    ];
    assert!(
        run(&rules, &same_user, CorrelatorOptions::default())
            .0
            .is_empty()
    );
    let spray = [
        attempt("a", 0),
        attempt("b", 1),
        attempt("a", 2),
        attempt("c", 3),
    ];
    assert_eq!(run(&rules, &spray, CorrelatorOptions::default()).0.len(), 1);

    let metric_rule = |kind: &str, condition: &str| {
        let text = format!(
            "title: bytes\nid: bytes-1\ncorrelation:\n    type: {kind}\n    rules: [conn]\n    group-by: [Image]\n    timespan: 1h\n    condition: {condition}\n---\ntitle: conn\nname: conn\nlogsource: {{product: windows, category: network_connection}}\ndetection: {{s: {{Initiated: 'true'}}, condition: s}}\n"
        );
        Arc::new(RuleSet::from_yaml_str("bytes.yml", &text).unwrap())
    };
    let conn = |n: &str, s: i64| {
        windows_event(
            "Microsoft-Windows-Sysmon/Operational",
            3,
            &[
                ("Image", "x.exe"),
                ("Initiated", "true"),
                ("DestinationPort", n),
            ],
            Some(&at(s)),
        )
    };
    let events = [conn("100", 0), conn("200", 1), conn("900", 2)];
    let fired = |kind: &str, condition: &str| {
        !run(
            &metric_rule(kind, condition),
            &events,
            CorrelatorOptions::default(),
        )
        .0
        .is_empty()
    };
    assert!(fired("value_sum", "{field: DestinationPort, gte: 1200}"));
    assert!(!fired("value_sum", "{field: DestinationPort, gt: 1200}"));
    assert!(fired("value_avg", "{field: DestinationPort, gte: 400}"));
    assert!(!fired("value_avg", "{field: DestinationPort, gt: 400}"));
    assert!(fired(
        "value_percentile",
        "{field: DestinationPort, percentile: 50, gte: 200}"
    ));
    assert!(!fired(
        "value_percentile",
        "{field: DestinationPort, percentile: 50, gt: 200}"
    ));
}

#[test]
fn temporal_with_aliases_in_any_order() {
    let text = "title: recon\nid: recon-1\ncorrelation:\n    type: temporal\n    rules: [whoami, netuser]\n    group-by: [host]\n    aliases:\n        host:\n            whoami: Computer\n            netuser: Workstation\n    timespan: 5m\n---\ntitle: whoami\nname: whoami\nlogsource: {product: windows, category: process_creation}\ndetection: {s: {Image|endswith: '\\whoami.exe'}, condition: s}\n---\ntitle: netuser\nname: netuser\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 4798}, condition: s}\n";
    let rules = Arc::new(RuleSet::from_yaml_str("recon.yml", text).unwrap());
    let whoami = |host: &str, s: i64| {
        let mut event = windows_event(
            "Microsoft-Windows-Sysmon/Operational",
            1,
            &[("Image", "C:\\w\\whoami.exe")],
            Some(&at(s)),
        );
        event
            .attributes
            .insert("winlog.computer_name".to_owned(), host.into());
        event
    };
    let netuser = |host: &str, s: i64| {
        windows_event("Security", 4798, &[("Workstation", host)], Some(&at(s)))
    };
    let events = [netuser("ws1", 0), whoami("ws2", 10), whoami("WS1", 20)];
    let (alerts, _) = run(&rules, &events, CorrelatorOptions::default());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_ids, [events[0].id, events[2].id]);
    let far = [netuser("ws1", 0), whoami("ws1", 301)];
    assert!(run(&rules, &far, CorrelatorOptions::default()).0.is_empty());
}

#[test]
fn state_is_bounded() {
    let rules = counting("{gte: 100}", "1h");
    let events: Vec<Event> = (0..50)
        .map(|i| login(4625, &format!("user{i}"), i))
        .collect();
    let options = CorrelatorOptions {
        max_groups: 10,
        ..CorrelatorOptions::default()
    };
    let (alerts, stats) = run(&rules, &events, options);
    assert!(alerts.is_empty());
    assert_eq!(stats.group_overflow, 40);
    let one_user: Vec<Event> = (0..50).map(|i| login(4625, "u", i)).collect();
    let options = CorrelatorOptions {
        max_window: 10,
        ..CorrelatorOptions::default()
    };
    let (_, stats) = run(&rules, &one_user, options);
    assert_eq!(stats.window_overflow, 40);
}

#[test]
fn bad_correlations_are_rejected_with_reasons() {
    let base = "---\ntitle: failed\nname: failed\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 4625}, condition: s}\n";
    let cases = [
        (
            "type: event_count\n    rules: [missing]\n    timespan: 5m\n    condition: {gte: 1}",
            "unknown rule `missing`",
        ),
        (
            "type: nope\n    rules: [failed]\n    timespan: 5m\n    condition: {gte: 1}",
            "unknown correlation type",
        ),
        (
            "type: event_count\n    rules: [failed]\n    timespan: 5x\n    condition: {gte: 1}",
            "timespan",
        ),
        (
            "type: value_count\n    rules: [failed]\n    timespan: 5m\n    condition: {gte: 1}",
            "condition.field",
        ),
        (
            "type: event_count\n    rules: [failed]\n    timespan: 5m",
            "needs a bound",
        ),
        (
            "type: event_count\n    rules: [me]\n    timespan: 5m\n    condition: {gte: 1}",
            "itself",
        ),
    ];
    for (body, expected) in cases {
        let text = format!("title: c\nid: c-1\nname: me\ncorrelation:\n    {body}\n{base}");
        let (set, report) = RuleSet::from_texts([("c.yml", text.as_str())]);
        assert_eq!(set.correlation_count(), 0, "{body}");
        let reasons: Vec<&str> = report
            .rejections
            .iter()
            .map(|r| r.reason.as_str())
            .collect();
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{reasons:?} should mention {expected}"
        );
    }
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let rules = counting("{lt: 3}", "366d");
    let mut first = login(4625, "a", 0);
    first.ecs.timestamp = Some(DateTime::<Utc>::MIN_UTC);
    let mut last = login(4625, "a", 0);
    last.ecs.timestamp = Some(DateTime::<Utc>::MAX_UTC);
    let options = CorrelatorOptions {
        out_of_order_ms: i64::MAX,
        ..CorrelatorOptions::default()
    };
    let (alerts, _) = run(&rules, &[first, last], options);
    assert_eq!(alerts.len(), 2);
}
