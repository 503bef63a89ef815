//! Tokens of the STIX 2.1 patterning language.

use super::PatternError;

/// One token, with the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: Tok,
    pub(super) at: usize,
}

/// Token kinds. Keywords are upper case only, as the grammar says.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    /// An identifier or keyword (`ipv4-addr`, `value`, `AND`, `true`).
    Word(String),
    /// A quoted string with its escapes resolved.
    Str(String),
    Int(i64),
    Float(f64),
    /// `t'…'`.
    Timestamp(String),
    /// `h'…'`.
    Hex(String),
    /// `b'…'`.
    Binary(String),
}

/// Splits a pattern into tokens.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, PatternError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let start = at;
        let simple = match byte {
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b':' => Some(Tok::Colon),
            b'.' => Some(Tok::Dot),
            b',' => Some(Tok::Comma),
            b'*' => Some(Tok::Star),
            _ => None,
        };
        if let Some(kind) = simple {
            tokens.push(Token { kind, at });
            at += 1;
            continue;
        }
        let next = bytes.get(at + 1).copied();
        let kind = match byte {
            b' ' | b'\t' | b'\r' | b'\n' => {
                at += 1;
                continue;
            }
            b'=' => {
                at += if next == Some(b'=') { 2 } else { 1 };
                Tok::Eq
            }
            b'!' if next == Some(b'=') => {
                at += 2;
                Tok::Neq
            }
            b'<' if next == Some(b'=') => {
                at += 2;
                Tok::Le
            }
            b'<' if next == Some(b'>') => {
                at += 2;
                Tok::Neq
            }
            b'<' => {
                at += 1;
                Tok::Lt
            }
            b'>' if next == Some(b'=') => {
                at += 2;
                Tok::Ge
            }
            b'>' => {
                at += 1;
                Tok::Gt
            }
            b'\'' => {
                let (value, end) = quoted(text, at)?;
                at = end;
                Tok::Str(value)
            }
            b't' | b'h' | b'b' if next == Some(b'\'') => {
                let (value, end) = quoted(text, at + 1)?;
                check_typed(byte, &value, at)?;
                at = end;
                match byte {
                    b't' => Tok::Timestamp(value),
                    b'h' => Tok::Hex(value),
                    _ => Tok::Binary(value),
                }
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let (kind, end) = number(text, at)?;
                at = end;
                kind
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let end = bytes
                    .iter()
                    .skip(at)
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))
                    .map_or(bytes.len(), |n| at + n);
                let word = text.get(at..end).unwrap_or_default().to_owned();
                at = end;
                Tok::Word(word)
            }
            _ => {
                let shown: String = text.get(at..).unwrap_or_default().chars().take(1).collect();
                return Err(PatternError::syntax(
                    at,
                    format!("unexpected character `{shown}`"),
                ));
            }
        };
        tokens.push(Token { kind, at: start });
    }
    Ok(tokens)
}

/// Checks the body of a typed literal: `t'…'` must be an RFC 3339 timestamp, `h'…'` hex
/// digits in pairs, `b'…'` base64.
fn check_typed(prefix: u8, value: &str, at: usize) -> Result<(), PatternError> {
    let ok = match prefix {
        b't' => value.parse::<chrono::DateTime<chrono::Utc>>().is_ok(),
        b'h' => value.len().is_multiple_of(2) && value.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => {
            let body = value
                .strip_suffix("==")
                .or_else(|| value.strip_suffix('='))
                .unwrap_or(value);
            value.len().is_multiple_of(4)
                && body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        }
    };
    if ok {
        Ok(())
    } else {
        let what = match prefix {
            b't' => "an RFC 3339 timestamp",
            b'h' => "hex digits in pairs",
            _ => "base64",
        };
        Err(PatternError::syntax(at, format!("`{value}` is not {what}")))
    }
}

/// Reads a single-quoted string starting at the quote; returns its value and the offset after
/// the closing quote. Only `\'` and `\\` are escapes, as the grammar says.
fn quoted(text: &str, quote: usize) -> Result<(String, usize), PatternError> {
    let mut value = String::new();
    let body = text.get(quote + 1..).unwrap_or_default();
    let mut chars = body.char_indices();
    while let Some((offset, ch)) = chars.next() {
        match ch {
            '\'' => return Ok((value, quote + 1 + offset + 1)),
            '\\' => match chars.next() {
                Some((_, escaped @ ('\'' | '\\'))) => value.push(escaped),
                Some((at, other)) => {
                    return Err(PatternError::syntax(
                        quote + 1 + at,
                        format!("invalid escape `\\{other}` in a string (only `\\'` and `\\\\`)"),
                    ));
                }
                None => break,
            },
            other => value.push(other),
        }
    }
    Err(PatternError::syntax(quote, "unterminated string"))
}

fn number(text: &str, start: usize) -> Result<(Tok, usize), PatternError> {
    let bytes = text.as_bytes();
    let mut end = start;
    if matches!(bytes.get(end), Some(b'-' | b'+')) {
        end += 1;
    }
    let digits_from = end;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let mut float = false;
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        end += 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    let literal = text.get(start..end).unwrap_or_default();
    if end == digits_from {
        return Err(PatternError::syntax(
            start,
            format!("`{literal}` is not a number"),
        ));
    }
    let kind = if float {
        literal.parse::<f64>().ok().map(Tok::Float)
    } else {
        literal.parse::<i64>().ok().map(Tok::Int)
    };
    kind.map(|kind| (kind, end))
        .ok_or_else(|| PatternError::syntax(start, format!("number `{literal}` is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn tokenizes_paths_strings_and_operators() {
        assert_eq!(
            kinds("[file:hashes.'SHA-256' != 'a\\'b']"),
            vec![
                Tok::LBracket,
                Tok::Word("file".into()),
                Tok::Colon,
                Tok::Word("hashes".into()),
                Tok::Dot,
                Tok::Str("SHA-256".into()),
                Tok::Neq,
                Tok::Str("a'b".into()),
                Tok::RBracket,
            ]
        );
        assert_eq!(
            kinds("IN(443,-1) t'2016-06-01T01:30:00Z' 7.5"),
            vec![
                Tok::Word("IN".into()),
                Tok::LParen,
                Tok::Int(443),
                Tok::Comma,
                Tok::Int(-1),
                Tok::RParen,
                Tok::Timestamp("2016-06-01T01:30:00Z".into()),
                Tok::Float(7.5),
            ]
        );
    }

    #[test]
    fn rejects_bad_input_with_offsets() {
        let err = tokenize("[a:b = 'open").unwrap_err();
        assert!(err.to_string().contains("unterminated string"), "{err}");
        assert!(tokenize("[a:b = 'x\\n']").is_err());
        assert!(tokenize("[a:b = 99999999999999999999]").is_err());
        assert!(tokenize("[a:b ~ 1]").is_err());
    }
}
