//! A rule's `detection` block compiled into selections and a condition, and its evaluation
//! against one event.
//!
//! Selections follow the Sigma specification: a map is a conjunction of field tests; a list
//! of maps is a disjunction of conjunctions; a list of plain values is a keyword search over
//! every value of the event. A field's list of values is a disjunction, or a conjunction under
//! `|all`. Field values are read and lowercased at most once per event ([`EventView`]), and
//! the condition evaluates lazily, so a rule stops at the first selection that decides it
//! (see `view`).

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem::Finder;
use regex::Regex;

use crate::condition::{self, Cond};
use crate::fields::{Family, FieldSpec};
use crate::pattern::{Cidr, Staged, StrPattern, StrTest, Token, build_regex, tokenize, transform};
use crate::yaml::{Node, Scalar};

/// Index of a field in the rule set's [`FieldTable`].
pub(crate) type FieldId = usize;

/// Distinct field specs across all rules, so each is read at most once per event.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldTable {
    specs: Vec<FieldSpec>,
    index: HashMap<FieldSpec, FieldId>,
}

impl FieldTable {
    /// The id of a field name under a family, interning it on first use.
    pub(crate) fn intern(&mut self, name: &str, family: Family, zeek_log: Option<&str>) -> FieldId {
        let spec = FieldSpec::resolve(name, family, zeek_log);
        if let Some(&id) = self.index.get(&spec) {
            return id;
        }
        let id = self.specs.len();
        self.specs.push(spec.clone());
        self.index.insert(spec, id);
        id
    }

    /// How many distinct fields there are.
    pub(crate) fn len(&self) -> usize {
        self.specs.len()
    }

    /// The spec of a field.
    pub(crate) fn spec(&self, id: FieldId) -> Option<&FieldSpec> {
        self.specs.get(id)
    }
}

/// A numeric comparison (`gt`, `gte`, `lt`, `lte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    pub(crate) fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Self::Gt => left > right,
            Self::Gte => left >= right,
            Self::Lt => left < right,
            Self::Lte => left <= right,
        }
    }
}

/// One value test of a field.
#[derive(Debug, Clone)]
pub(crate) enum ValueTest {
    /// A string pattern.
    Str(StrPattern),
    /// `|re`: a regular expression over the value as written.
    Regex(Regex),
    /// `|cidr`.
    Cidr(Cidr),
    /// `|gt` and friends.
    Num(Cmp, f64),
    /// `|fieldref`: equal (ignoring case) to a value of another field.
    FieldRef(FieldId),
    /// Several substrings, any of which may occur: one Aho-Corasick pass instead of one
    /// search per value (`SigmaHQ` lists dozens of substrings per field, and script blocks
    /// run to hundreds of kilobytes).
    AnyContains {
        /// Whether case matters; otherwise the needles are lowercase.
        cased: bool,
        /// The needles' automaton.
        automaton: Box<AhoCorasick>,
        /// The needles.
        needles: Vec<String>,
    },
    /// Several whole values, any of which may be equal: one hash lookup.
    AnyExact {
        /// Whether case matters; otherwise the values are lowercase.
        cased: bool,
        /// The values.
        values: HashSet<String>,
    },
}

/// How many substrings or exact values of one field are combined into one test.
const COMBINE_FROM: usize = 3;

/// Replaces many substring (or exact-value) tests of one field by a single combined test.
/// Only for disjunctions: under `|all` every value must be found on its own.
pub(crate) fn combine(tests: Vec<ValueTest>) -> Result<Vec<ValueTest>, String> {
    let mut out = Vec::with_capacity(tests.len());
    let mut contains: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut exact: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut rest = Vec::new();
    for test in tests {
        match test {
            ValueTest::Str(StrPattern {
                cased,
                test: StrTest::Contains(finder),
            }) => {
                let needle = String::from_utf8_lossy(finder.needle()).into_owned();
                if let Some(list) = contains.get_mut(usize::from(cased)) {
                    list.push(needle);
                }
            }
            ValueTest::Str(StrPattern {
                cased,
                test: StrTest::Exact(value),
            }) => {
                if let Some(list) = exact.get_mut(usize::from(cased)) {
                    list.push(value);
                }
            }
            other => rest.push(other),
        }
    }
    for (cased, needles) in [false, true].into_iter().zip(contains) {
        if needles.len() >= COMBINE_FROM {
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&needles)
                .map_err(|error| format!("substring set too large: {error}"))?;
            out.push(ValueTest::AnyContains {
                cased,
                automaton: Box::new(automaton),
                needles,
            });
        } else {
            for needle in needles {
                out.push(ValueTest::Str(StrPattern {
                    cased,
                    test: StrTest::Contains(Box::new(Finder::new(needle.as_bytes()).into_owned())),
                }));
            }
        }
    }
    for (cased, values) in [false, true].into_iter().zip(exact) {
        if values.len() >= COMBINE_FROM {
            out.push(ValueTest::AnyExact {
                cased,
                values: values.into_iter().collect(),
            });
        } else {
            out.extend(values.into_iter().map(|value| {
                ValueTest::Str(StrPattern {
                    cased,
                    test: StrTest::Exact(value),
                })
            }));
        }
    }
    // Cheap tests first: exact values, then prefixes and suffixes, then the rest.
    out.extend(rest);
    Ok(out)
}

/// What a field item requires.
#[derive(Debug, Clone)]
pub(crate) enum ItemTest {
    /// Any (or, under `all`, every) value test holds for some value of the field.
    Values {
        /// The tests.
        tests: Vec<ValueTest>,
        /// `|all`.
        all: bool,
        /// The other fields `|fieldref` tests read (usually none).
        refs: Vec<FieldId>,
        /// Whether an absent or empty field also satisfies the item (`null` in the list).
        or_null: bool,
    },
    /// `null`: the field is absent or empty.
    Null,
    /// `|exists`.
    Exists(bool),
    /// A field-less `'|all': [...]` entry: keywords searched in every value of the event.
    Keywords {
        /// The patterns.
        patterns: Vec<StrPattern>,
        /// Whether every keyword must match.
        all: bool,
    },
}

/// One `field|modifiers: values` entry of a selection map.
#[derive(Debug, Clone)]
pub(crate) struct FieldItem {
    /// The field; `None` for field-less keyword entries.
    pub field: Option<FieldId>,
    /// The test.
    pub test: ItemTest,
}

/// One named selection.
#[derive(Debug, Clone)]
pub(crate) enum Selection {
    /// A disjunction of conjunctions of field items.
    Maps(Vec<Vec<FieldItem>>),
    /// Keywords searched in every value of the event; all must match under `all`.
    Keywords {
        /// The patterns.
        patterns: Vec<StrPattern>,
        /// Whether every keyword must match.
        all: bool,
    },
}

/// A compiled `detection` block.
#[derive(Debug, Clone)]
pub(crate) struct Detection {
    /// Selections in the order the rule names them.
    pub selections: Vec<Selection>,
    /// The condition.
    pub condition: Cond,
    /// Field names that selections test (for building negative test cases and docs).
    pub fields: Vec<FieldId>,
}

/// Compiles a `detection` node.
pub(crate) fn compile(
    detection: &Node,
    table: &mut FieldTable,
    family: Family,
    zeek_log: Option<&str>,
) -> Result<Detection, String> {
    let Node::Map(entries) = detection else {
        return Err(format!(
            "`detection` is {}, expected a map",
            detection.kind()
        ));
    };
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut conditions = Vec::new();
    let mut fields = Vec::new();
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            return Err("a `detection` key is not a string".to_owned());
        };
        match name {
            "condition" => match value {
                Node::Seq(items) => {
                    for item in items {
                        conditions.push(
                            item.as_str()
                                .ok_or("`condition` list items must be strings")?
                                .to_owned(),
                        );
                    }
                }
                other => conditions.push(
                    other
                        .as_str()
                        .ok_or("`condition` must be a string")?
                        .to_owned(),
                ),
            },
            "timeframe" => {
                return Err(
                    "`timeframe` in detection is not supported; use a correlation rule".to_owned(),
                );
            }
            _ => {
                let mut context = Context {
                    table,
                    family,
                    zeek_log,
                    fields: &mut fields,
                };
                let selection = context
                    .selection(value)
                    .map_err(|error| format!("selection `{name}`: {error}"))?;
                names.push(name.to_owned());
                selections.push(selection);
            }
        }
    }
    if conditions.is_empty() {
        return Err("`detection` has no `condition`".to_owned());
    }
    let mut parsed = Vec::with_capacity(conditions.len());
    for text in &conditions {
        parsed.push(condition::parse(text, &names)?);
    }
    let condition = if parsed.len() == 1 {
        parsed.pop().unwrap_or(Cond::Or(Vec::new()))
    } else {
        Cond::Or(parsed)
    };
    fields.sort_unstable();
    fields.dedup();
    Ok(Detection {
        selections,
        condition,
        fields,
    })
}

struct Context<'a> {
    table: &'a mut FieldTable,
    family: Family,
    zeek_log: Option<&'a str>,
    fields: &'a mut Vec<FieldId>,
}

impl Context<'_> {
    fn selection(&mut self, node: &Node) -> Result<Selection, String> {
        match node {
            Node::Map(entries) => Ok(Selection::Maps(vec![self.conjunction(entries)?])),
            Node::Seq(items) if items.iter().all(|i| matches!(i, Node::Map(_))) => {
                let mut alternatives = Vec::with_capacity(items.len());
                for item in items {
                    if let Node::Map(entries) = item {
                        alternatives.push(self.conjunction(entries)?);
                    }
                }
                Ok(Selection::Maps(alternatives))
            }
            Node::Seq(items) => {
                let mut patterns = Vec::with_capacity(items.len());
                for item in items {
                    let Node::Scalar(scalar) = item else {
                        return Err("a keyword list mixes maps and values".to_owned());
                    };
                    let text = scalar.text().ok_or("a keyword is null")?;
                    let mut tokens = tokenize(text);
                    if tokens.first() != Some(&Token::Star) {
                        tokens.insert(0, Token::Star);
                    }
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                    patterns.push(StrPattern::compile(&tokens, false)?);
                }
                Ok(Selection::Keywords {
                    patterns,
                    all: false,
                })
            }
            Node::Scalar(Scalar::Null) => Err("the selection is empty".to_owned()),
            Node::Scalar(scalar) => {
                let text = scalar.text().unwrap_or_default();
                let tokens = [Token::Star]
                    .into_iter()
                    .chain(tokenize(text))
                    .chain([Token::Star])
                    .collect::<Vec<_>>();
                Ok(Selection::Keywords {
                    patterns: vec![StrPattern::compile(&tokens, false)?],
                    all: false,
                })
            }
        }
    }

    fn conjunction(&mut self, entries: &[(Node, Node)]) -> Result<Vec<FieldItem>, String> {
        let mut items = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let key = key.as_str().ok_or("a field name is not a string")?;
            items.push(self.item(key, value)?);
        }
        // Cheap, selective tests first: exact values (event ids) decide most events.
        items.sort_by_key(cost);
        Ok(items)
    }

    fn item(&mut self, key: &str, value: &Node) -> Result<FieldItem, String> {
        let mut parts = key.split('|');
        let name = parts.next().unwrap_or_default();
        let modifiers: Vec<&str> = parts.collect();
        if name.is_empty() {
            return keyword_item(key, &modifiers, value);
        }
        let field = self.table.intern(name, self.family, self.zeek_log);
        self.fields.push(field);
        let field = Some(field);
        let mut all = false;
        let mut cased = false;
        let mut kind: Option<&str> = None;
        let mut regex_flags = (false, false, false);
        let mut transforms = Vec::new();
        for modifier in &modifiers {
            match *modifier {
                "all" => all = true,
                "cased" => cased = true,
                "i" | "ignorecase" if kind == Some("re") => regex_flags.0 = true,
                "m" | "multiline" if kind == Some("re") => regex_flags.1 = true,
                "s" | "dotall" if kind == Some("re") => regex_flags.2 = true,
                "re" | "cidr" | "gt" | "gte" | "lt" | "lte" | "exists" | "fieldref" => {
                    if kind.is_some() {
                        return Err(format!("field `{name}`: conflicting modifiers in `{key}`"));
                    }
                    kind = Some(modifier);
                }
                "contains" | "startswith" | "endswith" | "base64" | "base64offset" | "wide"
                | "utf16" | "utf16le" | "utf16be" | "windash" => transforms.push(*modifier),
                "expand" => {
                    return Err(format!(
                        "field `{name}`: modifier `expand` (placeholders) is not supported"
                    ));
                }
                other => return Err(format!("field `{name}`: unsupported modifier `{other}`")),
            }
        }
        let values: Vec<&Node> = match value {
            Node::Seq(items) => items.iter().collect(),
            other => vec![other],
        };
        if kind == Some("exists") {
            let flag = match values.as_slice() {
                [Node::Scalar(Scalar::Bool(flag))] => *flag,
                _ => return Err(format!("field `{name}`: `exists` needs `true` or `false`")),
            };
            return Ok(FieldItem {
                field,
                test: ItemTest::Exists(flag),
            });
        }
        if values.len() == 1 && values.first().is_some_and(|v| v.is_null()) && kind.is_none() {
            return Ok(FieldItem {
                field,
                test: ItemTest::Null,
            });
        }
        // `[null, 'x']`: absent or empty, or one of the other values.
        let or_null = !all && kind.is_none() && values.iter().any(|v| v.is_null());
        let mut tests = Vec::with_capacity(values.len());
        for value in values {
            if or_null && value.is_null() {
                continue;
            }
            let Node::Scalar(scalar) = value else {
                return Err(format!("field `{name}`: a value is {}", value.kind()));
            };
            self.value_tests(
                name,
                scalar,
                kind,
                cased,
                regex_flags,
                &transforms,
                &mut tests,
            )?;
        }
        if tests.is_empty() {
            return Err(format!("field `{name}`: no values"));
        }
        let tests = if all { tests } else { combine(tests)? };
        let refs = tests
            .iter()
            .filter_map(|test| match test {
                ValueTest::FieldRef(other) => Some(*other),
                _ => None,
            })
            .collect();
        Ok(FieldItem {
            field,
            test: ItemTest::Values {
                tests,
                all,
                refs,
                or_null,
            },
        })
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the parsed parts of one field key"
    )]
    fn value_tests(
        &mut self,
        name: &str,
        scalar: &Scalar,
        kind: Option<&str>,
        cased: bool,
        regex_flags: (bool, bool, bool),
        transforms: &[&str],
        out: &mut Vec<ValueTest>,
    ) -> Result<(), String> {
        let fail = |message: String| format!("field `{name}`: {message}");
        let Some(text) = scalar.text() else {
            return Err(fail(
                "`null` cannot be combined with other values or modifiers".to_owned(),
            ));
        };
        match kind {
            Some("re") => {
                let (insensitive, multi, dot_all) = regex_flags;
                out.push(ValueTest::Regex(
                    build_regex(text, insensitive, multi, dot_all).map_err(fail)?,
                ));
            }
            Some("cidr") => out.push(ValueTest::Cidr(Cidr::parse(text).map_err(fail)?)),
            Some(op @ ("gt" | "gte" | "lt" | "lte")) => {
                let number = match scalar {
                    Scalar::Int(n, _) => *n as f64,
                    Scalar::Float(f, _) => *f,
                    _ => text
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| fail(format!("`{op}` needs a number, got `{text}`")))?,
                };
                let cmp = match op {
                    "gt" => Cmp::Gt,
                    "gte" => Cmp::Gte,
                    "lt" => Cmp::Lt,
                    _ => Cmp::Lte,
                };
                out.push(ValueTest::Num(cmp, number));
            }
            Some("fieldref") => {
                let other = self.table.intern(text, self.family, self.zeek_log);
                self.fields.push(other);
                out.push(ValueTest::FieldRef(other));
            }
            _ => {
                let mut staged = vec![Staged::Text(tokenize(text))];
                for modifier in transforms {
                    staged = transform(staged, modifier).map_err(fail)?;
                }
                for value in staged {
                    let tokens = match value {
                        Staged::Text(tokens) => tokens,
                        Staged::Bytes(_) => {
                            return Err(fail("an encoded value needs `base64`".to_owned()));
                        }
                    };
                    out.push(ValueTest::Str(
                        StrPattern::compile(&tokens, cased).map_err(fail)?,
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A field-less entry (`'|all': [...]`): keywords with modifiers.
fn keyword_item(key: &str, modifiers: &[&str], value: &Node) -> Result<FieldItem, String> {
    let mut all = false;
    let mut cased = false;
    let mut transforms = Vec::new();
    for modifier in modifiers {
        match *modifier {
            "all" => all = true,
            "cased" => cased = true,
            "contains" => {}
            "base64" | "base64offset" | "wide" | "utf16" | "utf16le" | "utf16be" | "windash" => {
                transforms.push(*modifier);
            }
            other => {
                return Err(format!(
                    "keyword modifier `{other}` in `{key}` is not supported"
                ));
            }
        }
    }
    let values: Vec<&Node> = match value {
        Node::Seq(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut patterns = Vec::with_capacity(values.len());
    for value in values {
        let text = value.as_str().ok_or("a keyword is not a string")?;
        let mut staged = vec![Staged::Text(tokenize(text))];
        for modifier in &transforms {
            staged = transform(staged, modifier)?;
        }
        staged = transform(staged, "contains")?;
        for value in staged {
            let Staged::Text(tokens) = value else {
                return Err("an encoded keyword needs `base64`".to_owned());
            };
            patterns.push(StrPattern::compile(&tokens, cased)?);
        }
    }
    Ok(FieldItem {
        field: None,
        test: ItemTest::Keywords { patterns, all },
    })
}

/// Relative cost of a field item, for ordering the tests of a conjunction.
fn cost(item: &FieldItem) -> u8 {
    match &item.test {
        ItemTest::Exists(_) | ItemTest::Null => 0,
        ItemTest::Keywords { .. } => 7,
        ItemTest::Values { tests, .. } => {
            let worst: u8 = tests
                .iter()
                .map(|test| match test {
                    ValueTest::Str(pattern) => match pattern.test {
                        StrTest::Exact(_) => 1,
                        StrTest::Any | StrTest::Prefix(_) | StrTest::Suffix(_) => 2,
                        StrTest::Contains(_) | StrTest::Glob(_) => 3,
                        StrTest::Wild(_) => 5,
                    },
                    ValueTest::Num(..) | ValueTest::Cidr(_) | ValueTest::AnyExact { .. } => 2,
                    ValueTest::AnyContains { .. } => 3,
                    ValueTest::FieldRef(_) => 4,
                    ValueTest::Regex(_) => 6,
                })
                .max()
                .unwrap_or(0);
            let many = u8::from(tests.len() > 8);
            worst.saturating_add(many)
        }
    }
}
