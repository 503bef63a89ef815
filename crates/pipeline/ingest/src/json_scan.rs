//! String-aware bracket scanning of JSON text without parsing it.
//!
//! Several places need to know where a JSON value ends or how deep it nests before handing it
//! to `serde_json` (format detection, splitting a STIX bundle, concatenated documents, the
//! depth cap). They share this one lexer so that string and escape handling cannot drift apart.

/// A bracket seen outside a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bracket {
    /// `{` or `[`.
    Open,
    /// `}` or `]`.
    Close,
}

/// Tracks whether the scan is inside a string, so brackets in string values are ignored.
#[derive(Debug, Default)]
pub(crate) struct Lexer {
    in_string: bool,
    escaped: bool,
}

impl Lexer {
    /// Feeds the next byte; returns the bracket it is, if it is one outside a string.
    pub(crate) fn bracket(&mut self, byte: u8) -> Option<Bracket> {
        if self.in_string {
            match byte {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => self.in_string = false,
                _ => {}
            }
            return None;
        }
        match byte {
            b'"' => {
                self.in_string = true;
                None
            }
            b'{' | b'[' => Some(Bracket::Open),
            b'}' | b']' => Some(Bracket::Close),
            _ => None,
        }
    }
}

/// The length of `bytes` up to and including the bracket that closes the first bracketed
/// value; `None` when a closing bracket comes first or the value never closes.
pub(crate) fn bracketed_len(bytes: &[u8]) -> Option<usize> {
    let mut lexer = Lexer::default();
    let mut depth = 0usize;
    for (index, &byte) in bytes.iter().enumerate() {
        match lexer.bracket(byte) {
            Some(Bracket::Open) => depth += 1,
            Some(Bracket::Close) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index + 1);
                }
            }
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn brackets_inside_strings_and_escapes_are_ignored() {
        assert_eq!(bracketed_len(br#"{"a":"}"} tail"#), Some(9));
        assert_eq!(bracketed_len(br#"{"a":"\"}"} x"#), Some(11));
        assert_eq!(bracketed_len(b"[1,[2]]"), Some(7));
    }

    #[test]
    fn unclosed_or_underflowing_values_have_no_length() {
        assert_eq!(bracketed_len(br#"{"a":1"#), None);
        assert_eq!(bracketed_len(b"] {}"), None);
        assert_eq!(bracketed_len(br#""no brackets""#), None);
    }

    proptest! {
        #[test]
        fn length_is_within_bounds(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Some(len) = bracketed_len(&bytes) {
                prop_assert!(len >= 1 && len <= bytes.len());
            }
        }
    }
}
