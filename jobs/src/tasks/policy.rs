//! A task queue's retry policy, with Cloud Tasks' names and meanings, so a queue moved from
//! Cloud Tasks keeps its behaviour: the interval starts at `min_backoff`, doubles
//! `max_doublings` times, then grows linearly by the last doubled interval, capped at
//! `max_backoff`; retrying stops once every limit that is set has been reached (attempts and
//! time since the task was first due).

use std::time::Duration;

/// `max_attempts` meaning "no limit on attempts".
pub const UNLIMITED_ATTEMPTS: i64 = -1;

/// How a task queue retries (Cloud Tasks' `RetryConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts in all (the first included); -1 for no limit.
    pub max_attempts: i64,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub max_doublings: u32,
    /// How long after the task was first due retrying may go on; zero for no limit.
    pub max_retry_duration: Duration,
}

impl Default for RetryConfig {
    /// Cloud Tasks' defaults.
    fn default() -> Self {
        RetryConfig {
            max_attempts: 100,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3600),
            max_doublings: 16,
            max_retry_duration: Duration::ZERO,
        }
    }
}

impl RetryConfig {
    /// The wait after the `failed`-th failed attempt (1-based).
    pub fn backoff(&self, failed: u32) -> Duration {
        let step = failed.saturating_sub(1);
        let min = self.min_backoff.as_millis() as f64;
        let doublings = step.min(self.max_doublings);
        let doubled = min * 2f64.powi(doublings.min(62) as i32);
        let linear_steps = f64::from(step - doublings);
        let millis = doubled + doubled * linear_steps;
        let capped = millis.min(self.max_backoff.as_millis() as f64).max(0.0);
        Duration::from_millis(capped as u64)
    }

    /// Whether a task that has failed `failed` attempts, first due `since_due` ago, stops
    /// here: every limit that is set is reached (none set: it never stops).
    pub fn exhausted(&self, failed: u32, since_due: Duration) -> bool {
        let attempts_limit = (self.max_attempts != UNLIMITED_ATTEMPTS)
            .then(|| i64::from(failed) >= self.max_attempts);
        let time_limit =
            (!self.max_retry_duration.is_zero()).then(|| since_due >= self.max_retry_duration);
        match (attempts_limit, time_limit) {
            (None, None) => false,
            (Some(a), None) => a,
            (None, Some(t)) => t,
            (Some(a), Some(t)) => a && t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(min_s: u64, max_s: u64, doublings: u32) -> RetryConfig {
        RetryConfig {
            max_attempts: 100,
            min_backoff: Duration::from_secs(min_s),
            max_backoff: Duration::from_secs(max_s),
            max_doublings: doublings,
            max_retry_duration: Duration::ZERO,
        }
    }

    #[test]
    fn doubles_then_grows_linearly_then_caps_as_cloud_tasks_documents() {
        // Cloud Tasks' own example: min 10 s, max 300 s, 3 doublings →
        // 10, 20, 40, 80, 160, 240, 300, 300 …
        let c = config(10, 300, 3);
        let secs: Vec<u64> = (1..=9).map(|n| c.backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![10, 20, 40, 80, 160, 240, 300, 300, 300]);
    }

    #[test]
    fn zero_doublings_is_a_linear_interval() {
        let c = config(5, 12, 0);
        let secs: Vec<u64> = (1..=4).map(|n| c.backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![5, 10, 12, 12]);
    }

    #[test]
    fn huge_attempt_numbers_stay_capped() {
        let c = RetryConfig::default();
        assert_eq!(c.backoff(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn retrying_stops_when_every_set_limit_is_reached() {
        let hour = Duration::from_secs(3600);
        let mut c = config(1, 10, 3);
        c.max_attempts = 5;
        assert!(!c.exhausted(4, hour));
        assert!(c.exhausted(5, Duration::ZERO));
        c.max_retry_duration = hour;
        assert!(
            !c.exhausted(5, Duration::from_secs(10)),
            "time limit not reached yet"
        );
        assert!(!c.exhausted(4, hour * 2), "attempts limit not reached yet");
        assert!(c.exhausted(5, hour));
        c.max_attempts = UNLIMITED_ATTEMPTS;
        assert!(!c.exhausted(1000, Duration::from_secs(10)));
        assert!(c.exhausted(1, hour));
        c.max_retry_duration = Duration::ZERO;
        assert!(
            !c.exhausted(u32::MAX, hour * 1000),
            "no limit set: never stops"
        );
    }
}
