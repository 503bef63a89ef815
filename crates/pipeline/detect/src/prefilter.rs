//! Literal prefiltering: which rules can possibly match an event, found with one
//! Aho-Corasick pass per field instead of one test per rule.
//!
//! For every rule, [`required`] derives from its condition a set of (field, literal) pairs of
//! which at least one must occur in the event (lowercased) for the rule to match: a
//! conjunction needs only its most selective member, a disjunction needs one of each of its
//! branches, and `not` gives nothing. A rule without such a set is always evaluated. Per
//! route bucket, the literals of each field form one automaton; an event's field values are
//! scanned once, and only rules with a literal present are evaluated in full. The prefilter
//! is a necessary condition only, so it never changes results (a test checks this against
//! unfiltered evaluation over the `SigmaHQ` rules and real events).

use aho_corasick::{AhoCorasick, MatchKind};

use crate::condition::Cond;
use crate::detection::{Detection, FieldId, FieldItem, ItemTest, Selection, ValueTest};
use crate::view::EventView;

/// At least one of these (field, lowercase literal) pairs occurs in every matching event.
type Requirement = Vec<(FieldId, String)>;

/// How selective a requirement is: its shortest literal, then fewer alternatives.
fn score(requirement: &Requirement) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = requirement
        .iter()
        .map(|(_, literal)| literal.len())
        .min()
        .unwrap_or(0);
    (shortest, std::cmp::Reverse(requirement.len()))
}

fn best(options: impl Iterator<Item = Option<Requirement>>) -> Option<Requirement> {
    options.flatten().max_by_key(score)
}

fn union(parts: impl Iterator<Item = Option<Requirement>>) -> Option<Requirement> {
    let mut out = Vec::new();
    for part in parts {
        out.extend(part?);
    }
    (!out.is_empty()).then_some(out)
}

fn item(item: &FieldItem) -> Option<Requirement> {
    let field = item.field?;
    let ItemTest::Values {
        tests,
        all,
        or_null,
        ..
    } = &item.test
    else {
        return None;
    };
    if *or_null {
        // An absent field satisfies the item: no literal is required.
        return None;
    }
    let literals = |test: &ValueTest| -> Option<Vec<String>> {
        match test {
            ValueTest::Str(pattern) => pattern.literal().map(|l| vec![l]),
            ValueTest::AnyContains { needles, cased, .. } => {
                let lower: Vec<String> = needles
                    .iter()
                    .map(|n| if *cased { n.to_lowercase() } else { n.clone() })
                    .collect();
                (!lower.iter().any(String::is_empty)).then_some(lower)
            }
            ValueTest::AnyExact { values, cased } => {
                let lower: Vec<String> = values
                    .iter()
                    .map(|v| if *cased { v.to_lowercase() } else { v.clone() })
                    .collect();
                (!lower.iter().any(String::is_empty)).then_some(lower)
            }
            ValueTest::Regex(_)
            | ValueTest::Cidr(_)
            | ValueTest::Num(..)
            | ValueTest::FieldRef(_) => None,
        }
    };
    let to_requirement =
        |list: Vec<String>| -> Requirement { list.into_iter().map(|l| (field, l)).collect() };
    if *all {
        // Every test must hold: the most selective one is enough.
        best(tests.iter().map(|t| literals(t).map(to_requirement)))
    } else {
        union(tests.iter().map(|t| literals(t).map(to_requirement)))
    }
}

fn selection(selection: &Selection) -> Option<Requirement> {
    match selection {
        Selection::Maps(alternatives) => union(
            alternatives
                .iter()
                .map(|items| best(items.iter().map(item))),
        ),
        Selection::Keywords { .. } => None,
    }
}

fn condition(cond: &Cond, selections: &[Option<Requirement>]) -> Option<Requirement> {
    let of = |index: &usize| selections.get(*index).cloned().flatten();
    match cond {
        Cond::Selection(index) => of(index),
        Cond::Not(_) => None,
        Cond::And(parts) => best(parts.iter().map(|p| condition(p, selections))),
        Cond::Or(parts) => union(parts.iter().map(|p| condition(p, selections))),
        Cond::AtLeast(_, indices) => union(indices.iter().map(of)),
        Cond::All(indices) => best(indices.iter().map(of)),
    }
}

/// The literals one of which every event matching `detection` contains, if there are any.
pub(crate) fn required(detection: &Detection) -> Option<Requirement> {
    let selections: Vec<Option<Requirement>> = detection.selections.iter().map(selection).collect();
    condition(&detection.condition, &selections)
}

/// The literals of one field in a bucket, and the rules each one admits.
#[derive(Debug, Clone)]
struct FieldFilter {
    field: FieldId,
    automaton: AhoCorasick,
    /// Per literal (pattern id): the rules it admits.
    rules: Vec<Vec<usize>>,
}

/// The prefilter of one bucket of rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prefilter {
    /// Rules without a requirement: always evaluated.
    always: Vec<usize>,
    fields: Vec<FieldFilter>,
}

impl Prefilter {
    /// Builds the prefilter of a bucket from each rule's requirement.
    pub(crate) fn build(rules: &[usize], requirements: &[Option<Requirement>]) -> Self {
        let mut always = Vec::new();
        let mut by_field: Vec<(FieldId, Vec<(String, usize)>)> = Vec::new();
        for &rule in rules {
            match requirements.get(rule).cloned().flatten() {
                None => always.push(rule),
                Some(requirement) => {
                    for (field, literal) in requirement {
                        match by_field.iter_mut().find(|(f, _)| *f == field) {
                            Some((_, list)) => list.push((literal, rule)),
                            None => by_field.push((field, vec![(literal, rule)])),
                        }
                    }
                }
            }
        }
        let mut fields = Vec::with_capacity(by_field.len());
        for (field, mut list) in by_field {
            list.sort();
            list.dedup();
            let mut literals: Vec<String> = Vec::new();
            let mut admitted: Vec<Vec<usize>> = Vec::new();
            for (literal, rule) in list {
                if literals.last() != Some(&literal) {
                    literals.push(literal);
                    admitted.push(Vec::new());
                }
                if let Some(last) = admitted.last_mut() {
                    last.push(rule);
                }
            }
            match AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&literals)
            {
                Ok(automaton) => fields.push(FieldFilter {
                    field,
                    automaton,
                    rules: admitted,
                }),
                // Too many literals for one automaton: evaluate those rules unfiltered.
                Err(_) => always.extend(admitted.into_iter().flatten()),
            }
        }
        always.sort_unstable();
        always.dedup();
        Self { always, fields }
    }

    /// Appends the rules of the bucket that may match the event.
    pub(crate) fn candidates(&self, view: &mut EventView<'_, '_>, out: &mut Vec<usize>) {
        out.extend_from_slice(&self.always);
        let mut hits: Vec<usize> = Vec::new();
        for filter in &self.fields {
            hits.clear();
            view.each_lower(filter.field, &mut |value| {
                hits.extend(
                    filter
                        .automaton
                        .find_overlapping_iter(value)
                        .map(|hit| hit.pattern().as_usize()),
                );
            });
            // A literal may occur many times in a long value; admit its rules once.
            hits.sort_unstable();
            hits.dedup();
            for &hit in &hits {
                if let Some(rules) = filter.rules.get(hit) {
                    out.extend_from_slice(rules);
                }
            }
        }
    }
}
