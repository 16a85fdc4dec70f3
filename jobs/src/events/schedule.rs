//! The published retry schedule of event deliveries (`LONGSHORE_EVENT_RETRY_SCHEDULE`).

use std::time::Duration;

/// Longest wait an endpoint's `Retry-After` can ask for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The delay before each attempt: the first counted from the event, each next one from the
/// previous attempt's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl RetrySchedule {
    /// Reads `0s,5s,5m,30m,2h` (humantime durations; at least one, at most 50 attempts).
    pub fn parse(text: &str) -> Result<RetrySchedule, String> {
        let delays = text
            .split(',')
            .map(str::trim)
            .map(|d| {
                humantime::parse_duration(d)
                    .map_err(|e| format!("{d:?} is not a duration such as 5s, 30m or 2h ({e})"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() || delays.len() > 50 {
            return Err("must list between 1 and 50 delays".into());
        }
        if delays
            .iter()
            .any(|d| *d > Duration::from_secs(7 * 24 * 3600))
        {
            return Err("a delay may be at most 7 days".into());
        }
        Ok(RetrySchedule { delays })
    }

    /// Attempts in all.
    pub fn attempts(&self) -> u32 {
        self.delays.len() as u32
    }

    /// After failed attempt `attempt` (1-based), how long until the next one; `None` when it
    /// was the last. An endpoint's `Retry-After` replaces the delay (up to a day).
    pub fn after_failure(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let next = self.delays.get(attempt as usize)?;
        Some(retry_after.map_or(*next, |r| r.min(MAX_RETRY_AFTER)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_a_day_and_a_half() {
        let s = RetrySchedule::parse("0s,5s,5m,30m,2h,5h,10h,10h").unwrap();
        assert_eq!(s.attempts(), 8);
        assert_eq!(s.after_failure(1, None), Some(Duration::from_secs(5)));
        assert_eq!(s.after_failure(7, None), Some(Duration::from_secs(36_000)));
        assert_eq!(s.after_failure(8, None), None);
        let total: u64 = (1..8)
            .map(|a| s.after_failure(a, None).unwrap().as_secs())
            .sum();
        assert_eq!(total, 5 + 300 + 1800 + 7200 + 18_000 + 36_000 + 36_000);
    }

    #[test]
    fn retry_after_replaces_the_delay_up_to_a_day() {
        let s = RetrySchedule::parse("0s, 1s, 1s").unwrap();
        let asked = Some(Duration::from_secs(3));
        assert_eq!(s.after_failure(1, asked), Some(Duration::from_secs(3)));
        let huge = Some(Duration::from_secs(10 * 24 * 3600));
        assert_eq!(s.after_failure(2, huge), Some(MAX_RETRY_AFTER));
        assert_eq!(s.after_failure(3, asked), None, "no attempts left");
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        assert!(
            RetrySchedule::parse("5 parsecs")
                .unwrap_err()
                .contains("5 parsecs")
        );
        assert!(RetrySchedule::parse("0s,8d").is_err());
        assert!(RetrySchedule::parse(&vec!["1s"; 51].join(",")).is_err());
    }
}
