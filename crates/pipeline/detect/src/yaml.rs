//! A bounded YAML reader: rule text to a small tree of [`Node`]s.
//!
//! Built on `yaml-rust2`'s event parser rather than its document loader because the loader
//! expands aliases by cloning whole subtrees, so a few lines of anchors can ask for gigabytes
//! ("billion laughs"). Here every node, aliased copies included, counts against a budget, and
//! nesting depth is capped, so hostile rule files fail with an error instead of exhausting
//! memory.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Most nodes one rule file may produce (aliases expanded); the largest `SigmaHQ` rule has a
/// few thousand.
pub(crate) const MAX_NODES: usize = 200_000;
/// Deepest nesting of sequences and mappings.
pub(crate) const MAX_DEPTH: usize = 64;

/// A YAML scalar as written, with how the YAML core schema resolves it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer, with its text as written (`0x10` stays `0x10`).
    Int(i64, String),
    /// A float, with its text as written.
    Float(f64, String),
    /// Anything else, or any quoted scalar.
    Str(String),
}

impl Scalar {
    /// The scalar as text, as Sigma compares it: numbers and booleans in their written form.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Self::Null => None,
            Self::Bool(true) => Some("true"),
            Self::Bool(false) => Some("false"),
            Self::Int(_, text) | Self::Float(_, text) | Self::Str(text) => Some(text),
        }
    }
}

/// One node of a YAML document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The mapping's value under the string key `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Self::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node as a string scalar (numbers and booleans in their written form).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Scalar(scalar) => scalar.text(),
            _ => None,
        }
    }

    /// Whether the node is `null`.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Self::Scalar(Scalar::Null))
    }

    /// A short name of the node's kind, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Scalar(Scalar::Null) => "null",
            Self::Scalar(_) => "a scalar",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a map",
        }
    }
}

/// Why a text is not YAML this reader accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError(pub String);

/// Parses every document of a YAML stream.
pub(crate) fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, true)
        .map_err(|error| YamlError(error.to_string()))?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.documents)
}

enum Open {
    Seq(Vec<Node>, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize),
}

#[derive(Default)]
struct Builder {
    documents: Vec<Node>,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    error: Option<YamlError>,
}

impl Builder {
    fn fail(&mut self, message: &str, mark: Marker) {
        if self.error.is_none() {
            self.error = Some(YamlError(format!(
                "{message} at line {}, column {}",
                mark.line(),
                mark.col() + 1
            )));
        }
    }

    fn count(&mut self, added: usize, mark: Marker) -> bool {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > MAX_NODES {
            self.fail(
                &format!("the document has more than {MAX_NODES} nodes (aliases expanded)"),
                mark,
            );
            return false;
        }
        true
    }

    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Open::Seq(items, _)) => items.push(node),
            Some(Open::Map(entries, key, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

fn size(node: &Node) -> usize {
    match node {
        Node::Scalar(_) => 1,
        Node::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Node::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
    }
}

fn resolve_plain(text: String) -> Scalar {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(value) = text.parse::<i64>()
    {
        return Scalar::Int(value, text);
    }
    let numeric = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if numeric && let Ok(value) = text.parse::<f64>() {
        return Scalar::Float(value, text);
    }
    Scalar::Str(text)
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => self.anchors.clear(),
            Event::Scalar(text, style, anchor, _tag) => {
                if !self.count(1, mark) {
                    return;
                }
                let scalar = if style == TScalarStyle::Plain {
                    resolve_plain(text)
                } else {
                    Scalar::Str(text)
                };
                self.push_node(Node::Scalar(scalar), anchor);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(&format!("nesting deeper than {MAX_DEPTH} levels"), mark);
                    return;
                }
                if !self.count(1, mark) {
                    return;
                }
                if matches!(event, Event::SequenceStart(..)) {
                    self.stack.push(Open::Seq(Vec::new(), anchor));
                } else {
                    self.stack.push(Open::Map(Vec::new(), None, anchor));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq(items, anchor)) => self.push_node(Node::Seq(items), anchor),
                Some(Open::Map(entries, _, anchor)) => self.push_node(Node::Map(entries), anchor),
                None => self.fail("unbalanced collection end", mark),
            },
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    self.fail("alias to an unknown anchor", mark);
                    return;
                };
                if self.count(size(&node), mark) {
                    self.push_node(node, 0);
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn parses_maps_lists_and_scalars() {
        let docs = parse_documents("a: 1\nb: [x, 'y', ~]\nc: {d: true}\n---\ne: 0x10\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("a").unwrap().as_str(), Some("1"));
        assert!(matches!(docs[0].get("b"), Some(Node::Seq(items)) if items.len() == 3));
        assert_eq!(
            docs[0].get("c").unwrap().get("d").unwrap().as_str(),
            Some("true")
        );
        assert_eq!(docs[1].get("e").unwrap().as_str(), Some("0x10"));
    }

    #[test]
    fn alias_bombs_hit_the_node_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            let _ = writeln!(
                text,
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]"
            );
        }
        let error = parse_documents(&text).unwrap_err();
        assert!(error.0.contains("nodes"), "{error:?}");
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let text = "[".repeat(200);
        assert!(parse_documents(&text).is_err());
    }
}
