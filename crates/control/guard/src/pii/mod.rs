//! PII and secret minimisation before text reaches a prompt.
//!
//! Three layers, applied in order by [`Minimiser::minimise_field`]:
//! 1. the [`FieldAllowlist`] decides whether a field may reach a prompt at all;
//! 2. identity fields (`user.name`, `*.user.name`, `TargetUserName` ...) are pseudonymised
//!    as a whole;
//! 3. free text is scanned by the [detectors](detect) and each finding is kept, redacted
//!    (`[redacted:aws-key]`) or pseudonymised (`[email:3f2a9c01b7d4]`) by the
//!    [`MinimisationPolicy`].
//!
//! Pseudonyms are keyed HMAC-SHA256 tokens from `rampart-crypto` (deterministic per tenant
//! key, so the same user gets the same token across alerts and the model can still
//! correlate), and the [`PseudonymVault`] maps them back outside the prompt. Credentials
//! are always redacted, never pseudonymised: a stable token for a password would keep it
//! joinable and helps nobody.

mod allowlist;
mod checks;
pub mod detect;
mod vault;

use std::collections::BTreeMap;

use rampart_crypto::Secret;
use rampart_crypto::pseudonym::Pseudonymizer;

pub use allowlist::{FieldAllowlist, is_identity_field};
pub use checks::{entropy, iban_valid, luhn_valid};
pub use detect::{Finding, PiiKind};
pub use vault::PseudonymVault;

use crate::GuardError;

/// Hex characters of a pseudonym token in text (48 bits); a collision falls back to 32.
pub const SHORT_TOKEN_HEX: usize = 12;

/// What happens to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Treatment {
    /// Left as it is.
    Keep,
    /// Replaced by `[redacted:<kind>]`.
    Redact,
    /// Replaced by a keyed token `[<kind>:<hex>]`, reversible through the vault.
    Pseudonymise,
}

/// The treatment of each kind of finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinimisationPolicy {
    treatments: BTreeMap<PiiKind, Treatment>,
}

impl Default for MinimisationPolicy {
    /// Credentials, card numbers and IBANs are redacted; e-mail addresses, phone numbers
    /// and user names are pseudonymised; IP addresses are kept, because they are the
    /// indicators an incident is about (pseudonymise them with
    /// [`MinimisationPolicy::set`] where policy requires it).
    fn default() -> Self {
        let treatments = PiiKind::ALL
            .iter()
            .map(|&k| {
                let t = match k {
                    PiiKind::IpAddress => Treatment::Keep,
                    PiiKind::Email | PiiKind::Phone | PiiKind::UserName => Treatment::Pseudonymise,
                    _ => Treatment::Redact,
                };
                (k, t)
            })
            .collect();
        Self { treatments }
    }
}

impl MinimisationPolicy {
    /// Sets the treatment of `kind`. Credentials cannot be kept or pseudonymised: asking for
    /// that leaves them redacted.
    pub fn set(&mut self, kind: PiiKind, treatment: Treatment) -> &mut Self {
        let t = if kind.is_secret() {
            Treatment::Redact
        } else {
            treatment
        };
        self.treatments.insert(kind, t);
        self
    }

    /// The treatment of `kind`.
    pub fn get(&self, kind: PiiKind) -> Treatment {
        self.treatments
            .get(&kind)
            .copied()
            .unwrap_or(Treatment::Redact)
    }
}

/// One finding and what was done with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// The finding (span in the input text).
    pub finding: Finding,
    /// What was done.
    pub treatment: Treatment,
}

/// Minimised text and the record of what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minimised {
    /// The text with findings redacted or pseudonymised.
    pub text: String,
    /// Every finding, in input order.
    pub applied: Vec<Applied>,
}

/// Applies the allowlist and the policy to untrusted values.
#[derive(Debug, Clone)]
pub struct Minimiser {
    policy: MinimisationPolicy,
    allowlist: FieldAllowlist,
    pseudonymizer: Option<Pseudonymizer>,
}

impl Minimiser {
    /// A minimiser that pseudonymises under `key` (a tenant key; see `rampart-crypto`).
    pub fn new(key: &Secret<[u8; 32]>, allowlist: FieldAllowlist) -> Result<Self, GuardError> {
        Ok(Self {
            policy: MinimisationPolicy::default(),
            allowlist,
            pseudonymizer: Some(Pseudonymizer::new(key)?),
        })
    }

    /// A minimiser without a key: whatever the policy says to pseudonymise is redacted.
    pub fn redacting(allowlist: FieldAllowlist) -> Self {
        Self {
            policy: MinimisationPolicy::default(),
            allowlist,
            pseudonymizer: None,
        }
    }

    /// The same minimiser with another policy.
    #[must_use]
    pub fn with_policy(mut self, policy: MinimisationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The field allowlist.
    pub fn allowlist(&self) -> &FieldAllowlist {
        &self.allowlist
    }

    /// Minimises the value of `field`: refused unless the field is allowlisted; identity
    /// fields are pseudonymised whole; other values go through [`Minimiser::minimise`].
    pub fn minimise_field(
        &self,
        field: &str,
        value: &str,
        vault: &mut PseudonymVault,
    ) -> Result<Minimised, GuardError> {
        if !self.allowlist.allows(field) {
            return Err(GuardError::FieldNotAllowed(field.to_owned()));
        }
        if is_identity_field(field) && !value.trim().is_empty() {
            let finding = Finding {
                kind: PiiKind::UserName,
                span: 0..value.len(),
            };
            let (text, treatment) = self.replacement(PiiKind::UserName, value, vault);
            return Ok(Minimised {
                text,
                applied: vec![Applied { finding, treatment }],
            });
        }
        Ok(self.minimise(value, vault))
    }

    /// Redacts or pseudonymises every finding in `text`.
    pub fn minimise(&self, text: &str, vault: &mut PseudonymVault) -> Minimised {
        let findings = detect::detect(text);
        let mut out = String::with_capacity(text.len());
        let mut applied = Vec::with_capacity(findings.len());
        let mut at = 0;
        for f in findings {
            let value = text.get(f.span.clone()).unwrap_or_default();
            out.push_str(text.get(at..f.span.start).unwrap_or_default());
            let (replacement, treatment) = self.replacement(f.kind, value, vault);
            out.push_str(&replacement);
            at = f.span.end;
            applied.push(Applied {
                finding: f,
                treatment,
            });
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Minimised { text: out, applied }
    }

    fn replacement(
        &self,
        kind: PiiKind,
        value: &str,
        vault: &mut PseudonymVault,
    ) -> (String, Treatment) {
        match (self.policy.get(kind), &self.pseudonymizer) {
            (Treatment::Keep, _) => (value.to_owned(), Treatment::Keep),
            (Treatment::Pseudonymise, Some(p)) => {
                let full = p.token(kind.name(), value.as_bytes()).to_string();
                for len in [SHORT_TOKEN_HEX, full.len()] {
                    let token = format!("[{}:{}]", kind.name(), full.get(..len).unwrap_or(&full));
                    if vault.insert(&token, value) {
                        return (token, Treatment::Pseudonymise);
                    }
                }
                (format!("[redacted:{}]", kind.name()), Treatment::Redact)
            }
            _ => (format!("[redacted:{}]", kind.name()), Treatment::Redact),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimiser() -> Minimiser {
        Minimiser::new(&Secret::new([9u8; 32]), FieldAllowlist::ecs_default()).unwrap()
    }

    #[test]
    fn secrets_are_redacted_and_people_pseudonymised() {
        let m = minimiser();
        let mut vault = PseudonymVault::new();
        let text = "jane@example.org ran mysql -u root -pS3cret! from 198.51.100.7 with AKIAIOSFODNN7EXAMPLE";
        let out = m.minimise(text, &mut vault);
        assert!(!out.text.contains("jane@example.org"));
        assert!(!out.text.contains("S3cret!"));
        assert!(!out.text.contains("AKIAIOSFODNN7EXAMPLE"));
        assert!(out.text.contains("198.51.100.7"), "IPs are kept by default");
        assert!(out.text.contains("[redacted:password]"));
        assert!(out.text.contains("[redacted:aws-key]"));
        let token = out.text.split_whitespace().next().unwrap();
        assert!(token.starts_with("[email:"), "{}", out.text);
        assert_eq!(vault.reveal(token), Some("jane@example.org"));
        assert_eq!(
            vault.rehydrate(&out.text).split_whitespace().next(),
            Some("jane@example.org")
        );
        // Deterministic under the key: the same address gets the same token.
        let again = m.minimise("mail jane@example.org", &mut vault);
        assert!(again.text.contains(token));
    }

    #[test]
    fn fields_are_allowlisted_and_identities_pseudonymised() {
        let m = minimiser();
        let mut vault = PseudonymVault::new();
        let err = m
            .minimise_field("http.request.body.content", "x", &mut vault)
            .unwrap_err();
        assert!(matches!(err, GuardError::FieldNotAllowed(_)));
        let out = m.minimise_field("user.name", "jdoe", &mut vault).unwrap();
        assert!(out.text.starts_with("[user:"));
        assert_eq!(vault.reveal(&out.text), Some("jdoe"));
    }

    #[test]
    fn without_a_key_pseudonyms_become_redactions() {
        let m = Minimiser::redacting(FieldAllowlist::ecs_default());
        let mut vault = PseudonymVault::new();
        let out = m.minimise("mail jane@example.org", &mut vault);
        assert_eq!(out.text, "mail [redacted:email]");
        assert!(vault.is_empty());
    }

    #[test]
    fn policy_cannot_keep_secrets() {
        let mut p = MinimisationPolicy::default();
        p.set(PiiKind::Password, Treatment::Keep);
        p.set(PiiKind::IpAddress, Treatment::Pseudonymise);
        assert_eq!(p.get(PiiKind::Password), Treatment::Redact);
        assert_eq!(p.get(PiiKind::IpAddress), Treatment::Pseudonymise);
    }
}
