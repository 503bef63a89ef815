//! Property tests of the rule parser: whatever the text, loading gives rules or reasons,
//! never a panic, and every rejection names the file.

#![cfg(test)]

use proptest::prelude::*;
use rampart_detect::check_rule_text;

const RULE: &str = r"title: Suspicious whoami
id: 6f2b0c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
tags:
    - attack.discovery
    - attack.t1033
logsource:
    product: windows
    category: process_creation
detection:
    selection_img:
        - Image|endswith: '\whoami.exe'
        - OriginalFileName: 'whoami.exe'
    selection_cli:
        CommandLine|contains|all:
            - '/all'
            - '/priv'
    filter:
        User|contains: 'SYSTEM'
    condition: all of selection_* and not filter
level: medium
";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let (_, rejections) = check_rule_text("fuzz.yml", &text);
        for rejection in rejections {
            prop_assert_eq!(rejection.file, "fuzz.yml");
            prop_assert!(!rejection.reason.is_empty());
        }
    }

    #[test]
    fn mutated_rules_never_panic(
        cut in 0usize..RULE.len(),
        insert in "[ |:*?()\\-\\[\\]{}'\"\\\\a-z0-9\n]{0,12}",
    ) {
        let mut text = RULE.to_owned();
        let at = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.insert_str(at, &insert);
        let (rules, rejections) = check_rule_text("mutated.yml", &text);
        prop_assert!(rules + rejections.len() >= 1);
    }

    #[test]
    fn conditions_never_panic(condition in "[a-z_*() 01]{0,40}|(not |and |or |1 of |all of |them |selection_img |filter |\\( |\\) ){0,12}") {
        let text = RULE.replace("all of selection_* and not filter", &condition);
        let _ = check_rule_text("condition.yml", &text);
    }
}

#[test]
fn the_base_rule_loads() {
    let (rules, rejections) = check_rule_text("base.yml", RULE);
    assert_eq!((rules, rejections.len()), (1, 0), "{rejections:?}");
}
