//! Operator settings and endpoint answers that steer outbound calls.

use std::time::Duration;

use chrono::{DateTime, Utc};
use longshore_jobs::events::schedule::{MAX_RETRY_AFTER as EVENT_MAX_WAIT, RetrySchedule};
use longshore_jobs::outbound::Destinations;
use longshore_jobs::outbound::response::{MAX_RETRY_AFTER, parse_retry_after};

use crate::input::text;

/// The longest delay the event retry schedule may name.
const MAX_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Three lines: an endpoint's `Retry-After` header (HTTP tasks and events), the outbound
/// allow-list (`LONGSHORE_OUTBOUND_ALLOW`), and the event retry schedule
/// (`LONGSHORE_EVENT_RETRY_SCHEDULE`).
///
/// Asserts that a `Retry-After` never parks work for more than a day; that an allow-list that
/// parses still refuses the cloud metadata address unless an entry names it; and that a retry
/// schedule that parses has 1 to 50 attempts, each delay within 7 days and each endpoint's
/// wait within a day.
pub fn outbound_settings(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut lines = text.splitn(3, '\n');
    let (retry_after, allow, schedule) = (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    );
    let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("a valid instant");
    if let Some(wait) = parse_retry_after(retry_after, now) {
        assert!(
            wait <= MAX_RETRY_AFTER,
            "{retry_after:?} parks work for {wait:?}"
        );
    }
    if let Ok(policy) = Destinations::parse(allow) {
        let metadata = [169, 254, 169, 254].into();
        let named = allow.contains("169.254.") || allow.contains(':') || allow.contains('/');
        if !named {
            assert!(
                policy.refuses_addr(metadata).is_some(),
                "{allow:?} allows metadata"
            );
        }
    }
    if let Ok(s) = RetrySchedule::parse(schedule) {
        assert!((1..=50).contains(&s.attempts()));
        for attempt in 1..s.attempts() {
            let delay = s.after_failure(attempt, None).expect("an attempt is left");
            assert!(delay <= MAX_DELAY);
            let asked = s
                .after_failure(attempt, Some(Duration::MAX))
                .expect("still left");
            assert!(asked <= EVENT_MAX_WAIT);
        }
        assert_eq!(s.after_failure(s.attempts(), None), None);
    }
}
