//! Property tests (proptest) for the backoff schedules: jobs' [`crate::retry::RetryPolicy`]
//! (and the email policy built on it), HTTP tasks' Cloud Tasks-style
//! [`crate::tasks::policy::RetryConfig`], and events' published [`crate::events::schedule::RetrySchedule`].
//! Attempt numbers range over all of `u32`, with the edges (0, 1, `u32::MAX`) drawn often.

use std::time::Duration;

use proptest::prelude::*;

use crate::events::schedule::{MAX_RETRY_AFTER, RetrySchedule};
use crate::retry::RetryPolicy;
use crate::tasks::input::{MAX_BACKOFF_LIMIT, MAX_DOUBLINGS_LIMIT};
use crate::tasks::policy::RetryConfig;

/// Attempt numbers: small ones, ones at the top of `u32`, and anything.
fn attempt() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..80, (u32::MAX - 80)..=u32::MAX, any::<u32>(),]
}

/// Durations in whole milliseconds over the whole `u64` range (what settings in ms can hold),
/// biased to small ones.
fn millis() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..10_000, 0u64..100_000_000, any::<u64>()]
}

/// The exact Cloud Tasks interval (README, "Retry and rate settings") in integer milliseconds:
/// `min_backoff` doubled `max_doublings` times, then growing by that last doubled interval per
/// attempt, capped at `max_backoff`.
fn cloud_tasks_model(c: &RetryConfig, failed: u32) -> u128 {
    let step = u128::from(failed.saturating_sub(1));
    let doublings = step.min(u128::from(c.max_doublings));
    let doubled = c.min_backoff.as_millis() << doublings;
    let interval = doubled * (1 + step - doublings);
    interval.min(c.max_backoff.as_millis())
}

/// `a <= b` up to the f64 rounding the policies compute in (1 µs, or 1e-12 of the value for
/// durations beyond about a century, where f64 seconds no longer hold every millisecond).
fn at_most(a: Duration, b: Duration) -> bool {
    let tol = (b.as_secs_f64() * 1e-12).max(1e-6);
    a.as_secs_f64() <= b.as_secs_f64() + tol
}

fn close(a: Duration, b: Duration) -> bool {
    at_most(a, b) && at_most(b, a)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Jobs' policy without jitter: exactly `base * factor^(n-1)` capped, so non-decreasing in
    /// the attempt and never above the cap, for any attempt number.
    #[test]
    fn job_backoff_without_jitter_doubles_to_the_cap(
        base in millis(),
        cap in millis(),
        n in attempt(),
        m in attempt(),
    ) {
        let p = RetryPolicy {
            base: Duration::from_millis(base),
            factor: 2.0,
            cap: Duration::from_millis(cap),
            jitter: 0.0,
        };
        let (lo, hi) = (n.min(m), n.max(m));
        let (a, b) = (p.delay_after(lo), p.delay_after(hi));
        prop_assert!(a <= b, "delay_after({lo}) = {a:?} > delay_after({hi}) = {b:?}");
        prop_assert!(at_most(b, p.cap), "{b:?} above the cap {:?}", p.cap);
        prop_assert!(close(p.delay_after(1), p.base.min(p.cap)), "{:?}", p.delay_after(1));
        prop_assert_eq!(p.delay_after(0), p.delay_after(1));
        // Once the doubled base reaches the cap it stays there.
        if base > 0 && cap / base < (1 << 40) {
            let at_cap = 2 + (cap / base).max(1).ilog2();
            let d = p.delay_after(at_cap.max(hi));
            prop_assert!(close(d, p.cap), "attempt {}: {d:?}, cap {:?}", at_cap.max(hi), p.cap);
        }
    }

    /// Jobs' and emails' policy with their ±20 % jitter: every delay is within the jitter of its
    /// nominal (capped) value, so a later attempt waits at least (1-j)/(1+j) of an earlier one,
    /// and nothing exceeds the cap by more than the jitter.
    #[test]
    fn job_backoff_with_jitter_stays_within_its_bounds(
        base in millis(),
        cap in millis(),
        n in attempt(),
        m in attempt(),
    ) {
        let j = 0.2;
        let p = RetryPolicy { base: Duration::from_millis(base), factor: 2.0, cap: Duration::from_millis(cap), jitter: j };
        let exact = RetryPolicy { jitter: 0.0, ..p };
        let (lo, hi) = (n.min(m), n.max(m));
        for k in [lo, hi] {
            let nominal = exact.delay_after(k).as_secs_f64();
            let got = p.delay_after(k).as_secs_f64();
            let slack = 1e-9 * nominal + 1e-9;
            prop_assert!(
                got >= nominal * (1.0 - j) - slack && got <= nominal * (1.0 + j) + slack,
                "attempt {k}: {got} outside {nominal} ± {j}"
            );
            prop_assert!(got <= p.cap.as_secs_f64() * (1.0 + j) + slack);
        }
        let (a, b) = (p.delay_after(lo).as_secs_f64(), p.delay_after(hi).as_secs_f64());
        prop_assert!(b >= a * (1.0 - j) / (1.0 + j) - 1e-9 * a - 1e-9, "{lo}: {a} then {hi}: {b}");
    }

    /// Tasks' Cloud Tasks policy over every valid setting: exactly the integer model of the
    /// README's rule (so `min_backoff` first, `max_doublings` doublings, then linear growth by
    /// the last doubled interval), non-decreasing, never above `max_backoff`.
    #[test]
    fn task_backoff_is_the_cloud_tasks_rule(
        min_ms in 0u64..=MAX_BACKOFF_LIMIT.as_millis() as u64,
        max_ms in 0u64..=MAX_BACKOFF_LIMIT.as_millis() as u64,
        sub_ms in 0u32..1_000_000,
        doublings in 0u32..=MAX_DOUBLINGS_LIMIT,
        n in attempt(),
        m in attempt(),
    ) {
        let (min_ms, max_ms) = (min_ms.min(max_ms), min_ms.max(max_ms));
        let c = RetryConfig {
            max_attempts: -1,
            min_backoff: Duration::from_millis(min_ms) + Duration::from_nanos(u64::from(sub_ms)).min(Duration::from_millis(max_ms - min_ms)),
            max_backoff: Duration::from_millis(max_ms),
            max_doublings: doublings,
            max_retry_duration: Duration::ZERO,
        };
        let (lo, hi) = (n.min(m), n.max(m));
        for k in [lo, hi] {
            prop_assert_eq!(c.backoff(k).as_millis(), cloud_tasks_model(&c, k), "attempt {}", k);
        }
        prop_assert!(c.backoff(lo) <= c.backoff(hi));
        prop_assert!(c.backoff(hi) <= c.max_backoff);
        prop_assert_eq!(c.backoff(1).as_millis(), c.min_backoff.as_millis());
    }

    /// Tasks' policy outside the validated settings (any durations in ms, any doublings,
    /// `min_backoff` above `max_backoff`): no panic, non-decreasing, capped.
    #[test]
    fn task_backoff_never_panics_and_stays_capped(
        min_ms in millis(),
        max_ms in millis(),
        doublings in any::<u32>(),
        n in attempt(),
        m in attempt(),
    ) {
        let c = RetryConfig {
            max_attempts: 100,
            min_backoff: Duration::from_millis(min_ms),
            max_backoff: Duration::from_millis(max_ms),
            max_doublings: doublings,
            max_retry_duration: Duration::ZERO,
        };
        let (lo, hi) = (n.min(m), n.max(m));
        prop_assert!(c.backoff(lo) <= c.backoff(hi));
        prop_assert!(at_most(c.backoff(hi), c.max_backoff));
        prop_assert!(at_most(c.backoff(u32::MAX), c.max_backoff));
    }

    /// Once a task's retrying is exhausted it stays exhausted for more failures and more time.
    #[test]
    fn task_exhaustion_is_monotonic(
        max_attempts in prop_oneof![Just(-1i64), 1i64..200],
        limit_s in prop_oneof![Just(0u64), 1u64..100_000],
        failed in attempt(),
        more in attempt(),
        since_s in 0u64..200_000,
        later_s in 0u64..200_000,
    ) {
        let c = RetryConfig {
            max_attempts,
            max_retry_duration: Duration::from_secs(limit_s),
            ..RetryConfig::default()
        };
        let since = Duration::from_secs(since_s);
        if c.exhausted(failed, since) {
            prop_assert!(c.exhausted(failed.saturating_add(more), since + Duration::from_secs(later_s)));
        }
        if max_attempts == -1 && limit_s == 0 {
            prop_assert!(!c.exhausted(failed, since));
        }
    }

    /// Events' published schedule: the delay after attempt `n` is the schedule's next entry (or
    /// the endpoint's `Retry-After`, at most a day), `None` past the last attempt, for any `n`.
    #[test]
    fn event_schedule_follows_the_published_list(
        delays in prop::collection::vec(0u64..=7 * 24 * 3600, 1..=50),
        retry_after in prop::option::of(prop_oneof![0u64..100_000, any::<u64>()]),
        n in attempt(),
    ) {
        let text = delays.iter().map(|s| format!("{s}s")).collect::<Vec<_>>().join(", ");
        let s = RetrySchedule::parse(&text).unwrap();
        prop_assert_eq!(s.attempts() as usize, delays.len());
        let ra = retry_after.map(Duration::from_secs);
        let got = s.after_failure(n, ra);
        match delays.get(n as usize) {
            None => prop_assert_eq!(got, None),
            Some(&d) => prop_assert_eq!(
                got,
                Some(ra.map_or(Duration::from_secs(d), |r| r.min(MAX_RETRY_AFTER)))
            ),
        }
        if let Some(d) = got {
            prop_assert!(d <= Duration::from_secs(7 * 24 * 3600));
        }
    }
}
