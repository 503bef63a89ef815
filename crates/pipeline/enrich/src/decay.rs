//! Indicator score decay, after `OpenCTI`'s decay rules.
//!
//! An indicator's score falls from its base score over a lifetime:
//! `score(t) = base × (1 − (t / lifetime)^(1 / (3 × pound)))` for `0 ≤ t ≤ lifetime` days since
//! the indicator was last confirmed (its `valid_from`, or the last time it was observed), and
//! 0 after. This is `OpenCTI`'s polynomial formula with its fixed decay factor of 3. The
//! indicator counts as revoked once its score is at or below the rule's revoke score.
//! Observing the indicator again restarts the curve from the base score.

use serde::{Deserialize, Serialize};

/// `OpenCTI`'s fixed decay factor in the exponent.
const DECAY_FACTOR: f64 = 3.0;

/// A decay rule: how fast scores fall and when an indicator stops counting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecayRule {
    /// Days from the last confirmation until the score reaches 0.
    pub lifetime_days: f64,
    /// The curve's shape: above 1 the score falls faster early on, below 1 it holds longer.
    pub pound: f64,
    /// Scores at or below this count as revoked.
    pub revoke_score: f64,
}

impl DecayRule {
    /// `OpenCTI`'s built-in rule for IP addresses: 60 days.
    pub const IP: Self = Self {
        lifetime_days: 60.0,
        pound: 1.0,
        revoke_score: 0.0,
    };
    /// `OpenCTI`'s built-in rule for URLs: 180 days.
    pub const URL: Self = Self {
        lifetime_days: 180.0,
        pound: 1.0,
        revoke_score: 0.0,
    };
    /// `OpenCTI`'s fallback rule for everything else: 365 days.
    pub const DEFAULT: Self = Self {
        lifetime_days: 365.0,
        pound: 1.0,
        revoke_score: 0.0,
    };

    /// The score `days` after the last confirmation, from a base score.
    pub fn score(&self, base: f64, days: f64) -> f64 {
        if !days.is_finite() || days <= 0.0 || self.lifetime_days <= 0.0 {
            return if days > 0.0 && self.lifetime_days <= 0.0 {
                0.0
            } else {
                base
            };
        }
        if days >= self.lifetime_days {
            return 0.0;
        }
        let exponent = 1.0 / (DECAY_FACTOR * self.pound.max(f64::MIN_POSITIVE));
        (base * (1.0 - (days / self.lifetime_days).powf(exponent))).max(0.0)
    }

    /// Whether a score means the indicator is revoked.
    pub fn revokes(&self, score: f64) -> bool {
        score <= self.revoke_score
    }

    /// The same rule with another revoke score.
    #[must_use]
    pub const fn with_revoke_score(self, revoke_score: f64) -> Self {
        Self {
            revoke_score,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_opencti_curve() {
        let rule = DecayRule::DEFAULT;
        assert!((rule.score(100.0, 0.0) - 100.0).abs() < 1e-9);
        // Halfway through the lifetime with pound 1: 100 × (1 − 0.5^(1/3)).
        let half = rule.score(100.0, 182.5);
        assert!(
            (half - 100.0 * (1.0 - 0.5f64.powf(1.0 / 3.0))).abs() < 1e-9,
            "{half}"
        );
        assert!((half - 20.63).abs() < 0.01, "{half}");
        assert!(rule.score(100.0, 365.0).abs() < 1e-12);
        assert!(rule.score(100.0, 1000.0).abs() < 1e-12);
        assert!(rule.revokes(rule.score(100.0, 365.0)));
        assert!(!rule.revokes(rule.score(100.0, 364.0)));
    }

    #[test]
    fn decays_monotonically_and_a_low_pound_holds_longer() {
        let rule = DecayRule::IP;
        let mut last = f64::INFINITY;
        for day in 0..=60 {
            let s = rule.score(80.0, f64::from(day));
            assert!(s <= last);
            last = s;
        }
        let slow = DecayRule { pound: 0.5, ..rule };
        assert!(slow.score(80.0, 5.0) > rule.score(80.0, 5.0));
        let strict = rule.with_revoke_score(20.0);
        assert!(strict.revokes(strict.score(80.0, 30.0)));
    }
}
