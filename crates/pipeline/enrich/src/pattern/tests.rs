use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::testkit::event;

const VECTORS: &str = include_str!("../../tests/fixtures/stix-pattern-vectors.txt");

fn outcome(text: &str) -> &'static str {
    match Pattern::parse(text) {
        Ok(_) => "ok",
        Err(PatternError::Unsupported(_)) => "unsupported",
        Err(PatternError::Invalid(_)) => "invalid",
        Err(PatternError::Syntax { .. }) => "syntax",
    }
}

#[test]
fn standard_vectors_get_their_expected_outcome() {
    let mut checked = 0;
    for line in VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (expected, pattern) = line.split_once('\t').unwrap();
        assert_eq!(
            outcome(pattern),
            expected,
            "{pattern}: {:?}",
            Pattern::parse(pattern).err()
        );
        checked += 1;
    }
    assert!(checked >= 88, "{checked}");
}

#[test]
fn rejections_name_what_is_unsupported() {
    let reason = |p: &str| Pattern::parse(p).unwrap_err().to_string();
    assert!(reason("[a:b = 1] FOLLOWEDBY [a:b = 2]").contains("`FOLLOWEDBY`"));
    assert!(reason("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS").contains("`WITHIN`"));
    assert!(reason("[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES").contains("`REPEATS`"));
    assert!(
        reason("[ipv4-addr:value = '1.2.3.4'] AND [ipv4-addr:value = '1.2.3.5']")
            .contains("`AND` between observation")
    );
    assert!(reason("[x509-certificate:issuer = 'CN=x']").contains("`x509-certificate`"));
    assert!(reason("[file:size = 3]").contains("`file:size`"));
    assert!(reason("[file:hashes.'SHA-256' = 'f00']").contains("not a valid SHA-256 hash"));
    let syntax = reason("[ipv4-addr:value = '1.2.3.4' ");
    assert!(
        syntax.contains("byte 29") && syntax.contains("`]`"),
        "{syntax}"
    );
    assert!(reason(&"(".repeat(200)).contains("nest deeper"));
    assert!(
        reason(&format!(
            "[url:value = '{}']",
            "a".repeat(MAX_PATTERN_BYTES)
        ))
        .contains("exceeds the cap")
    );
}

fn matches(pattern: &str, ecs: serde_json::Value) -> Option<Vec<(String, String)>> {
    let pattern = Pattern::parse(pattern).unwrap();
    let observed = Observed::of(&event(ecs));
    pattern.matches(&observed).map(|hits| {
        hits.into_iter()
            .map(|h| (h.field.to_owned(), h.value))
            .collect()
    })
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "compared with what `matches` returns"
)]
fn hit(field: &str, value: &str) -> Option<Vec<(String, String)>> {
    Some(vec![(field.to_owned(), value.to_owned())])
}

#[test]
fn addresses_match_exactly_and_by_cidr() {
    let conn = json!({"source": {"ip": "10.1.1.1", "port": 50000}, "destination": {"ip": "198.51.100.7", "port": 443}});
    assert_eq!(
        matches("[ipv4-addr:value = '198.51.100.7']", conn.clone()),
        hit("destination.ip", "198.51.100.7")
    );
    assert_eq!(
        matches("[ipv4-addr:value = '198.51.100.0/24']", conn.clone()),
        hit("destination.ip", "198.51.100.7")
    );
    assert_eq!(
        matches("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", conn.clone()),
        hit("source.ip", "10.1.1.1")
    );
    assert_eq!(
        matches("[ipv4-addr:value ISSUPERSET '10.1.1.1/32']", conn.clone()),
        hit("source.ip", "10.1.1.1")
    );
    assert_eq!(
        matches("[ipv4-addr:value ISSUPERSET '10.1.1.0/24']", conn.clone()),
        None
    );
    assert_eq!(
        matches("[ipv4-addr:value = '198.51.101.7']", conn.clone()),
        None
    );
    assert_eq!(
        matches(
            "[ipv6-addr:value = '198.51.100.0/24' ]"
                .replace("198.51.100.0/24", "2001:db8::/32")
                .as_str(),
            conn.clone()
        ),
        None
    );
    let v6 = json!({"destination": {"ip": "2001:db8:dead:beef::1"}});
    assert_eq!(
        matches(
            "[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']",
            v6.clone()
        ),
        hit("destination.ip", "2001:db8:dead:beef::1")
    );
    assert_eq!(matches("[ipv4-addr:value = '10.0.0.0/8']", v6), None);
}

#[test]
fn comparisons_on_one_object_type_bind_the_same_object() {
    let conn = json!({"source": {"ip": "192.0.2.1"}, "destination": {"ip": "192.0.2.2"}});
    // Both addresses are in the event, but no single ipv4-addr object has both values.
    assert_eq!(
        matches(
            "[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']",
            conn.clone()
        ),
        None
    );
    assert!(
        matches(
            "[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.9']",
            conn.clone()
        )
        .is_some()
    );
    assert!(
        matches(
            "[ipv4-addr:value = '192.0.2.0/24' AND ipv4-addr:value != '192.0.2.1']",
            conn.clone()
        )
        .is_some()
    );
    // Different object types combine freely.
    let dns =
        json!({"source": {"ip": "192.0.2.1"}, "dns": {"question": {"name": "Evil.Example."}}});
    assert_eq!(
        matches(
            "[domain-name:value = 'evil.example' AND ipv4-addr:value = '192.0.2.1']",
            dns
        ),
        Some(vec![
            ("dns.question.name".to_owned(), "evil.example".to_owned()),
            ("source.ip".to_owned(), "192.0.2.1".to_owned())
        ])
    );
}

#[test]
fn urls_emails_hashes_and_files() {
    let web = json!({"url": {"full": "http://Bad.example/x.exe"}});
    assert_eq!(
        matches("[url:value = 'http://Bad.example/x.exe']", web.clone()),
        hit("url.full", "http://Bad.example/x.exe")
    );
    assert_eq!(
        matches("[url:value = 'http://bad.example/x.exe']", web.clone()),
        None
    );
    assert_eq!(
        matches("[domain-name:value = 'bad.example']", web.clone()),
        hit("url.domain", "bad.example")
    );
    assert_eq!(
        matches("[url:value LIKE 'http://%.exe']", web.clone()),
        hit("url.full", "http://Bad.example/x.exe")
    );
    assert_eq!(matches("[url:value MATCHES '^https://']", web), None);
    let file = json!({"file": {"name": "x.exe", "hash": {"md5": "001DD76872D80801692FF942308C64E6", "sha256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}}});
    assert_eq!(
        matches(
            "[file:hashes.MD5 = '001dd76872d80801692ff942308c64e6']",
            file.clone()
        ),
        hit("file.hash.md5", "001dd76872d80801692ff942308c64e6")
    );
    assert!(matches("[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F']", file.clone()).is_some());
    assert_eq!(
        matches(
            "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
            file.clone()
        ),
        None
    );
    assert!(
        matches(
            "[file:name = 'x.exe' AND file:hashes.MD5 != '00000000000000000000000000000000']",
            file
        )
        .is_some()
    );
}

#[test]
fn processes_and_network_traffic() {
    let proc = json!({"host": {"name": "ws1"}, "process": {"name": "powershell.exe", "pid": 4242, "command_line": "powershell -enc SQBFAFgA", "parent": {"name": "WINWORD.EXE"}}});
    assert!(
        matches(
            "[process:name = 'powershell.exe' AND process:command_line LIKE '%-enc %']",
            proc.clone()
        )
        .is_some()
    );
    assert!(
        matches(
            "[process:parent_ref.name = 'WINWORD.EXE' AND process:pid >= 4000]",
            proc.clone()
        )
        .is_some()
    );
    assert!(matches("[process:pid IN (1, 2, 3)]", proc.clone()).is_none());
    assert!(
        matches(
            "[process:command_line MATCHES '(?i)-ENC\\\\s']",
            proc.clone()
        )
        .is_some()
    );
    assert!(matches("[EXISTS process:parent_ref.command_line]", proc.clone()).is_none());
    // A negation needs the property to be present.
    assert!(matches("[process:parent_ref.command_line != 'x']", proc).is_none());
    let flow = json!({"source": {"ip": "10.0.0.5", "port": 51000}, "destination": {"ip": "203.0.113.33", "port": 4444, "domain": "c2.example"}, "network": {"transport": "tcp"}});
    assert!(matches("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']", flow.clone()).is_some());
    assert!(
        matches(
            "[network-traffic:dst_ref.value = 'c2.example' AND network-traffic:dst_port = 4444]",
            flow.clone()
        )
        .is_some()
    );
    assert!(matches("[network-traffic:protocols[*] = 'TCP' AND network-traffic:src_ref.value ISSUBSET '10.0.0.0/8']", flow.clone()).is_some());
    assert!(matches("[network-traffic:protocols[*] = 'udp']", flow.clone()).is_none());
    assert!(matches("[network-traffic:dst_port < 1024]", flow.clone()).is_none());
    assert!(
        matches(
            "[network-traffic:src_ref.value NOT ISSUBSET '10.0.0.0/8']",
            flow
        )
        .is_none()
    );
}

#[test]
fn emails_come_from_attributes() {
    let mut e = event(json!({}));
    e.attributes
        .insert("email.from.address".into(), json!("Jdoe@Example.com"));
    let observed = Observed::of(&e);
    let pattern = Pattern::parse("[email-addr:value = 'jdoe@example.com']").unwrap();
    let hits = pattern.matches(&observed).unwrap();
    assert_eq!(hits[0].field, "email.from.address");
    assert_eq!(
        hits[0].entity.as_ref().unwrap().kind,
        rampart_core::EntityKind::Email
    );
}

#[test]
fn index_keys_cover_what_can_match() {
    let keys = |p: &str| Pattern::parse(p).unwrap().index_keys();
    assert_eq!(
        keys("[domain-name:value = 'A.example' OR url:value = 'http://x/']")
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        keys("[ipv4-addr:value = '10.0.0.0/8' AND network-traffic:dst_port = 80]")
            .unwrap()
            .len(),
        1
    );
    assert!(keys("[process:command_line LIKE '%x%']").is_none());
    assert!(keys("[ipv4-addr:value != '10.0.0.1']").is_none());
    assert!(keys("[url:value = 'http://x/'] OR [process:pid > 1]").is_none());
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("ipv4-addr:value".to_owned()),
        Just("file:hashes.'SHA-256'".to_owned()),
        Just("network-traffic:protocols[*]".to_owned()),
        Just("process:pid".to_owned()),
        Just("=".to_owned()),
        Just("!=".to_owned()),
        Just(">=".to_owned()),
        Just("AND".to_owned()),
        Just("OR".to_owned()),
        Just("NOT".to_owned()),
        Just("IN".to_owned()),
        Just("LIKE".to_owned()),
        Just("MATCHES".to_owned()),
        Just("ISSUBSET".to_owned()),
        Just("FOLLOWEDBY".to_owned()),
        Just("WITHIN 5 SECONDS".to_owned()),
        Just("EXISTS".to_owned()),
        Just(",".to_owned()),
        Just("'10.0.0.0/8'".to_owned()),
        Just("'a\\'b'".to_owned()),
        Just("42".to_owned()),
        Just("t'2020-01-01T00:00:00Z'".to_owned()),
        "'[^']{0,8}'".prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in "\\PC{0,80}") {
        let _ = Pattern::parse(&text);
    }

    #[test]
    fn parser_never_panics_on_token_soup(tokens in proptest::collection::vec(token(), 0..24)) {
        let text = tokens.join(" ");
        if let Ok(pattern) = Pattern::parse(&text) {
            // Whatever compiles also evaluates without panicking.
            let observed = Observed::of(&event(json!({"source": {"ip": "10.1.2.3"}, "process": {"pid": 42}})));
            let _ = pattern.matches(&observed);
            let _ = pattern.index_keys();
        }
    }
}
