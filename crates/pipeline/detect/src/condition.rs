//! Sigma condition expressions: parsing into a tree over selection indices.
//!
//! Grammar (lowest precedence first):
//!
//! ```text
//! or_expr  := and_expr ("or" and_expr)*
//! and_expr := not_expr ("and" not_expr)*
//! not_expr := "not" not_expr | primary
//! primary  := "(" or_expr ")" | quantifier | identifier
//! quantifier := ("1" | "any" | "all" | <n>) "of" (pattern | "them")
//! ```
//!
//! Identifiers may contain `*` in a quantifier's pattern (`1 of selection_*`). `them` covers
//! every selection whose name does not start with `_`. The deprecated aggregation syntax
//! (`| count() by …`, `near`) is rejected: correlation rules replace it.

/// A parsed condition over selections, by index into the rule's selection list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cond {
    /// One selection.
    Selection(usize),
    /// Negation.
    Not(Box<Cond>),
    /// All must hold.
    And(Vec<Cond>),
    /// Any must hold.
    Or(Vec<Cond>),
    /// At least `n` of the selections hold.
    AtLeast(usize, Vec<usize>),
    /// Every one of the selections holds.
    All(Vec<usize>),
}

/// Longest condition text accepted.
const MAX_CONDITION_LEN: usize = 16 * 1024;
/// Deepest nesting of parentheses and `not`.
const MAX_CONDITION_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Word(String),
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Tok>| {
        if !word.is_empty() {
            tokens.push(Tok::Word(std::mem::take(word)));
        }
    };
    for c in text.chars() {
        match c {
            '(' | ')' => {
                flush(&mut word, &mut tokens);
                tokens.push(if c == '(' { Tok::Open } else { Tok::Close });
            }
            '|' => return Err(
                "aggregation expressions (`| count() …`) are not supported; use a correlation rule"
                    .to_owned(),
            ),
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Tok>,
    at: usize,
    names: &'a [String],
    depth: usize,
}

/// Parses a condition against the rule's selection names.
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Cond, String> {
    if text.len() > MAX_CONDITION_LEN {
        return Err(format!("condition longer than {MAX_CONDITION_LEN} bytes"));
    }
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Err("empty condition".to_owned());
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        names,
        depth: 0,
    };
    let cond = parser.or_expr()?;
    if let Some(extra) = parser.tokens.get(parser.at) {
        return Err(format!("unexpected `{}` in condition", show(extra)));
    }
    Ok(cond)
}

fn show(token: &Tok) -> &str {
    match token {
        Tok::Open => "(",
        Tok::Close => ")",
        Tok::Word(word) => word,
    }
}

impl Parser<'_> {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Tok::Word(word)) => Some(word.as_str()),
            _ => None,
        }
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        if self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
        {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or_expr(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.and_expr()?];
        while self.keyword("or") {
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::Or(Vec::new()))
        } else {
            Cond::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.not_expr()?];
        while self.keyword("and") {
            parts.push(self.not_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::And(Vec::new()))
        } else {
            Cond::And(parts)
        })
    }

    fn not_expr(&mut self) -> Result<Cond, String> {
        if self.keyword("not") {
            self.depth += 1;
            if self.depth > MAX_CONDITION_DEPTH {
                return Err("condition nested too deeply".to_owned());
            }
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, String> {
        match self.tokens.get(self.at).cloned() {
            None => Err("condition ends early".to_owned()),
            Some(Tok::Close) => Err("unexpected `)` in condition".to_owned()),
            Some(Tok::Open) => {
                self.at += 1;
                self.depth += 1;
                if self.depth > MAX_CONDITION_DEPTH {
                    return Err("condition nested too deeply".to_owned());
                }
                let inner = self.or_expr()?;
                self.depth -= 1;
                if self.tokens.get(self.at) != Some(&Tok::Close) {
                    return Err("missing `)` in condition".to_owned());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Tok::Word(word)) => {
                let is_of = matches!(self.tokens.get(self.at + 1), Some(Tok::Word(next)) if next.eq_ignore_ascii_case("of"));
                if is_of {
                    self.at += 2;
                    return self.quantifier(&word);
                }
                let lowered = word.to_ascii_lowercase();
                if matches!(lowered.as_str(), "and" | "or" | "of" | "them" | "near") {
                    return Err(format!("unexpected `{word}` in condition"));
                }
                self.at += 1;
                let index = self
                    .names
                    .iter()
                    .position(|name| *name == word)
                    .ok_or_else(|| format!("condition names unknown selection `{word}`"))?;
                Ok(Cond::Selection(index))
            }
        }
    }

    fn quantifier(&mut self, count: &str) -> Result<Cond, String> {
        let Some(target) = self.peek_word().map(str::to_owned) else {
            return Err(format!("`{count} of` needs a selection pattern or `them`"));
        };
        self.at += 1;
        let selected: Vec<usize> = if target.eq_ignore_ascii_case("them") {
            (0..self.names.len())
                .filter(|&i| self.names.get(i).is_some_and(|n| !n.starts_with('_')))
                .collect()
        } else {
            (0..self.names.len())
                .filter(|&i| {
                    self.names
                        .get(i)
                        .is_some_and(|name| name_matches(&target, name))
                })
                .collect()
        };
        if selected.is_empty() {
            return Err(format!("`{count} of {target}` matches no selection"));
        }
        if count.eq_ignore_ascii_case("all") {
            return Ok(Cond::All(selected));
        }
        let n = if count.eq_ignore_ascii_case("any") {
            1
        } else {
            count
                .parse::<usize>()
                .map_err(|_| format!("`{count} of` is not a quantifier; use `1 of` or `all of`"))?
        };
        if n == 0 {
            return Err("`0 of` is not a quantifier; use `1 of` or `all of`".to_owned());
        }
        Ok(Cond::AtLeast(n, selected))
    }
}

/// Whether a selection name matches a quantifier pattern with `*` wildcards.
fn name_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(after) => rest = after,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
                None => return false,
            }
        }
    }
    true
}

impl Cond {
    /// Evaluates the condition, asking `selection` for each selection's outcome.
    pub(crate) fn eval(&self, selection: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Self::Selection(index) => selection(*index),
            Self::Not(inner) => !inner.eval(selection),
            Self::And(parts) => parts.iter().all(|p| p.eval(selection)),
            Self::Or(parts) => parts.iter().any(|p| p.eval(selection)),
            Self::AtLeast(n, indices) => {
                let mut hits = 0;
                for &index in indices {
                    if selection(index) {
                        hits += 1;
                        if hits >= *n {
                            return true;
                        }
                    }
                }
                false
            }
            Self::All(indices) => indices.iter().all(|&i| selection(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn precedence_not_and_or() {
        let n = names(&["a", "b", "c"]);
        let cond = parse("a or b and not c", &n).unwrap();
        assert_eq!(
            cond,
            Cond::Or(vec![
                Cond::Selection(0),
                Cond::And(vec![
                    Cond::Selection(1),
                    Cond::Not(Box::new(Cond::Selection(2)))
                ])
            ])
        );
        let cond = parse("(a or b) and not c", &n).unwrap();
        assert!(matches!(cond, Cond::And(_)));
    }

    #[test]
    fn quantifiers() {
        let n = names(&["selection_a", "selection_b", "filter", "_hidden"]);
        assert_eq!(
            parse("1 of selection_*", &n).unwrap(),
            Cond::AtLeast(1, vec![0, 1])
        );
        assert_eq!(parse("all of them", &n).unwrap(), Cond::All(vec![0, 1, 2]));
        assert_eq!(
            parse("all of selection_* and not filter", &n).unwrap(),
            Cond::And(vec![
                Cond::All(vec![0, 1]),
                Cond::Not(Box::new(Cond::Selection(2)))
            ])
        );
    }

    #[test]
    fn errors_are_clear() {
        let n = names(&["a"]);
        assert!(parse("a and", &n).unwrap_err().contains("ends early"));
        assert!(
            parse("b", &n)
                .unwrap_err()
                .contains("unknown selection `b`")
        );
        assert!(parse("(a", &n).unwrap_err().contains("missing `)`"));
        assert!(
            parse("a | count() > 5", &n)
                .unwrap_err()
                .contains("aggregation")
        );
        assert!(
            parse("1 of x*", &n)
                .unwrap_err()
                .contains("matches no selection")
        );
        assert!(parse(&"(".repeat(100), &n).is_err());
    }
}
