//! Turns a parsed pattern into the subset Rampart evaluates, rejecting the rest by name.

use regex::Regex;

use super::PatternError;
use super::parser::{CmpExpr, Literal, ObjectPath, ObsExpr, Op, Step, Test};
use crate::net::IpNet;

/// Compiled regexes are bounded so that a hostile `MATCHES` cannot take unbounded memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The object types Rampart can observe in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ObjectType {
    Ipv4,
    Ipv6,
    Domain,
    Url,
    Email,
    File,
    Process,
    Traffic,
}

/// The properties Rampart can read from those objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Prop {
    /// `ipv4-addr:value`, `ipv6-addr:value`, `domain-name:value`, `url:value`,
    /// `email-addr:value`.
    Value,
    Md5,
    Sha1,
    Sha256,
    FileName,
    ProcessName,
    CommandLine,
    Pid,
    ParentName,
    ParentCommandLine,
    ParentPid,
    SrcValue,
    DstValue,
    SrcType,
    DstType,
    SrcPort,
    DstPort,
    Protocols,
}

/// What kind of values a property holds, which decides how constants are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    /// An address; constants are addresses or CIDR blocks.
    Ip,
    /// An address or a domain name (`network-traffic:dst_ref.value`).
    IpOrDomain,
    /// Case-insensitive text (domains, email addresses, hashes, protocols, object types).
    Folded,
    /// Case-sensitive text.
    Text,
    /// An integer.
    Int,
}

impl Prop {
    const fn kind(self, object: ObjectType) -> ValueKind {
        match self {
            Self::Value => match object {
                ObjectType::Ipv4 | ObjectType::Ipv6 => ValueKind::Ip,
                ObjectType::Url => ValueKind::Text,
                _ => ValueKind::Folded,
            },
            Self::SrcValue | Self::DstValue => ValueKind::IpOrDomain,
            Self::Md5
            | Self::Sha1
            | Self::Sha256
            | Self::SrcType
            | Self::DstType
            | Self::Protocols => ValueKind::Folded,
            Self::FileName
            | Self::ProcessName
            | Self::CommandLine
            | Self::ParentName
            | Self::ParentCommandLine => ValueKind::Text,
            Self::Pid | Self::ParentPid | Self::SrcPort | Self::DstPort => ValueKind::Int,
        }
    }
}

/// A constant to compare with.
#[derive(Debug, Clone)]
pub(crate) enum Const {
    Net(IpNet),
    Text(String),
    Int(i64),
}

/// A compiled property test.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    /// `=` and `IN`: equal to one of these (a network constant means containment).
    OneOf(Vec<Const>),
    /// `<`, `<=`, `>`, `>=` on integers, as the allowed range.
    Range(i64, i64),
    /// `LIKE` (translated) and `MATCHES`.
    Regex(Regex),
    /// `ISSUBSET`: the observed address lies in the network.
    Subset(IpNet),
    /// `ISSUPERSET`: the observed value contains the network (only a host equal to it).
    Superset(IpNet),
    /// `EXISTS`.
    Exists,
}

/// One property test against one object type.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub(crate) object: ObjectType,
    pub(crate) prop: Prop,
    /// `!=` and `NOT …`: the property must be present and fail the check.
    pub(crate) negated: bool,
    pub(crate) check: Check,
}

/// A boolean combination of property tests: one observation expression.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Any(Vec<Cond>),
    All(Vec<Cond>),
    Leaf(Leaf),
}

/// A key in the indicator index: if an event satisfies an observation, it has one of the
/// observation's keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum IndexKey {
    Net(IpNet),
    Domain(String),
    Url(String),
    Email(String),
    Md5(String),
    Sha1(String),
    Sha256(String),
    FileName(String),
    ProcessName(String),
}

/// Compiles a parsed pattern into the observations it is the disjunction of.
pub(super) fn compile(expr: &ObsExpr) -> Result<Vec<Cond>, PatternError> {
    match expr {
        ObsExpr::Observation(cmp) => Ok(vec![condition(cmp)?]),
        ObsExpr::Or(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(compile(item)?);
            }
            Ok(out)
        }
        ObsExpr::And(_) => Err(PatternError::Unsupported(
            "`AND` between observation expressions needs several observations correlated over time; only `OR` between them is evaluated".into(),
        )),
        ObsExpr::FollowedBy(_) => Err(PatternError::Unsupported(
            "`FOLLOWEDBY` needs an ordered sequence of observations; it is not evaluated".into(),
        )),
        ObsExpr::Qualified(_, qualifier) => Err(PatternError::Unsupported(format!(
            "the `{qualifier}` qualifier needs observations correlated over time; it is not evaluated"
        ))),
    }
}

fn condition(expr: &CmpExpr) -> Result<Cond, PatternError> {
    Ok(match expr {
        CmpExpr::Or(items) => Cond::Any(items.iter().map(condition).collect::<Result<_, _>>()?),
        CmpExpr::And(items) => Cond::All(items.iter().map(condition).collect::<Result<_, _>>()?),
        CmpExpr::Test(test) => Cond::Leaf(leaf(test)?),
    })
}

fn unsupported_path(path: &ObjectPath) -> PatternError {
    PatternError::Unsupported(format!(
        "object path `{path}` is not one Rampart observes in events"
    ))
}

fn object_type(name: &str) -> Option<ObjectType> {
    Some(match name {
        "ipv4-addr" => ObjectType::Ipv4,
        "ipv6-addr" => ObjectType::Ipv6,
        "domain-name" => ObjectType::Domain,
        "url" => ObjectType::Url,
        "email-addr" => ObjectType::Email,
        "file" => ObjectType::File,
        "process" => ObjectType::Process,
        "network-traffic" => ObjectType::Traffic,
        _ => return None,
    })
}

fn property(object: ObjectType, steps: &[Step]) -> Option<Prop> {
    let keys: Vec<&str> = steps
        .iter()
        .map(|step| match step {
            Step::Key(key) => key.as_str(),
            Step::AnyIndex => "[*]",
            Step::Index(_) => "[n]",
        })
        .collect();
    Some(match (object, keys.as_slice()) {
        (
            ObjectType::Ipv4
            | ObjectType::Ipv6
            | ObjectType::Domain
            | ObjectType::Url
            | ObjectType::Email,
            ["value"],
        ) => Prop::Value,
        (ObjectType::File, ["hashes", algorithm]) => {
            match algorithm.to_ascii_uppercase().replace('_', "-").as_str() {
                "MD5" => Prop::Md5,
                "SHA-1" | "SHA1" => Prop::Sha1,
                "SHA-256" | "SHA256" => Prop::Sha256,
                _ => return None,
            }
        }
        (ObjectType::File, ["name"]) => Prop::FileName,
        (ObjectType::Process, ["name"]) => Prop::ProcessName,
        (ObjectType::Process, ["command_line"]) => Prop::CommandLine,
        (ObjectType::Process, ["pid"]) => Prop::Pid,
        (ObjectType::Process, ["parent_ref", "name"]) => Prop::ParentName,
        (ObjectType::Process, ["parent_ref", "command_line"]) => Prop::ParentCommandLine,
        (ObjectType::Process, ["parent_ref", "pid"]) => Prop::ParentPid,
        (ObjectType::Traffic, ["src_ref", "value"]) => Prop::SrcValue,
        (ObjectType::Traffic, ["dst_ref", "value"]) => Prop::DstValue,
        (ObjectType::Traffic, ["src_ref", "type"]) => Prop::SrcType,
        (ObjectType::Traffic, ["dst_ref", "type"]) => Prop::DstType,
        (ObjectType::Traffic, ["src_port"]) => Prop::SrcPort,
        (ObjectType::Traffic, ["dst_port"]) => Prop::DstPort,
        (ObjectType::Traffic, ["protocols", "[*]"]) => Prop::Protocols,
        _ => return None,
    })
}

fn leaf(test: &Test) -> Result<Leaf, PatternError> {
    let object = object_type(&test.path.object_type).ok_or_else(|| {
        PatternError::Unsupported(format!(
            "object type `{}` is not one Rampart observes in events",
            test.path.object_type
        ))
    })?;
    let prop = property(object, &test.path.steps).ok_or_else(|| unsupported_path(&test.path))?;
    let kind = prop.kind(object);
    let path = &test.path;
    let check = check_for(test, kind, path)?;
    check_family(&check, object, path)?;
    check_hashes(&check, prop)?;
    let negated = test.negated != (test.op == Op::Neq);
    Ok(Leaf {
        object,
        prop,
        negated,
        check,
    })
}

/// The check an operator and its operand compile to, for a property of the given kind.
fn check_for(test: &Test, kind: ValueKind, path: &ObjectPath) -> Result<Check, PatternError> {
    Ok(match test.op {
        Op::Eq | Op::Neq => Check::OneOf(vec![constant(&test.value, kind, path)?]),
        Op::In => match &test.value {
            Literal::Set(items) => Check::OneOf(
                items
                    .iter()
                    .map(|item| constant(item, kind, path))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(PatternError::Unsupported(format!(
                    "`IN` on `{path}` needs a set"
                )));
            }
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let Literal::Int(n) = test.value else {
                return Err(PatternError::Unsupported(format!(
                    "`{}` on `{path}` needs an integer",
                    test.op.name()
                )));
            };
            if kind != ValueKind::Int {
                return Err(PatternError::Unsupported(format!(
                    "`{}` compares integers; `{path}` is not an integer property",
                    test.op.name()
                )));
            }
            match test.op {
                Op::Lt => Check::Range(i64::MIN, n.saturating_sub(1)),
                Op::Le => Check::Range(i64::MIN, n),
                Op::Gt => Check::Range(n.saturating_add(1), i64::MAX),
                _ => Check::Range(n, i64::MAX),
            }
        }
        Op::Like | Op::Matches => {
            let Literal::Str(text) = &test.value else {
                return Err(PatternError::Unsupported(format!(
                    "`{}` needs a string",
                    test.op.name()
                )));
            };
            if kind == ValueKind::Int || kind == ValueKind::Ip {
                return Err(PatternError::Unsupported(format!(
                    "`{}` needs a text property; `{path}` is not one",
                    test.op.name()
                )));
            }
            let source = if test.op == Op::Like {
                like_to_regex(text)
            } else {
                text.clone()
            };
            let case_insensitive = kind == ValueKind::Folded || kind == ValueKind::IpOrDomain;
            let regex = regex::RegexBuilder::new(&source)
                .size_limit(REGEX_SIZE_LIMIT)
                .case_insensitive(case_insensitive)
                .build()
                .map_err(|err| {
                    PatternError::Unsupported(format!(
                        "the regular expression `{text}` on `{path}` cannot be compiled: {}",
                        err.to_string().lines().last().unwrap_or_default()
                    ))
                })?;
            Check::Regex(regex)
        }
        Op::IsSubset | Op::IsSuperset => {
            if kind != ValueKind::Ip && kind != ValueKind::IpOrDomain {
                return Err(PatternError::Unsupported(format!(
                    "`{}` needs an address property; `{path}` is not one",
                    test.op.name()
                )));
            }
            let Literal::Str(text) = &test.value else {
                return Err(PatternError::Unsupported(format!(
                    "`{}` needs a string",
                    test.op.name()
                )));
            };
            let net = IpNet::parse(text).ok_or_else(|| {
                PatternError::Unsupported(format!("`{text}` is not an IP address or CIDR block"))
            })?;
            if test.op == Op::IsSubset {
                Check::Subset(net)
            } else {
                Check::Superset(net)
            }
        }
        Op::Exists => Check::Exists,
    })
}

/// Hash constants must have the algorithm's length in hex digits.
fn check_hashes(check: &Check, prop: Prop) -> Result<(), PatternError> {
    let (algorithm, digits) = match prop {
        Prop::Md5 => ("MD5", 32),
        Prop::Sha1 => ("SHA-1", 40),
        Prop::Sha256 => ("SHA-256", 64),
        _ => return Ok(()),
    };
    let Check::OneOf(consts) = check else {
        return Ok(());
    };
    for c in consts {
        if let Const::Text(text) = c
            && !(text.len() == digits && text.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(PatternError::Invalid(format!(
                "`{text}` is not a valid {algorithm} hash"
            )));
        }
    }
    Ok(())
}

/// An IPv4 object never holds an IPv6 address, nor the reverse: a constant of the wrong
/// family is a mistake in the pattern, reported rather than never matching silently.
fn check_family(check: &Check, object: ObjectType, path: &ObjectPath) -> Result<(), PatternError> {
    let Check::OneOf(consts) = check else {
        return Ok(());
    };
    let want_v4 = match object {
        ObjectType::Ipv4 => true,
        ObjectType::Ipv6 => false,
        _ => return Ok(()),
    };
    for c in consts {
        if let Const::Net(net) = c
            && (net.family() == crate::net::Family::V4) != want_v4
        {
            return Err(PatternError::Invalid(format!(
                "`{net}` is not an address of the family `{}` holds",
                path.object_type
            )));
        }
    }
    Ok(())
}

fn constant(literal: &Literal, kind: ValueKind, path: &ObjectPath) -> Result<Const, PatternError> {
    match (kind, literal) {
        (ValueKind::Ip, Literal::Str(text)) => {
            IpNet::parse(text).map(Const::Net).ok_or_else(|| {
                PatternError::Invalid(format!(
                    "`{text}` is not an IP address or CIDR block for `{path}`"
                ))
            })
        }
        (ValueKind::IpOrDomain, Literal::Str(text)) => Ok(IpNet::parse(text).map_or_else(
            || Const::Text(text.trim_end_matches('.').to_lowercase()),
            Const::Net,
        )),
        (ValueKind::Folded, Literal::Str(text)) => Ok(Const::Text(text.to_lowercase())),
        (ValueKind::Text, Literal::Str(text)) => Ok(Const::Text(text.clone())),
        (ValueKind::Int, Literal::Int(n)) => Ok(Const::Int(*n)),
        (ValueKind::Int, Literal::Str(text)) if text.trim().parse::<i64>().is_ok() => {
            Ok(Const::Int(text.trim().parse::<i64>().unwrap_or_default()))
        }
        _ => Err(PatternError::Unsupported(format!(
            "`{path}` cannot be compared with {}",
            match literal {
                Literal::Str(_) => "a string",
                Literal::Int(_) => "an integer",
                Literal::Float(_) => "a float",
                Literal::Bool(_) => "a boolean",
                Literal::Timestamp(_) => "a timestamp",
                Literal::Hex(_) => "a hex literal",
                Literal::Binary(_) => "a binary literal",
                Literal::Set(_) => "a set",
                Literal::None => "nothing",
            }
        ))),
    }
}

/// SQL `LIKE` as an anchored regex: `%` is any run, `_` any one character.
fn like_to_regex(like: &str) -> String {
    let mut out = String::from("(?s)^");
    for ch in like.chars() {
        match ch {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            other => out.push_str(&regex::escape(other.encode_utf8(&mut [0; 4]))),
        }
    }
    out.push('$');
    out
}

impl Cond {
    /// Index keys such that every event satisfying this condition has at least one of them;
    /// `None` when no such set exists (the indicator is then checked against every event).
    pub(crate) fn index_keys(&self) -> Option<Vec<IndexKey>> {
        match self {
            Self::Leaf(leaf) => leaf.index_keys(),
            Self::Any(items) => {
                let mut keys = Vec::new();
                for item in items {
                    keys.extend(item.index_keys()?);
                }
                Some(keys)
            }
            Self::All(items) => items
                .iter()
                .filter_map(Self::index_keys)
                .min_by_key(Vec::len),
        }
    }
}

impl Leaf {
    fn index_keys(&self) -> Option<Vec<IndexKey>> {
        if self.negated {
            return None;
        }
        let consts = match &self.check {
            Check::OneOf(consts) => consts,
            Check::Subset(net) => {
                return matches!(self.prop, Prop::Value | Prop::SrcValue | Prop::DstValue)
                    .then(|| vec![IndexKey::Net(*net)]);
            }
            _ => return None,
        };
        consts
            .iter()
            .map(|c| match (self.prop, c) {
                (Prop::Value | Prop::SrcValue | Prop::DstValue, Const::Net(net)) => {
                    Some(IndexKey::Net(*net))
                }
                (Prop::SrcValue | Prop::DstValue, Const::Text(text)) => {
                    Some(IndexKey::Domain(text.clone()))
                }
                (Prop::Value, Const::Text(text)) => match self.object {
                    ObjectType::Domain => Some(IndexKey::Domain(text.clone())),
                    ObjectType::Url => Some(IndexKey::Url(text.clone())),
                    ObjectType::Email => Some(IndexKey::Email(text.clone())),
                    _ => None,
                },
                (Prop::Md5, Const::Text(t)) => Some(IndexKey::Md5(t.clone())),
                (Prop::Sha1, Const::Text(t)) => Some(IndexKey::Sha1(t.clone())),
                (Prop::Sha256, Const::Text(t)) => Some(IndexKey::Sha256(t.clone())),
                (Prop::FileName, Const::Text(t)) => Some(IndexKey::FileName(t.clone())),
                (Prop::ProcessName | Prop::ParentName, Const::Text(t)) => {
                    Some(IndexKey::ProcessName(t.clone()))
                }
                _ => None,
            })
            .collect()
    }
}
