//! Retry policies: exponential backoff with jitter, capped, chosen per job type.

use std::time::Duration;

use rand::Rng;

/// How far apart a job type's attempts are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the second attempt.
    pub base: Duration,
    /// Multiplier per further attempt.
    pub factor: f64,
    /// Longest nominal delay between two attempts; the jitter spreads around it too, so a capped
    /// delay lies within `cap × (1 ± jitter)` (a thousand jobs that failed together on their
    /// tenth attempt must not all come back in the same second).
    pub cap: Duration,
    /// Random spread around the delay, as a fraction (0.2 = ±20 %), so retries don't stampede.
    pub jitter: f64,
}

impl RetryPolicy {
    /// Exponential from `base`, doubling, capped at one hour (± the jitter), ±20 % jitter.
    pub const fn exponential(base: Duration) -> Self {
        RetryPolicy {
            base,
            factor: 2.0,
            cap: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }

    /// The delay after attempt number `attempt` (1-based) failed.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exp = self.factor.powi(attempt.saturating_sub(1).min(60) as i32);
        let nominal = (self.base.as_secs_f64() * exp).min(self.cap.as_secs_f64());
        let spread = if self.jitter > 0.0 {
            rand::rng().random_range(-self.jitter..=self.jitter)
        } else {
            0.0
        };
        Duration::from_secs_f64((nominal * (1.0 + spread)).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = RetryPolicy::exponential(Duration::from_secs(1));
        for _ in 0..200 {
            let d1 = p.delay_after(1).as_secs_f64();
            let d2 = p.delay_after(2).as_secs_f64();
            let d3 = p.delay_after(3).as_secs_f64();
            assert!((0.8..=1.2).contains(&d1), "{d1}");
            assert!(d2 > d1 && d3 > d2, "{d1} {d2} {d3}");
            assert!(p.delay_after(40).as_secs_f64() <= 3600.0 * 1.2);
        }
    }
}
