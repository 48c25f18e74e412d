//! Retry waits while the server is unreachable: exponential growth so a
//! fleet of agents does not hammer a server that is coming back up, and
//! jitter so they do not all retry in the same instant.

use std::time::Duration;

/// Exponential backoff with "equal jitter": retry `n` (0-based) waits
/// between half and all of `min(cap, base * 2^n)`. Never less than half
/// keeps retries from collapsing to zero; never more than the cap keeps a
/// recovered server from waiting long for its agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Nominal wait before the first retry.
    pub base: Duration,
    /// Longest nominal wait.
    pub cap: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}

impl BackoffPolicy {
    /// The un-jittered wait before retry `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // 2^31 × any sane base is far past any cap, and avoids overflow.
        let factor = 1u32 << attempt.min(31);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry `attempt`, with `unit` in `0.0..=1.0` choosing
    /// where in `[ceiling/2, ceiling]` it lands. Pure, so it is testable;
    /// the caller supplies the randomness.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let half = self.ceiling(attempt) / 2;
        half + half.mul_f64(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn ceiling_doubles_from_the_base_and_stops_at_the_cap() {
        let policy = BackoffPolicy::default();
        let ceilings: Vec<u64> = (0..9).map(|n| policy.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.ceiling(u32::MAX), 60 * SECOND);
    }

    #[test]
    fn jitter_stays_between_half_and_full_ceiling() {
        let policy = BackoffPolicy::default();
        for attempt in 0..40 {
            let ceiling = policy.ceiling(attempt);
            for step in 0..=10 {
                let delay = policy.delay(attempt, f64::from(step) / 10.0);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{attempt}: {delay:?}"
                );
            }
            assert_eq!(policy.delay(attempt, 0.0), ceiling / 2);
            assert_eq!(policy.delay(attempt, 1.0), ceiling);
        }
    }

    #[test]
    fn waits_grow_and_never_pass_sixty_seconds() {
        let policy = BackoffPolicy::default();
        // Even the unluckiest draw at attempt n+2 is at least the luckiest at n.
        for attempt in 0..5 {
            assert!(policy.delay(attempt + 2, 0.0) >= policy.delay(attempt, 1.0));
        }
        for attempt in 0..100 {
            assert!(policy.delay(attempt, 1.0) <= 60 * SECOND);
        }
    }

    #[test]
    fn out_of_range_randomness_is_clamped() {
        let policy = BackoffPolicy::default();
        assert_eq!(policy.delay(0, 7.0), SECOND);
        assert_eq!(policy.delay(0, -1.0), SECOND / 2);
        assert_eq!(policy.delay(0, f64::NAN), SECOND * 3 / 4);
    }
}
