//! Detectors for personal data and secrets in free text.
//!
//! Each detector is a regular expression plus, where one exists, a validator that removes
//! look-alikes: Luhn for card numbers, mod-97 for IBANs, `std::net` parsing for IP
//! addresses, entropy and character mix for generic secrets. Overlapping findings are
//! resolved in favour of the more specific, longer one (a password inside a URL wins over
//! the URL's host name only when it is longer; a private key wins over everything inside it).

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use super::checks::{entropy, iban_valid, luhn_valid};

/// Most findings reported per text.
pub const MAX_FINDINGS: usize = 4096;

/// A kind of personal data or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PiiKind {
    /// An e-mail address.
    Email,
    /// A phone number in international or North American notation.
    Phone,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A user name (`DOMAIN\user`, `user=` pairs, or a user-name field).
    UserName,
    /// A payment card number that passes the Luhn check.
    CardNumber,
    /// An IBAN that passes the mod-97 check.
    Iban,
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKey,
    /// A GitHub token (`ghp_…`, `github_pat_…`).
    GithubToken,
    /// A Slack token or webhook (`xox…`).
    SlackToken,
    /// Another vendor API key with a known prefix (Google, Stripe, OpenAI-style `sk-`).
    ApiKey,
    /// A JSON Web Token.
    Jwt,
    /// A PEM private key block.
    PrivateKey,
    /// A password on a command line, in a connection string or in a URL.
    Password,
    /// A value assigned to a secret-looking name (`api_key=`, `token:`, `Bearer`).
    Secret,
    /// A long, high-entropy token with mixed character classes.
    HighEntropy,
}

impl PiiKind {
    /// Every kind, in declaration order.
    pub const ALL: [PiiKind; 15] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::IpAddress,
        PiiKind::UserName,
        PiiKind::CardNumber,
        PiiKind::Iban,
        PiiKind::AwsAccessKey,
        PiiKind::GithubToken,
        PiiKind::SlackToken,
        PiiKind::ApiKey,
        PiiKind::Jwt,
        PiiKind::PrivateKey,
        PiiKind::Password,
        PiiKind::Secret,
        PiiKind::HighEntropy,
    ];

    /// Kebab-case name, used in redaction markers and pseudonym tokens.
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::IpAddress => "ip",
            Self::UserName => "user",
            Self::CardNumber => "card",
            Self::Iban => "iban",
            Self::AwsAccessKey => "aws-key",
            Self::GithubToken => "github-token",
            Self::SlackToken => "slack-token",
            Self::ApiKey => "api-key",
            Self::Jwt => "jwt",
            Self::PrivateKey => "private-key",
            Self::Password => "password",
            Self::Secret => "secret",
            Self::HighEntropy => "high-entropy",
        }
    }

    /// Whether the kind is a credential (never pseudonymised: a token of a secret is useless
    /// to an analyst and keeps it joinable).
    pub fn is_secret(self) -> bool {
        !matches!(
            self,
            Self::Email | Self::Phone | Self::IpAddress | Self::UserName
        )
    }

    /// Priority when findings overlap (higher wins).
    fn priority(self) -> u8 {
        match self {
            Self::PrivateKey => 9,
            Self::Jwt
            | Self::AwsAccessKey
            | Self::GithubToken
            | Self::SlackToken
            | Self::ApiKey => 8,
            Self::Password | Self::Secret => 7,
            Self::CardNumber | Self::Iban => 6,
            Self::Email => 5,
            Self::UserName => 4,
            Self::IpAddress | Self::Phone => 3,
            Self::HighEntropy => 1,
        }
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One detected value: its kind and byte span in the scanned text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What was found.
    pub kind: PiiKind,
    /// Where, in bytes of the scanned text.
    pub span: Range<usize>,
}

/// A rule: pattern, the capture group holding the value (0 = whole match), validator.
struct Rule {
    kind: PiiKind,
    regex: Regex,
    group: usize,
    validate: fn(&str) -> bool,
}

fn always(_: &str) -> bool {
    true
}

fn ip_any_valid(s: &str) -> bool {
    ip_valid(s) || ipv6_valid(s)
}

fn ip_valid(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

fn ipv6_valid(s: &str) -> bool {
    s.matches(':').count() >= 2 && s.parse::<std::net::Ipv6Addr>().is_ok()
}

fn phone_valid(s: &str) -> bool {
    (7..=15).contains(&s.chars().filter(char::is_ascii_digit).count())
}

fn high_entropy_valid(s: &str) -> bool {
    let upper = s.bytes().any(|b| b.is_ascii_uppercase());
    let lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let digit = s.bytes().any(|b| b.is_ascii_digit());
    // Hex digests are indicators the analyst needs, not secrets.
    let hex = s.bytes().all(|b| b.is_ascii_hexdigit());
    upper && lower && digit && !hex && entropy(s) >= 4.5
}

fn secret_value_valid(s: &str) -> bool {
    let v = s.trim_matches(|c| c == '"' || c == '\'');
    // `token: none`, `password=` followed by a placeholder are not secrets.
    v.len() >= 4
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "null" | "none" | "true" | "false" | "****" | "redacted" | "<redacted>" | "xxxx"
        )
}

/// A rule specification: kind, pattern, capture group of the value, validator.
type Spec = (PiiKind, &'static str, usize, fn(&str) -> bool);

#[expect(
    clippy::too_many_lines,
    reason = "one table of rules, easier to review in one place"
)]
fn specs() -> [Spec; 20] {
    [
        (
            PiiKind::PrivateKey,
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.)*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\z)",
            0,
            always,
        ),
        (
            PiiKind::Jwt,
            r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{8,}",
            0,
            always,
        ),
        (
            PiiKind::AwsAccessKey,
            r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
            0,
            always,
        ),
        (
            PiiKind::GithubToken,
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
            0,
            always,
        ),
        (
            PiiKind::SlackToken,
            r"\bxox[abposr]-[A-Za-z0-9-]{10,250}|https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,200}",
            0,
            always,
        ),
        (
            PiiKind::ApiKey,
            r"\b(?:AIza[0-9A-Za-z_-]{35}|sk_live_[0-9A-Za-z]{24,99}|rk_live_[0-9A-Za-z]{24,99}|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,200}|glpat-[A-Za-z0-9_-]{20,64})",
            0,
            always,
        ),
        (
            PiiKind::Password,
            r#"(?i)(?:^|[\s"'])(?:--?password|--?passwd|--?pass|--?pwd|/p(?:assword)?:)(?:=|:|\s+)?("[^"]*"|'[^']*'|[^\s"']+)"#,
            1,
            secret_value_valid,
        ),
        (
            PiiKind::Password,
            r#"(?i)\b(?:mysql\w*|mariadb|psexec(?:64)?(?:\.exe)?|sshpass|mysqldump|mysqladmin)\b[^\n]{0,200}?\s-p\s?("[^"]+"|'[^']+'|[^\s-][^\s]*)"#,
            1,
            secret_value_valid,
        ),
        (
            PiiKind::Password,
            r#"(?i)\s-u\s+\S+\s+-p\s?("[^"]+"|'[^']+'|[^\s-][^\s]*)"#,
            1,
            secret_value_valid,
        ),
        (
            PiiKind::Password,
            r#"(?i)\b(?:password|passwd|pwd|passphrase)\s*[=:]\s*("[^"]*"|'[^']*'|[^\s;&,"'<>]+)"#,
            1,
            secret_value_valid,
        ),
        (
            PiiKind::Password,
            r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]{1,64}:([^\s/@]{1,128})@",
            1,
            secret_value_valid,
        ),
        (
            PiiKind::Secret,
            r#"(?i)\b(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key(?:[_-]?id)?|auth[_-]?token|access[_-]?token|refresh[_-]?token|client[_-]?secret|private[_-]?key|token)\b["']?\s*[=:]\s*["']?([A-Za-z0-9/+_.=~-]{8,512})"#,
            1,
            secret_value_valid,
        ),
        (
            PiiKind::Secret,
            r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{16,2048})",
            1,
            always,
        ),
        (
            PiiKind::Email,
            r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b",
            0,
            always,
        ),
        (
            PiiKind::UserName,
            r"\b[A-Za-z][A-Za-z0-9-]{0,14}\\([A-Za-z0-9._$-]{1,64})",
            0,
            always,
        ),
        (
            PiiKind::UserName,
            r#"(?i)\b(?:user(?:name)?|login|account(?:[_ ]?name)?|uid)\s*[=:]\s*["']?([A-Za-z0-9._@\\$-]{2,64})"#,
            1,
            always,
        ),
        (
            PiiKind::CardNumber,
            r"\b\d(?:[ -]?\d){12,18}\b",
            0,
            luhn_valid,
        ),
        (
            PiiKind::Iban,
            r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
            0,
            iban_valid,
        ),
        (
            PiiKind::IpAddress,
            r"\b(?:\d{1,3}\.){3}\d{1,3}\b|(?i:\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%[a-z0-9]+)?)",
            0,
            ip_any_valid,
        ),
        (
            PiiKind::Phone,
            r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}|\(\d{3}\) ?\d{3}[ .-]\d{4}|\b\d{3}-\d{3}-\d{4})\b",
            0,
            phone_valid,
        ),
    ]
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let specs = specs();
        let mut rules: Vec<Rule> = specs
            .into_iter()
            .filter_map(|(kind, pattern, group, validate)| {
                Regex::new(pattern).ok().map(|regex| Rule {
                    kind,
                    regex,
                    group,
                    validate,
                })
            })
            .collect();
        if let Ok(regex) = Regex::new(r"[A-Za-z0-9+/_=-]{32,512}") {
            rules.push(Rule {
                kind: PiiKind::HighEntropy,
                regex,
                group: 0,
                validate: high_entropy_valid,
            });
        }
        rules
    })
}

/// Number of compiled rules (a test checks that none failed to compile).
pub fn rule_count() -> usize {
    rules().len()
}

/// Finds personal data and secrets in `text`; findings do not overlap and are sorted.
pub fn detect(text: &str) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    for rule in rules() {
        for caps in rule.regex.captures_iter(text) {
            if found.len() >= MAX_FINDINGS {
                break;
            }
            let Some(m) = caps.get(rule.group) else {
                continue;
            };
            if m.is_empty() || !(rule.validate)(m.as_str()) {
                continue;
            }
            // Quoted values are redacted with their quotes.
            found.push(Finding {
                kind: rule.kind,
                span: m.range(),
            });
        }
    }
    resolve_overlaps(found)
}

/// Keeps the best finding of each overlapping cluster: higher priority, then longer.
fn resolve_overlaps(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by(|a, b| {
        b.kind
            .priority()
            .cmp(&a.kind.priority())
            .then((b.span.end - b.span.start).cmp(&(a.span.end - a.span.start)))
            .then(a.span.start.cmp(&b.span.start))
    });
    let mut kept: Vec<Finding> = Vec::new();
    for f in found {
        if kept
            .iter()
            .all(|k| f.span.end <= k.span.start || f.span.start >= k.span.end)
        {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.span.start);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, String)> {
        detect(text)
            .into_iter()
            .map(|f| (f.kind, text[f.span].to_owned()))
            .collect()
    }

    #[test]
    fn all_rules_compile() {
        assert_eq!(rule_count(), 21);
    }

    #[test]
    fn contact_data() {
        assert_eq!(
            kinds("mail jane.doe@example.org now"),
            vec![(PiiKind::Email, "jane.doe@example.org".into())]
        );
        assert_eq!(
            kinds("call +44 20 7946 0958"),
            vec![(PiiKind::Phone, "+44 20 7946 0958".into())]
        );
        assert_eq!(
            kinds("or (555) 123-4567."),
            vec![(PiiKind::Phone, "(555) 123-4567".into())]
        );
        assert_eq!(
            kinds("from 198.51.100.7 to 2001:db8::1"),
            vec![
                (PiiKind::IpAddress, "198.51.100.7".into()),
                (PiiKind::IpAddress, "2001:db8::1".into()),
            ]
        );
        assert!(kinds("version 999.1.2.3 and 12:30:45").is_empty());
        assert_eq!(
            kinds(r"logon by CORP\jdoe"),
            vec![(PiiKind::UserName, r"CORP\jdoe".into())]
        );
    }

    #[test]
    fn payment_data_is_validated() {
        assert_eq!(
            kinds("card 4111 1111 1111 1111 ok"),
            vec![(PiiKind::CardNumber, "4111 1111 1111 1111".into())]
        );
        assert!(
            kinds("order 4111 1111 1111 1112")
                .iter()
                .all(|(k, _)| *k != PiiKind::CardNumber)
        );
        assert_eq!(
            kinds("IBAN GB82 WEST 1234 5698 7654 32."),
            vec![(PiiKind::Iban, "GB82 WEST 1234 5698 7654 32".into())]
        );
        assert!(
            kinds("GB82 WEST 1234 5698 7654 33")
                .iter()
                .all(|(k, _)| *k != PiiKind::Iban)
        );
    }

    #[test]
    fn tokens_and_keys() {
        // Documentation example keys, not live credentials.
        let aws = "AKIAIOSFODNN7EXAMPLE";
        assert_eq!(
            kinds(&format!("key {aws} used")),
            vec![(PiiKind::AwsAccessKey, aws.into())]
        );
        let gh = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        assert_eq!(kinds(&gh), vec![(PiiKind::GithubToken, gh.clone())]);
        let slack = "xoxb-123456789012-abcdefghijkl";
        assert_eq!(kinds(slack), vec![(PiiKind::SlackToken, slack.into())]);
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(
            kinds(&format!("Authorization: {jwt}")),
            vec![(PiiKind::Jwt, jwt.into())]
        );
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            kinds(&format!("x {pem} y")),
            vec![(PiiKind::PrivateKey, pem.into())]
        );
        assert_eq!(
            kinds("api_key=Zx81kLm02PqRsT"),
            vec![(PiiKind::Secret, "Zx81kLm02PqRsT".into())]
        );
        let random = "q8Zr2LmX7vTb9KcW4nYp1HsJ6dFg3AeR";
        assert_eq!(kinds(random), vec![(PiiKind::HighEntropy, random.into())]);
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(kinds(sha).is_empty());
    }

    #[test]
    fn passwords_on_command_lines() {
        let cases = [
            ("mysql -u root -pS3cret! db", "S3cret!"),
            ("net use \\\\srv\\c$ /user:admin /p:Hunter22", "Hunter22"),
            ("tool --password=letmein1 --verbose", "letmein1"),
            ("tool --password \"two words\"", "\"two words\""),
            ("psexec \\\\host -u admin -p Passw0rd cmd", "Passw0rd"),
            ("Server=db;User Id=sa;Password=Tr0ub4dor;", "Tr0ub4dor"),
            ("https://bob:pa55word@example.com/x", "pa55word"),
        ];
        for (text, secret) in cases {
            let found = kinds(text);
            assert!(
                found
                    .iter()
                    .any(|(k, v)| *k == PiiKind::Password && v == secret),
                "{text}: {found:?}"
            );
        }
        // `-p` as a port or a mkdir flag is not a password.
        assert!(
            kinds("ssh -p 2222 host")
                .iter()
                .all(|(k, _)| *k != PiiKind::Password)
        );
        assert!(
            kinds("mkdir -p /tmp/x")
                .iter()
                .all(|(k, _)| *k != PiiKind::Password)
        );
    }

    #[test]
    fn findings_never_overlap() {
        let text = "postgres://admin:pa55word@db.example.com user=admin@example.com";
        let found = detect(text);
        for w in found.windows(2) {
            assert!(w[0].span.end <= w[1].span.start);
        }
    }
}
