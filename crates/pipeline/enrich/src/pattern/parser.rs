//! A recursive-descent parser for the whole STIX 2.1 pattern grammar. Everything the grammar
//! allows is parsed (qualifiers, `FOLLOWEDBY`, every operator), so that what Rampart cannot
//! evaluate is rejected later by name rather than as a syntax error.

use super::PatternError;
use super::lexer::{Tok, Token};

/// How deeply parentheses and brackets may nest: bounds the recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// An observation expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ObsExpr {
    /// `[ comparison ]`.
    Observation(CmpExpr),
    /// `a OR b OR …`.
    Or(Vec<ObsExpr>),
    /// `a AND b AND …`.
    And(Vec<ObsExpr>),
    /// `a FOLLOWEDBY b …`.
    FollowedBy(Vec<ObsExpr>),
    /// An expression with a qualifier (`WITHIN`, `REPEATS`, `START … STOP`).
    Qualified(Box<ObsExpr>, &'static str),
}

/// A comparison expression inside brackets.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CmpExpr {
    Or(Vec<CmpExpr>),
    And(Vec<CmpExpr>),
    Test(Test),
}

/// One property test: `path [NOT] op value`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Test {
    pub(super) path: ObjectPath,
    pub(super) negated: bool,
    pub(super) op: Op,
    pub(super) value: Literal,
    /// Where the test starts in the pattern, for messages.
    pub(super) at: usize,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
    Exists,
}

impl Op {
    pub(super) const fn name(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Neq => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::In => "IN",
            Self::Like => "LIKE",
            Self::Matches => "MATCHES",
            Self::IsSubset => "ISSUBSET",
            Self::IsSuperset => "ISSUPERSET",
            Self::Exists => "EXISTS",
        }
    }
}

/// An object path: `type:first.second[0].'quoted'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ObjectPath {
    pub(super) object_type: String,
    pub(super) steps: Vec<Step>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(i64),
    AnyIndex,
}

impl std::fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => write!(f, "{key}")?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::AnyIndex => write!(f, "[*]")?,
            }
        }
        Ok(())
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Timestamp(String),
    Hex(String),
    Binary(String),
    Set(Vec<Literal>),
    /// The operand of `EXISTS`, which has none.
    None,
}

/// Parses tokens into an observation expression.
pub(super) fn parse(tokens: &[Token], len: usize) -> Result<ObsExpr, PatternError> {
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        end: len,
    };
    let expr = parser.followed_by()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(Parser::unexpected(token, "the end of the pattern")),
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    depth: usize,
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn at(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn bump(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.pos);
        self.pos += 1;
        token
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Tok::Word(w), .. }) if w == word)
    }

    fn eat(&mut self, kind: &Tok) -> bool {
        if self.peek().is_some_and(|t| &t.kind == kind) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.is_word(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &Tok, what: &str) -> Result<(), PatternError> {
        if self.eat(kind) {
            Ok(())
        } else {
            Err(self.unexpected_here(what))
        }
    }

    fn unexpected(token: &Token, expected: &str) -> PatternError {
        PatternError::syntax(
            token.at,
            format!("expected {expected}, found {}", describe(&token.kind)),
        )
    }

    fn unexpected_here(&self, expected: &str) -> PatternError {
        match self.peek() {
            Some(token) => Self::unexpected(token, expected),
            None => PatternError::syntax(
                self.end,
                format!("expected {expected}, found the end of the pattern"),
            ),
        }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatternError::syntax(
                self.at(),
                format!("expressions nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn followed_by(&mut self) -> Result<ObsExpr, PatternError> {
        let mut items = vec![self.obs_or()?];
        while self.eat_word("FOLLOWEDBY") {
            items.push(self.obs_or()?);
        }
        Ok(collapse(items, ObsExpr::FollowedBy))
    }

    fn obs_or(&mut self) -> Result<ObsExpr, PatternError> {
        let mut items = vec![self.obs_and()?];
        while self.eat_word("OR") {
            items.push(self.obs_and()?);
        }
        Ok(collapse(items, ObsExpr::Or))
    }

    fn obs_and(&mut self) -> Result<ObsExpr, PatternError> {
        let mut items = vec![self.obs_qualified()?];
        while self.eat_word("AND") {
            items.push(self.obs_qualified()?);
        }
        Ok(collapse(items, ObsExpr::And))
    }

    fn obs_qualified(&mut self) -> Result<ObsExpr, PatternError> {
        let mut expr = self.obs_atom()?;
        loop {
            let qualifier = if self.eat_word("WITHIN") {
                self.positive_number()?;
                self.expect_word("SECONDS")?;
                "WITHIN"
            } else if self.eat_word("REPEATS") {
                self.positive_number()?;
                self.expect_word("TIMES")?;
                "REPEATS"
            } else if self.eat_word("START") {
                self.timestamp()?;
                self.expect_word("STOP")?;
                self.timestamp()?;
                "START/STOP"
            } else {
                return Ok(expr);
            };
            expr = ObsExpr::Qualified(Box::new(expr), qualifier);
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), PatternError> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.unexpected_here(&format!("`{word}`")))
        }
    }

    fn positive_number(&mut self) -> Result<(), PatternError> {
        match self.peek().map(|t| &t.kind) {
            Some(Tok::Int(n)) if *n > 0 => {}
            Some(Tok::Float(f)) if *f > 0.0 => {}
            _ => return Err(self.unexpected_here("a positive number")),
        }
        self.pos += 1;
        Ok(())
    }

    fn timestamp(&mut self) -> Result<(), PatternError> {
        if matches!(self.peek().map(|t| &t.kind), Some(Tok::Timestamp(_))) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected_here("a timestamp `t'…'`"))
        }
    }

    fn obs_atom(&mut self) -> Result<ObsExpr, PatternError> {
        self.enter()?;
        let expr = if self.eat(&Tok::LBracket) {
            let inner = self.cmp_or()?;
            self.expect(&Tok::RBracket, "`]`")?;
            ObsExpr::Observation(inner)
        } else if self.eat(&Tok::LParen) {
            let inner = self.followed_by()?;
            self.expect(&Tok::RParen, "`)`")?;
            inner
        } else {
            return Err(self.unexpected_here("`[` or `(`"));
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn cmp_or(&mut self) -> Result<CmpExpr, PatternError> {
        let mut items = vec![self.cmp_and()?];
        while self.eat_word("OR") {
            items.push(self.cmp_and()?);
        }
        Ok(collapse(items, CmpExpr::Or))
    }

    fn cmp_and(&mut self) -> Result<CmpExpr, PatternError> {
        let mut items = vec![self.cmp_atom()?];
        while self.eat_word("AND") {
            items.push(self.cmp_atom()?);
        }
        Ok(collapse(items, CmpExpr::And))
    }

    fn cmp_atom(&mut self) -> Result<CmpExpr, PatternError> {
        self.enter()?;
        let expr = if self.eat(&Tok::LParen) {
            let inner = self.cmp_or()?;
            self.expect(&Tok::RParen, "`)`")?;
            inner
        } else {
            CmpExpr::Test(self.test()?)
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn test(&mut self) -> Result<Test, PatternError> {
        let at = self.at();
        if self.eat_word("EXISTS") {
            let path = self.object_path()?;
            return Ok(Test {
                path,
                negated: false,
                op: Op::Exists,
                value: Literal::None,
                at,
            });
        }
        let path = self.object_path()?;
        let negated = self.eat_word("NOT");
        let op_at = self.at();
        let op = match self.bump().map(|t| t.kind.clone()) {
            Some(Tok::Eq) => Op::Eq,
            Some(Tok::Neq) => Op::Neq,
            Some(Tok::Lt) => Op::Lt,
            Some(Tok::Le) => Op::Le,
            Some(Tok::Gt) => Op::Gt,
            Some(Tok::Ge) => Op::Ge,
            Some(Tok::Word(word)) => match word.as_str() {
                "IN" => Op::In,
                "LIKE" => Op::Like,
                "MATCHES" => Op::Matches,
                "ISSUBSET" => Op::IsSubset,
                "ISSUPERSET" => Op::IsSuperset,
                _ => {
                    return Err(PatternError::syntax(
                        op_at,
                        format!("expected an operator, found `{word}`"),
                    ));
                }
            },
            Some(other) => {
                return Err(PatternError::syntax(
                    op_at,
                    format!("expected an operator, found {}", describe(&other)),
                ));
            }
            None => {
                return Err(PatternError::syntax(
                    self.end,
                    "expected an operator, found the end of the pattern",
                ));
            }
        };
        let value = match op {
            Op::In => self.set()?,
            Op::Like | Op::Matches | Op::IsSubset | Op::IsSuperset => match self.literal()? {
                Literal::Str(text) => Literal::Str(text),
                _ => {
                    return Err(PatternError::syntax(
                        op_at,
                        format!("`{}` needs a string", op.name()),
                    ));
                }
            },
            _ => self.literal()?,
        };
        Ok(Test {
            path,
            negated,
            op,
            value,
            at,
        })
    }

    fn set(&mut self) -> Result<Literal, PatternError> {
        self.expect(&Tok::LParen, "`(`")?;
        let mut items = vec![self.literal()?];
        while self.eat(&Tok::Comma) {
            items.push(self.literal()?);
        }
        self.expect(&Tok::RParen, "`)`")?;
        Ok(Literal::Set(items))
    }

    fn literal(&mut self) -> Result<Literal, PatternError> {
        let literal = match self.peek().map(|t| &t.kind) {
            Some(Tok::Str(s)) => Literal::Str(s.clone()),
            Some(Tok::Int(n)) => Literal::Int(*n),
            Some(Tok::Float(f)) => Literal::Float(*f),
            Some(Tok::Timestamp(t)) => Literal::Timestamp(t.clone()),
            Some(Tok::Hex(h)) => Literal::Hex(h.clone()),
            Some(Tok::Binary(b)) => Literal::Binary(b.clone()),
            Some(Tok::Word(w)) if w == "true" => Literal::Bool(true),
            Some(Tok::Word(w)) if w == "false" => Literal::Bool(false),
            _ => return Err(self.unexpected_here("a literal value")),
        };
        self.pos += 1;
        Ok(literal)
    }

    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let object_type = match self.peek().map(|t| &t.kind) {
            Some(Tok::Word(word)) if !is_keyword(word) => word.clone(),
            _ => return Err(self.unexpected_here("an object type such as `ipv4-addr`")),
        };
        self.pos += 1;
        self.expect(&Tok::Colon, "`:` after the object type")?;
        let mut steps = vec![Step::Key(self.path_key()?)];
        loop {
            if self.eat(&Tok::Dot) {
                steps.push(Step::Key(self.path_key()?));
            } else if self.eat(&Tok::LBracket) {
                let step = if self.eat(&Tok::Star) {
                    Step::AnyIndex
                } else {
                    match self.peek().map(|t| &t.kind) {
                        Some(Tok::Int(n)) => {
                            let n = *n;
                            self.pos += 1;
                            Step::Index(n)
                        }
                        _ => return Err(self.unexpected_here("an index or `*`")),
                    }
                };
                self.expect(&Tok::RBracket, "`]`")?;
                steps.push(step);
            } else {
                return Ok(ObjectPath { object_type, steps });
            }
        }
    }

    fn path_key(&mut self) -> Result<String, PatternError> {
        let key = match self.peek().map(|t| &t.kind) {
            Some(Tok::Word(word)) => word.clone(),
            Some(Tok::Str(text)) => text.clone(),
            _ => return Err(self.unexpected_here("a property name")),
        };
        self.pos += 1;
        Ok(key)
    }
}

fn collapse<T>(mut items: Vec<T>, wrap: fn(Vec<T>) -> T) -> T {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    wrap(items)
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "AND"
            | "OR"
            | "NOT"
            | "FOLLOWEDBY"
            | "LIKE"
            | "MATCHES"
            | "ISSUBSET"
            | "ISSUPERSET"
            | "EXISTS"
            | "IN"
            | "WITHIN"
            | "SECONDS"
            | "REPEATS"
            | "TIMES"
            | "START"
            | "STOP"
    )
}

fn describe(kind: &Tok) -> String {
    match kind {
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Colon => "`:`".into(),
        Tok::Dot => "`.`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Star => "`*`".into(),
        Tok::Eq => "`=`".into(),
        Tok::Neq => "`!=`".into(),
        Tok::Lt => "`<`".into(),
        Tok::Le => "`<=`".into(),
        Tok::Gt => "`>`".into(),
        Tok::Ge => "`>=`".into(),
        Tok::Word(word) => format!("`{word}`"),
        Tok::Str(text) => format!("the string `{}`", text.chars().take(40).collect::<String>()),
        Tok::Int(n) => format!("`{n}`"),
        Tok::Float(f) => format!("`{f}`"),
        Tok::Timestamp(t) => format!("the timestamp `{t}`"),
        Tok::Hex(_) => "a hex literal".into(),
        Tok::Binary(_) => "a binary literal".into(),
    }
}
