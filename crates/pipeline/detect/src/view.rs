//! One event as the rules see it, and the evaluation of compiled detections against it.
//!
//! Field values are read and lowercased at most once per event, however many rules test
//! them; the condition evaluates lazily, so a rule stops at the first selection that decides
//! it.

use std::borrow::Cow;
use std::net::IpAddr;

use rampart_core::Event;

use crate::detection::{Detection, FieldId, FieldItem, FieldTable, ItemTest, Selection, ValueTest};
use crate::fields::push_value;
use crate::pattern::StrPattern;

/// A field's values on one event, as written and lowercased.
#[derive(Debug, Default)]
struct Slot<'e> {
    present: bool,
    raw: Vec<Cow<'e, str>>,
    /// Lowercased values; `None` where the value has no uppercase letters.
    lower: Vec<Option<String>>,
}

impl Slot<'_> {
    fn values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.raw.iter().zip(&self.lower).map(|(raw, lower)| {
            let raw: &str = raw;
            (raw, lower.as_deref().unwrap_or(raw))
        })
    }
}

/// Lowercases a value, or `None` when it already is lowercase.
fn fold(value: &str) -> Option<String> {
    if value.is_ascii() {
        value
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| value.to_ascii_lowercase())
    } else {
        let lower = value.to_lowercase();
        (lower != value).then_some(lower)
    }
}

/// One event as the rules see it: field values read and lowercased on first use.
pub(crate) struct EventView<'e, 't> {
    event: &'e Event,
    table: &'t FieldTable,
    slots: Vec<Option<Slot<'e>>>,
    everything: Option<Slot<'e>>,
}

impl<'e, 't> EventView<'e, 't> {
    /// A view of `event` over the fields of `table`.
    pub(crate) fn new(event: &'e Event, table: &'t FieldTable) -> Self {
        let mut slots = Vec::new();
        slots.resize_with(table.len(), || None);
        Self {
            event,
            table,
            slots,
            everything: None,
        }
    }

    fn slot(&mut self, field: FieldId) -> Option<&Slot<'e>> {
        let event = self.event;
        let table = self.table;
        let entry = self.slots.get_mut(field)?;
        Some(entry.get_or_insert_with(|| {
            let mut raw = Vec::new();
            let present = table
                .spec(field)
                .is_some_and(|spec| spec.read(event, &mut raw));
            let lower = raw.iter().map(|value| fold(value)).collect();
            Slot {
                present,
                raw,
                lower,
            }
        }))
    }

    /// Calls `f` with every lowercased value of a field.
    pub(crate) fn each_lower(&mut self, field: FieldId, f: &mut dyn FnMut(&str)) {
        if let Some(slot) = self.slot(field) {
            for (_, lower) in slot.values() {
                f(lower);
            }
        }
    }

    /// The first value of a field as written, if present.
    pub(crate) fn first_value(&mut self, field: FieldId) -> Option<String> {
        self.slot(field)
            .and_then(|slot| slot.raw.first().map(|v| v.clone().into_owned()))
    }

    fn everything(&mut self) -> &Slot<'e> {
        let event = self.event;
        self.everything.get_or_insert_with(|| {
            let mut raw = Vec::new();
            for value in event.attributes.values() {
                push_value(value, &mut raw);
            }
            if let Some(command_line) = &event.ecs.process.command_line {
                raw.push(Cow::Borrowed(command_line.as_str()));
            }
            let lower = raw.iter().map(|value| fold(value)).collect();
            Slot {
                present: true,
                raw,
                lower,
            }
        })
    }

    /// Evaluates a detection.
    pub(crate) fn matches(&mut self, detection: &Detection) -> bool {
        detection.condition.eval(&mut |index| {
            detection
                .selections
                .get(index)
                .is_some_and(|selection| self.selection(selection))
        })
    }

    fn selection(&mut self, selection: &Selection) -> bool {
        match selection {
            Selection::Maps(alternatives) => alternatives
                .iter()
                .any(|items| items.iter().all(|item| self.item(item))),
            Selection::Keywords { patterns, all } => self.keywords(patterns, *all),
        }
    }

    fn keywords(&mut self, patterns: &[StrPattern], all: bool) -> bool {
        let slot = self.everything();
        let hit = |pattern: &StrPattern| {
            slot.values()
                .any(|(raw, lower)| pattern.matches(raw, lower))
        };
        if all {
            patterns.iter().all(hit)
        } else {
            patterns.iter().any(hit)
        }
    }

    fn item(&mut self, item: &FieldItem) -> bool {
        let Some(field) = item.field else {
            return match &item.test {
                ItemTest::Keywords { patterns, all } => self.keywords(patterns, *all),
                _ => false,
            };
        };
        match &item.test {
            ItemTest::Keywords { .. } => false,
            ItemTest::Exists(wanted) => {
                self.slot(field).is_some_and(|slot| slot.present) == *wanted
            }
            ItemTest::Null => self
                .slot(field)
                .is_none_or(|slot| !slot.present || slot.raw.iter().all(|v| v.is_empty())),
            ItemTest::Values {
                tests,
                all,
                refs,
                or_null,
            } => {
                // Field references need a second field's values; read them first so the
                // borrow of this field's slot below stays simple.
                let mut references: Vec<(FieldId, Vec<String>)> = Vec::new();
                for &other in refs {
                    let values = self
                        .slot(other)
                        .map(|slot| slot.values().map(|(_, lower)| lower.to_owned()).collect())
                        .unwrap_or_default();
                    references.push((other, values));
                }
                let Some(slot) = self.slot(field) else {
                    return false;
                };
                let empty = !slot.present || slot.raw.iter().all(|v| v.is_empty());
                if *or_null && empty {
                    return true;
                }
                if !slot.present {
                    return false;
                }
                let check = |test: &ValueTest| value_test(test, slot, &references);
                if *all {
                    tests.iter().all(check)
                } else {
                    tests.iter().any(check)
                }
            }
        }
    }
}

fn value_test(test: &ValueTest, slot: &Slot<'_>, references: &[(FieldId, Vec<String>)]) -> bool {
    match test {
        ValueTest::Str(pattern) => slot
            .values()
            .any(|(raw, lower)| pattern.matches(raw, lower)),
        ValueTest::Regex(regex) => slot.raw.iter().any(|raw| regex.is_match(raw)),
        ValueTest::AnyContains {
            cased, automaton, ..
        } => slot
            .values()
            .any(|(raw, lower)| automaton.is_match(if *cased { raw } else { lower })),
        ValueTest::AnyExact { cased, values } => slot
            .values()
            .any(|(raw, lower)| values.contains(if *cased { raw } else { lower })),
        ValueTest::Cidr(cidr) => slot.raw.iter().any(|raw| {
            raw.trim()
                .parse::<IpAddr>()
                .is_ok_and(|address| cidr.contains(address))
        }),
        ValueTest::Num(cmp, number) => slot
            .raw
            .iter()
            .any(|raw| parse_number(raw).is_some_and(|value| cmp.holds(value, *number))),
        ValueTest::FieldRef(other) => {
            references
                .iter()
                .filter(|(field, _)| field == other)
                .any(|(_, wanted)| {
                    slot.values()
                        .any(|(_, lower)| wanted.iter().any(|w| w == lower))
                })
        }
    }
}

/// Reads a number as event exporters write it: decimal, or hexadecimal with `0x`.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|n| n as f64);
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::combine;
    use crate::pattern::Token;

    fn contains(needle: &str, cased: bool) -> ValueTest {
        let tokens = [Token::Star, Token::Lit(needle.to_owned()), Token::Star];
        ValueTest::Str(StrPattern::compile(&tokens, cased).unwrap())
    }

    fn exact(value: &str) -> ValueTest {
        ValueTest::Str(StrPattern::compile(&[Token::Lit(value.to_owned())], false).unwrap())
    }

    fn slot(value: &str) -> Slot<'_> {
        Slot {
            present: true,
            raw: vec![Cow::Borrowed(value)],
            lower: vec![fold(value)],
        }
    }

    fn any(tests: &[ValueTest], value: &str) -> bool {
        let slot = slot(value);
        tests.iter().any(|t| value_test(t, &slot, &[]))
    }

    proptest::proptest! {
        /// Combining substrings and exact values into one automaton or set is only a faster
        /// way of asking the same question.
        #[test]
        fn combined_tests_agree_with_separate_ones(
            needles in proptest::collection::vec("[abAB]{1,3}", 0..6),
            values in proptest::collection::vec("[abAB]{0,3}", 0..6),
            cased in proptest::bool::ANY,
            event in "[abAB]{0,8}",
        ) {
            let mut separate: Vec<ValueTest> = needles.iter().map(|n| contains(n, cased)).collect();
            separate.extend(values.iter().map(|v| exact(v)));
            let combined = combine(separate.clone()).unwrap();
            proptest::prop_assert_eq!(any(&combined, &event), any(&separate, &event));
        }
    }

    #[test]
    fn numbers_in_decimal_and_hex() {
        assert_eq!(parse_number("0x10"), Some(16.0));
        assert_eq!(parse_number(" 42 "), Some(42.0));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("x"), None);
    }
}
