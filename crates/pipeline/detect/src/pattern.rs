//! Sigma string values and modifiers compiled into matchers over event field text.
//!
//! A value goes through its modifiers in the order the rule writes them, as Sigma's reference
//! implementation does: `wide|base64offset|contains` encodes UTF-16LE, then base64 at three
//! offsets, then wraps each result in wildcards. The result is classified once, at load time,
//! into the cheapest test that decides it: exact, prefix, suffix, substring (a precompiled
//! `memchr` finder), a `*`-only glob, or a regular expression for `?` wildcards. Case-insensitive
//! patterns are lowercased here, and event values once per event, so matching never folds case.

use std::net::IpAddr;

use base64::Engine as _;
use memchr::memmem::Finder;
use regex::{Regex, RegexBuilder};

/// Largest compiled regular expression, in bytes (bounds memory for hostile rules; Unicode
/// classes with counted repetition such as `\w{1,64}` need several MiB).
const REGEX_SIZE_LIMIT: usize = 16 << 20;
/// How many `windash` positions are expanded into every combination; above that, every
/// position takes the same dash.
const WINDASH_COMBINATION_LIMIT: usize = 3;
/// The characters `windash` accepts in place of a leading `-` or `/`.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// One token of a Sigma string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// Literal text.
    Lit(String),
    /// `*`: any sequence of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Splits a Sigma string into literals and wildcards. `\*`, `\?` and `\\` are escapes; any
/// other backslash is literal, as the Sigma specification says.
pub(crate) fn tokenize(value: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    literal.push(next);
                    chars.next();
                }
                _ => literal.push('\\'),
            },
            '*' | '?' => {
                if !literal.is_empty() {
                    tokens.push(Token::Lit(std::mem::take(&mut literal)));
                }
                let token = if c == '*' { Token::Star } else { Token::One };
                if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
                    tokens.push(token);
                }
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Lit(literal));
    }
    tokens
}

/// The literal text of a token list without wildcards, if it has none.
fn plain(tokens: &[Token]) -> Option<String> {
    let mut out = String::new();
    for token in tokens {
        match token {
            Token::Lit(text) => out.push_str(text),
            Token::Star | Token::One => return None,
        }
    }
    Some(out)
}

/// How a string value is tested against an event value.
#[derive(Debug, Clone)]
pub(crate) enum StrTest {
    /// Any value at all (a lone `*`).
    Any,
    /// The whole value.
    Exact(String),
    /// A prefix.
    Prefix(String),
    /// A suffix.
    Suffix(String),
    /// A substring.
    Contains(Box<Finder<'static>>),
    /// `*`-separated segments in order; the first and last may be anchored.
    Glob(Glob),
    /// A pattern with `?` wildcards, as an anchored regular expression.
    Wild(Regex),
}

/// A glob made of literal segments separated by `*`.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    head: Option<String>,
    middle: Vec<Finder<'static>>,
    tail: Option<String>,
}

impl Glob {
    fn matches(&self, value: &str) -> bool {
        let mut rest = value;
        if let Some(head) = &self.head {
            match rest.strip_prefix(head.as_str()) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        for finder in &self.middle {
            match finder.find(rest.as_bytes()) {
                Some(at) => match rest.get(at + finder.needle().len()..) {
                    Some(after) => rest = after,
                    None => return false,
                },
                None => return false,
            }
        }
        match &self.tail {
            Some(tail) => rest.ends_with(tail.as_str()),
            None => true,
        }
    }
}

/// A compiled string pattern.
#[derive(Debug, Clone)]
pub(crate) struct StrPattern {
    /// Whether case matters (`|cased`); otherwise the pattern is lowercase and is tested
    /// against lowercased values.
    pub cased: bool,
    /// The test.
    pub test: StrTest,
}

impl StrPattern {
    /// Compiles tokens; case-insensitive patterns are lowercased.
    pub(crate) fn compile(tokens: &[Token], cased: bool) -> Result<Self, String> {
        let fold = |text: &str| {
            if cased {
                text.to_owned()
            } else {
                text.to_lowercase()
            }
        };
        let test = match tokens {
            [] => StrTest::Exact(String::new()),
            [Token::Star] => StrTest::Any,
            [Token::Lit(text)] => StrTest::Exact(fold(text)),
            [Token::Lit(text), Token::Star] => StrTest::Prefix(fold(text)),
            [Token::Star, Token::Lit(text)] => StrTest::Suffix(fold(text)),
            [Token::Star, Token::Lit(text), Token::Star] => {
                StrTest::Contains(Box::new(Finder::new(fold(text).as_bytes()).into_owned()))
            }
            _ if !tokens.contains(&Token::One) => {
                let mut literals: Vec<(usize, String)> = Vec::new();
                for (index, token) in tokens.iter().enumerate() {
                    if let Token::Lit(text) = token {
                        literals.push((index, fold(text)));
                    }
                }
                let last = tokens.len().saturating_sub(1);
                let mut head = None;
                let mut tail = None;
                let mut middle = Vec::new();
                for (index, text) in literals {
                    if index == 0 {
                        head = Some(text);
                    } else if index == last {
                        tail = Some(text);
                    } else {
                        middle.push(Finder::new(text.as_bytes()).into_owned());
                    }
                }
                StrTest::Glob(Glob { head, middle, tail })
            }
            _ => {
                let mut source = String::from("(?s)^");
                for token in tokens {
                    match token {
                        Token::Lit(text) => source.push_str(&regex::escape(&fold(text))),
                        Token::Star => source.push_str(".*"),
                        Token::One => source.push('.'),
                    }
                }
                source.push('$');
                StrTest::Wild(build_regex(&source, false, false, false)?)
            }
        };
        Ok(Self { cased, test })
    }

    /// A lowercase text that every matching value contains (lowercased), when the pattern
    /// has one: what the rule set's prefilter searches for.
    pub(crate) fn literal(&self) -> Option<String> {
        let text = match &self.test {
            StrTest::Exact(text) | StrTest::Prefix(text) | StrTest::Suffix(text) => text.clone(),
            StrTest::Contains(finder) => String::from_utf8_lossy(finder.needle()).into_owned(),
            StrTest::Glob(glob) => glob
                .head
                .iter()
                .cloned()
                .chain(glob.tail.iter().cloned())
                .chain(
                    glob.middle
                        .iter()
                        .map(|f| String::from_utf8_lossy(f.needle()).into_owned()),
                )
                .max_by_key(String::len)?,
            StrTest::Any | StrTest::Wild(_) => return None,
        };
        let text = if self.cased {
            text.to_lowercase()
        } else {
            text
        };
        (!text.is_empty()).then_some(text)
    }

    /// Tests one value: `raw` as written, `lower` lowercased.
    pub(crate) fn matches(&self, raw: &str, lower: &str) -> bool {
        let value = if self.cased { raw } else { lower };
        match &self.test {
            StrTest::Any => true,
            StrTest::Exact(text) => value == text,
            StrTest::Prefix(text) => value.starts_with(text.as_str()),
            StrTest::Suffix(text) => value.ends_with(text.as_str()),
            StrTest::Contains(finder) => finder.find(value.as_bytes()).is_some(),
            StrTest::Glob(glob) => glob.matches(value),
            StrTest::Wild(regex) => regex.is_match(value),
        }
    }
}

/// Builds a regular expression with Sigma's `re` sub-modifiers and a size cap.
pub(crate) fn build_regex(
    source: &str,
    insensitive: bool,
    multi_line: bool,
    dot_all: bool,
) -> Result<Regex, String> {
    RegexBuilder::new(source)
        .case_insensitive(insensitive)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|error| {
            let first = error.to_string();
            let line = first.lines().last().unwrap_or_default().trim().to_owned();
            format!("unsupported regex `{source}`: {line}")
        })
}

/// An IP network for the `cidr` modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `v6::/n` (a bare address is a host network).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a CIDR network");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { network, prefix })
    }

    /// Whether `address` lies in the network (IPv4-mapped IPv6 addresses count as IPv4).
    pub(crate) fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                let shift = 32 - u32::from(self.prefix);
                let mask = u32::MAX.checked_shl(shift).unwrap_or(0);
                u32::from(net) & mask == u32::from(addr) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                let shift = 128 - u32::from(self.prefix);
                let mask = u128::MAX.checked_shl(shift).unwrap_or(0);
                u128::from(net) & mask == u128::from(addr) & mask
            }
            _ => false,
        }
    }
}

/// A value on its way through the modifiers: text with wildcards, or bytes after an encoding.
#[derive(Debug, Clone)]
pub(crate) enum Staged {
    /// Text tokens.
    Text(Vec<Token>),
    /// Encoded bytes (after `wide` / `utf16*`), waiting for `base64`.
    Bytes(Vec<u8>),
}

impl Staged {
    fn into_bytes(self, modifier: &str) -> Result<Vec<u8>, String> {
        match self {
            Self::Bytes(bytes) => Ok(bytes),
            Self::Text(tokens) => plain(&tokens).map(String::into_bytes).ok_or_else(|| {
                format!("modifier `{modifier}` cannot encode a value with wildcards")
            }),
        }
    }

    fn into_text(self) -> Result<Vec<Token>, String> {
        match self {
            Self::Text(tokens) => Ok(tokens),
            Self::Bytes(bytes) => String::from_utf8(bytes)
                .map(|text| vec![Token::Lit(text)])
                .map_err(|_| "an encoded value is not text; add `base64`".to_owned()),
        }
    }
}

/// Applies one value-transforming modifier to every staged value.
pub(crate) fn transform(values: Vec<Staged>, modifier: &str) -> Result<Vec<Staged>, String> {
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        match modifier {
            "contains" | "startswith" | "endswith" => {
                let mut tokens = value.into_text()?;
                if modifier != "endswith" && tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
                if modifier != "startswith" && tokens.first() != Some(&Token::Star) {
                    tokens.insert(0, Token::Star);
                }
                out.push(Staged::Text(tokens));
            }
            "wide" | "utf16le" => {
                let text = String::from_utf8(value.into_bytes(modifier)?).unwrap_or_default();
                out.push(Staged::Bytes(
                    text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
                ));
            }
            "utf16be" => {
                let text = String::from_utf8(value.into_bytes(modifier)?).unwrap_or_default();
                out.push(Staged::Bytes(
                    text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
                ));
            }
            "utf16" => {
                let text = String::from_utf8(value.into_bytes(modifier)?).unwrap_or_default();
                let mut bytes = vec![0xff, 0xfe];
                bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                out.push(Staged::Bytes(bytes));
            }
            "base64" => {
                let bytes = value.into_bytes(modifier)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                out.push(Staged::Text(vec![Token::Lit(encoded)]));
            }
            "base64offset" => {
                let bytes = value.into_bytes(modifier)?;
                for encoded in base64_offsets(&bytes) {
                    out.push(Staged::Text(vec![Token::Lit(encoded)]));
                }
            }
            "windash" => {
                for tokens in windash(&value.into_text()?) {
                    out.push(Staged::Text(tokens));
                }
            }
            other => return Err(format!("unsupported modifier `{other}`")),
        }
    }
    Ok(out)
}

/// The three base64 encodings of `bytes` at offsets 0, 1 and 2 inside a longer text, with the
/// characters that depend on the unknown neighbours cut off (Sigma's `base64offset`).
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(3);
    for shift in 0..3usize {
        let mut padded = vec![b' '; shift];
        padded.extend_from_slice(bytes);
        let encoded = engine.encode(&padded);
        let start = [0usize, 2, 3].get(shift).copied().unwrap_or(0);
        let cut = match (bytes.len() + shift) % 3 {
            1 => 3,
            2 => 2,
            _ => 0,
        };
        let end = encoded.len().saturating_sub(cut);
        if let Some(slice) = encoded.get(start..end)
            && !slice.is_empty()
        {
            out.push(slice.to_owned());
        }
    }
    out
}

/// Every variant of a value with its option dashes (`-` or `/` at the start or after a space)
/// replaced by each of the dashes Windows command lines accept.
fn windash(tokens: &[Token]) -> Vec<Vec<Token>> {
    // Positions: (token index, char index) of each option dash.
    let mut positions = Vec::new();
    let mut previous: Option<char> = None;
    for (t, token) in tokens.iter().enumerate() {
        match token {
            Token::Lit(text) => {
                for (c, ch) in text.chars().enumerate() {
                    let at_word_start = previous.is_none_or(char::is_whitespace);
                    if matches!(ch, '-' | '/') && at_word_start {
                        positions.push((t, c));
                    }
                    previous = Some(ch);
                }
            }
            // A wildcard may stand for a space, so a dash after it counts as an option dash.
            Token::Star | Token::One => previous = None,
        }
    }
    if positions.is_empty() {
        return vec![tokens.to_vec()];
    }
    let replace = |choice: &dyn Fn(usize) -> char| -> Vec<Token> {
        tokens
            .iter()
            .enumerate()
            .map(|(t, token)| match token {
                Token::Lit(text) => Token::Lit(
                    text.chars()
                        .enumerate()
                        .map(|(c, ch)| {
                            positions
                                .iter()
                                .position(|&p| p == (t, c))
                                .map_or(ch, &choice)
                        })
                        .collect(),
                ),
                other => other.clone(),
            })
            .collect()
    };
    let mut out = Vec::new();
    if positions.len() <= WINDASH_COMBINATION_LIMIT {
        let total = DASHES
            .len()
            .pow(u32::try_from(positions.len()).unwrap_or(1));
        for combination in 0..total {
            out.push(replace(&|index| {
                let digit = combination / DASHES.len().pow(u32::try_from(index).unwrap_or(0))
                    % DASHES.len();
                DASHES.get(digit).copied().unwrap_or('-')
            }));
        }
    } else {
        for dash in DASHES {
            out.push(replace(&|_| dash));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(value: &str, modifiers: &[&str]) -> Vec<StrPattern> {
        let mut staged = vec![Staged::Text(tokenize(value))];
        for modifier in modifiers {
            staged = transform(staged, modifier).unwrap();
        }
        staged
            .into_iter()
            .map(|s| StrPattern::compile(&s.into_text().unwrap(), false).unwrap())
            .collect()
    }

    fn any(patterns: &[StrPattern], value: &str) -> bool {
        let lower = value.to_lowercase();
        patterns.iter().any(|p| p.matches(value, &lower))
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(any(&pattern("*\\cmd.exe", &[]), "C:\\Windows\\CMD.EXE"));
        assert!(any(&pattern("a*b*c", &[]), "aXXbYYc"));
        assert!(!any(&pattern("a*b*c", &[]), "aXXcYYb"));
        assert!(any(&pattern("a?c", &[]), "abc"));
        assert!(!any(&pattern("a?c", &[]), "abbc"));
        assert!(any(&pattern("a\\*c", &[]), "a*c"));
        assert!(!any(&pattern("a\\*c", &[]), "abc"));
        assert!(any(&pattern("C:\\Temp\\x", &[]), "c:\\temp\\x"));
        assert!(!any(&pattern("ab*ab", &[]), "ab"));
        assert!(any(&pattern("ab*ab", &[]), "abab"));
    }

    #[test]
    fn base64offset_matches_inside_encoded_text() {
        let patterns = pattern("http://", &["base64offset", "contains"]);
        let engine = &base64::engine::general_purpose::STANDARD;
        for prefix in ["", "x", "xy", "xyz"] {
            let encoded = engine.encode(format!("{prefix}http://evil"));
            assert!(any(&patterns, &encoded), "{prefix}: {encoded}");
        }
        assert!(!any(&patterns, &engine.encode("ftp://x")));
    }

    #[test]
    fn wide_base64_encodes_utf16le() {
        let patterns = pattern("ab", &["wide", "base64"]);
        assert!(any(&patterns, "YQBiAA=="));
    }

    #[test]
    fn windash_expands_option_dashes() {
        let patterns = pattern(" -enc ", &["contains", "windash"]);
        assert!(any(&patterns, "powershell /enc abc"));
        assert!(any(&patterns, "powershell \u{2013}enc abc"));
        assert!(any(&patterns, "powershell -enc abc"));
        assert!(!any(&patterns, "powershell enc abc"));
    }

    /// The obviously-correct reference: recursive matching over characters.
    fn reference(pattern: &[char], value: &[char]) -> bool {
        match pattern.split_first() {
            None => value.is_empty(),
            Some(('*', rest)) => (0..=value.len()).any(|skip| reference(rest, &value[skip..])),
            Some(('?', rest)) => !value.is_empty() && reference(rest, &value[1..]),
            Some((c, rest)) => value.first() == Some(c) && reference(rest, &value[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn compiled_globs_agree_with_the_reference(
            pattern in "[ab*?]{0,8}",
            value in "[abAB]{0,10}",
        ) {
            let compiled = StrPattern::compile(&tokenize(&pattern), false).unwrap();
            let lower = value.to_lowercase();
            let expected = reference(
                &pattern.chars().collect::<Vec<_>>(),
                &lower.chars().collect::<Vec<_>>(),
            );
            proptest::prop_assert_eq!(compiled.matches(&value, &lower), expected, "{} vs {}", pattern, value);
        }

        #[test]
        fn windash_and_base64offset_never_panic(value in "\\PC{0,24}") {
            let staged = vec![Staged::Text(tokenize(&value))];
            let _ = transform(staged.clone(), "windash");
            let _ = transform(staged, "base64offset");
        }
    }

    #[test]
    fn cidr_contains() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.2.3.4".parse().unwrap()));
        assert!(net.contains("::ffff:10.2.3.4".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let v6 = Cidr::parse("fe80::/10").unwrap();
        assert!(v6.contains("fe80::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
    }
}
