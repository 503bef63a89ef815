//! Loading Cedar policies: split into statements, parse and validate each against the schema,
//! so one bad policy is reported by file and id while the others still load.

use std::collections::BTreeSet;
use std::path::Path;

use cedar_policy::{Policy, PolicyId, Schema, ValidationMode, Validator};

use crate::{DecideError, PolicyError};

/// The Cedar schema every policy is validated against (`policies/rampart.cedarschema`).
pub const SCHEMA: &str = include_str!("../policies/rampart.cedarschema");

/// The default policy set (`policies/default.cedar`).
pub const DEFAULT_POLICIES: &str = include_str!("../policies/default.cedar");

/// Largest policy file read, in bytes; larger files are refused whole.
pub const MAX_POLICY_FILE_BYTES: usize = 1 << 20;

/// Most policies loaded from one file; the rest are refused.
pub const MAX_POLICIES_PER_FILE: usize = 10_000;

/// Where a loaded policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOrigin {
    /// Its id (`@id("…")`, else `<file>#<n>`).
    pub id: String,
    /// The file (or `default.cedar` for the embedded set).
    pub file: String,
    /// The line its text starts on.
    pub line: usize,
}

/// A validated set of decision policies with the schema they were checked against.
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub(crate) policies: cedar_policy::PolicySet,
    pub(crate) schema: Schema,
    origins: Vec<PolicyOrigin>,
}

impl PolicySet {
    /// The embedded default policies (see `docs/formats/policy.md`).
    pub fn default_set() -> Result<Self, DecideError> {
        let (set, errors) = Self::from_sources(&[("default.cedar", DEFAULT_POLICIES)])?;
        match errors.first() {
            Some(error) => Err(DecideError::BuiltIn(error.to_string())),
            None => Ok(set),
        }
    }

    /// Loads a policy file, or every `*.cedar` file of a directory (in name order). Policies
    /// that fail to parse or validate are returned as errors; the rest load.
    pub fn load(path: &Path) -> Result<(Self, Vec<PolicyError>), DecideError> {
        let read_err = |source| DecideError::Read {
            path: path.to_owned(),
            source,
        };
        let files = if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(read_err)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cedar") && p.is_file())
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_owned()]
        };
        let mut sources = Vec::with_capacity(files.len());
        for file in &files {
            let size = std::fs::metadata(file)
                .map_err(|source| DecideError::Read {
                    path: file.clone(),
                    source,
                })?
                .len();
            let text = if usize::try_from(size).is_ok_and(|s| s <= MAX_POLICY_FILE_BYTES) {
                std::fs::read_to_string(file).map_err(|source| DecideError::Read {
                    path: file.clone(),
                    source,
                })?
            } else {
                String::new()
            };
            sources.push((file.display().to_string(), text, size));
        }
        let borrowed: Vec<(&str, &str)> = sources
            .iter()
            .filter(|(_, _, size)| usize::try_from(*size).is_ok_and(|s| s <= MAX_POLICY_FILE_BYTES))
            .map(|(name, text, _)| (name.as_str(), text.as_str()))
            .collect();
        let (set, mut errors) = Self::from_sources(&borrowed)?;
        for (name, _, size) in sources.iter().filter(|(_, _, size)| {
            usize::try_from(*size).map_or(true, |s| s > MAX_POLICY_FILE_BYTES)
        }) {
            errors.push(PolicyError {
                file: name.clone(),
                policy: "*".into(),
                line: 1,
                message: format!(
                    "file is {size} bytes, more than the {MAX_POLICY_FILE_BYTES} allowed; split it"
                ),
            });
        }
        Ok((set, errors))
    }

    /// Parses and validates policies from `(file name, text)` pairs. Fails only if the
    /// built-in schema is broken.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<(Self, Vec<PolicyError>), DecideError> {
        let schema = schema()?;
        let validator = Validator::new(schema.clone());
        let mut policies = cedar_policy::PolicySet::new();
        let mut origins = Vec::new();
        let mut errors = Vec::new();
        let mut ids = BTreeSet::new();
        for (file, text) in sources {
            let stem = Path::new(file)
                .file_name()
                .map_or_else(|| (*file).to_owned(), |n| n.to_string_lossy().into_owned());
            for (n, statement) in split_statements(text).into_iter().enumerate() {
                let fallback = format!("{stem}#{}", n + 1);
                let error = |policy: String, message: String| PolicyError {
                    file: (*file).to_owned(),
                    policy,
                    line: statement.line,
                    message,
                };
                if n >= MAX_POLICIES_PER_FILE {
                    errors.push(error(
                        fallback,
                        format!("more than {MAX_POLICIES_PER_FILE} policies in one file; split it"),
                    ));
                    break;
                }
                let parsed = match Policy::parse(None, statement.text) {
                    Ok(p) => p,
                    Err(e) => {
                        let id = annotated_id(statement.text).unwrap_or(fallback);
                        errors.push(error(id, flatten(&e.to_string())));
                        continue;
                    }
                };
                let id = parsed.annotation("id").map_or(fallback, str::to_owned);
                if !ids.insert(id.clone()) {
                    errors.push(error(
                        id,
                        "duplicate policy id; the first one is kept".into(),
                    ));
                    continue;
                }
                let policy = parsed.new_id(PolicyId::new(&id));
                let mut single = cedar_policy::PolicySet::new();
                if let Err(e) = single.add(policy.clone()) {
                    errors.push(error(id, flatten(&e.to_string())));
                    continue;
                }
                let result = validator.validate(&single, ValidationMode::Strict);
                let problems: Vec<String> = result
                    .validation_errors()
                    .map(|e| flatten(&e.to_string()))
                    .collect();
                if !problems.is_empty() {
                    errors.push(error(id, problems.join("; ")));
                    continue;
                }
                if let Err(e) = policies.add(policy) {
                    errors.push(error(id, flatten(&e.to_string())));
                    continue;
                }
                origins.push(PolicyOrigin {
                    id,
                    file: (*file).to_owned(),
                    line: statement.line,
                });
            }
        }
        Ok((
            Self {
                policies,
                schema,
                origins,
            },
            errors,
        ))
    }

    /// The loaded policies' ids and origins, in load order.
    pub fn origins(&self) -> &[PolicyOrigin] {
        &self.origins
    }

    /// How many policies are loaded.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// Whether no policy is loaded.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }
}

/// The built-in schema.
pub(crate) fn schema() -> Result<Schema, DecideError> {
    Schema::from_cedarschema_str(SCHEMA)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| DecideError::BuiltIn(format!("schema: {e}")))
}

/// One policy statement's text and the line it starts on.
#[derive(Debug, PartialEq, Eq)]
struct Statement<'a> {
    text: &'a str,
    line: usize,
}

/// Splits Cedar text at top-level `;` (outside strings and `//` comments). Text after the
/// last `;` is a statement too unless it is only whitespace and comments.
fn split_statements(text: &str) -> Vec<Statement<'_>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Str { escaped: bool },
        Comment,
    }
    let mut out = Vec::new();
    let mut state = State::Code;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        state = match state {
            State::Code => match c {
                '"' => State::Str { escaped: false },
                '/' if chars.peek().is_some_and(|(_, next)| *next == '/') => State::Comment,
                ';' => {
                    push_statement(&mut out, text, start, i + 1);
                    start = i + 1;
                    State::Code
                }
                _ => State::Code,
            },
            State::Str { escaped: true } => State::Str { escaped: false },
            State::Str { escaped: false } => match c {
                '\\' => State::Str { escaped: true },
                '"' => State::Code,
                _ => State::Str { escaped: false },
            },
            State::Comment if c == '\n' => State::Code,
            State::Comment => State::Comment,
        };
    }
    push_statement(&mut out, text, start, text.len());
    out
}

fn push_statement<'a>(out: &mut Vec<Statement<'a>>, text: &'a str, start: usize, end: usize) {
    let Some(chunk) = text.get(start..end) else {
        return;
    };
    let line_of_start = text.get(..start).map_or(0, |t| t.matches('\n').count()) + 1;
    // The statement starts at its first line that is not blank or a comment.
    let mut skipped = 0;
    let mut has_code = false;
    for line in chunk.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            skipped += 1;
        } else {
            has_code = true;
            break;
        }
    }
    if has_code {
        out.push(Statement {
            text: chunk,
            line: line_of_start + skipped,
        });
    }
}

/// `@id("…")` read from text that did not parse, so its error can still name it.
fn annotated_id(text: &str) -> Option<String> {
    let rest = text.split("@id").nth(1)?;
    let rest = rest
        .trim_start()
        .strip_prefix('(')?
        .trim_start()
        .strip_prefix('"')?;
    let id = rest.split('"').next()?;
    (!id.is_empty() && id.len() <= 200).then(|| id.to_owned())
}

/// Cedar's messages may span lines; errors here are one line.
fn flatten(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr as _;

    #[test]
    fn the_default_set_loads_and_validates() {
        let set = PolicySet::default_set().unwrap();
        assert!(set.len() >= 10, "{}", set.len());
        assert!(
            set.origins().iter().all(|o| !o.id.contains('#')),
            "every default policy has an @id"
        );
        // Sanity: the entity type name used in the schema parses.
        assert!(cedar_policy::EntityTypeName::from_str("Rampart::Incident").is_ok());
    }

    #[test]
    fn splits_outside_strings_and_comments() {
        let text = "// a; comment\n@id(\"a;b\") permit(principal, action, resource) when { \"x;\\\";\" == \"y\" };\n\n  forbid(principal, action, resource);\n// trailing; comment\n";
        let statements = split_statements(text);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[0].line, 2);
        assert_eq!(statements[1].line, 4);
        assert!(statements[1].text.trim().starts_with("forbid"));
    }

    #[test]
    fn bad_policies_are_named_and_the_rest_load() {
        let text = r#"
@id("good")
permit (principal, action == Rampart::Action::"escalate", resource) when { resource.score >= 1 };

@id("syntax-error")
permit (principal, action == Rampart::Action::"escalate", resource) when { resource.score >= };

@id("unknown-attribute")
permit (principal, action == Rampart::Action::"escalate", resource) when { resource.scroe >= 1 };

@id("wrong-type")
permit (principal, action == Rampart::Action::"escalate", resource) when { resource.tactics >= 1 };

permit (principal, action == Rampart::Action::"nuke_everything", resource);

@id("good")
permit (principal, action == Rampart::Action::"escalate", resource);

@id("also-good")
forbid (principal, action == Rampart::Action::"contain_host", resource) when { resource.criticality_pct > 250 };
"#;
        let (set, errors) = PolicySet::from_sources(&[("site/custom.cedar", text)]).unwrap();
        let ids: Vec<&str> = set.origins().iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["good", "also-good"]);
        let named: Vec<(&str, usize)> =
            errors.iter().map(|e| (e.policy.as_str(), e.line)).collect();
        assert_eq!(
            named,
            [
                ("syntax-error", 5),
                ("unknown-attribute", 8),
                ("wrong-type", 11),
                ("custom.cedar#5", 14),
                ("good", 16),
            ]
        );
        for e in &errors {
            assert_eq!(e.file, "site/custom.cedar");
            let text = e.to_string();
            assert!(
                text.contains("site/custom.cedar") && text.contains(&e.policy),
                "{text}"
            );
        }
        assert!(errors[1].message.contains("scroe"), "{}", errors[1].message);
    }

    #[test]
    fn load_reads_directories_and_refuses_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.cedar"), DEFAULT_POLICIES).unwrap();
        std::fs::write(
            dir.path().join("a.cedar"),
            "@id(\"extra\") permit (principal, action == Rampart::Action::\"escalate\", resource);",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a policy").unwrap();
        std::fs::write(
            dir.path().join("huge.cedar"),
            " ".repeat(MAX_POLICY_FILE_BYTES + 1),
        )
        .unwrap();
        let (set, errors) = PolicySet::load(dir.path()).unwrap();
        assert_eq!(set.origins()[0].id, "extra");
        assert_eq!(set.len(), PolicySet::default_set().unwrap().len() + 1);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].file.ends_with("huge.cedar"));
        assert!(PolicySet::load(&dir.path().join("missing.cedar")).is_err());
    }
}
