//! A circuit breaker: after `threshold` consecutive failed calls the LLM is skipped for a
//! cool-down, so a dead or slow endpoint costs one timeout per cool-down, not one per incident.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whether a call may go to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead (closed, or half-open after the cool-down: one failure re-opens it).
    Allowed,
    /// Skip the LLM; the breaker re-closes for a trial after `remaining`.
    Skipped {
        /// Consecutive failures that opened it.
        failures: u32,
        /// Time left in the cool-down.
        remaining: Duration,
    },
}

#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    open_until: Option<Instant>,
}

/// Counts consecutive failures and opens after a threshold (see the module docs).
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl CircuitBreaker {
    /// A closed breaker that opens after `threshold` consecutive failures for `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether a call may proceed now.
    pub fn admit(&self) -> Admission {
        self.admit_at(Instant::now())
    }

    /// [`CircuitBreaker::admit`] at a given instant (tests).
    pub fn admit_at(&self, now: Instant) -> Admission {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.open_until {
            Some(until) if now < until => Admission::Skipped {
                failures: state.consecutive,
                remaining: until - now,
            },
            _ => Admission::Allowed,
        }
    }

    /// Records a successful call: the breaker closes.
    pub fn success(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = State::default();
    }

    /// Records a failed call; opens the breaker at the threshold (and re-opens it after a
    /// failed trial once the cool-down is over).
    pub fn failure(&self) {
        self.failure_at(Instant::now());
    }

    /// [`CircuitBreaker::failure`] at a given instant (tests).
    pub fn failure_at(&self, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.consecutive = state.consecutive.saturating_add(1);
        if state.consecutive >= self.threshold {
            state.open_until = Some(now + self.cooldown);
        }
    }

    /// Consecutive failures so far.
    pub fn consecutive_failures(&self) -> u32 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .consecutive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_at_threshold_and_half_opens_after_cooldown() {
        let b = CircuitBreaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        b.failure_at(t0);
        b.failure_at(t0);
        assert_eq!(b.admit_at(t0), Admission::Allowed);
        b.failure_at(t0);
        assert!(matches!(
            b.admit_at(t0 + Duration::from_secs(1)),
            Admission::Skipped { failures: 3, .. }
        ));
        // After the cool-down one trial goes through; its failure re-opens at once.
        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.admit_at(later), Admission::Allowed);
        b.failure_at(later);
        assert!(matches!(b.admit_at(later), Admission::Skipped { .. }));
        b.success();
        assert_eq!(b.admit_at(later), Admission::Allowed);
        assert_eq!(b.consecutive_failures(), 0);
    }
}
