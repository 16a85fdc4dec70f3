//! Per-key job rate limits that a job kind declares: "at most N of these jobs a minute per key",
//! where the key is something the job only knows once it runs (an email's recipient domain).
//! Every worker shares the limit through the dispatch throttle ([`crate::throttle`]: Redis in
//! production, in the worker process embedded), so it holds whatever the number of workers.
//!
//! A job over the limit is not run: its kind returns the [`JobError::Defer`] this gives, the
//! job goes back to `scheduled` until its reserved slot with its attempt given back, and when it
//! comes back it takes that slot before newer jobs (the throttle's per-job reservation). Like
//! Sidekiq Enterprise's and BullMQ Pro's rate limiters keyed by a value, with the queue doing the
//! waiting instead of a worker thread.

use std::time::Duration;

use crate::error::JobError;
use crate::ids::JobId;
use crate::throttle::{Admission, Limits, Throttle};

/// How long a job over its limit waits when the throttle's store cannot be reached.
const UNAVAILABLE_RECHECK: Duration = Duration::from_secs(2);
/// How long an admitted job counts as in flight (the limits here have no concurrency cap, so
/// it only makes a repeated admission of the same attempt idempotent).
const HOLD: Duration = Duration::from_secs(60);

/// A rate a job kind declares: at most `per_minute` jobs a minute per key, in bursts of up to a
/// sixth of that (ten seconds' worth) after a quiet spell. `per_minute` 0: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRate {
    /// What is limited, for the throttle's key and the logs, e.g. `email.domain`.
    pub name: &'static str,
    pub per_minute: u32,
}

impl KeyRate {
    fn limits(&self) -> Option<Limits> {
        if self.per_minute == 0 {
            return None;
        }
        let burst = (self.per_minute / 6).max(1);
        Limits::new(f64::from(self.per_minute) / 60.0, burst, 0).ok()
    }
}

/// Takes `job`'s slot of `rate` for each of `keys` (say, every recipient domain of an email).
/// `Ok` when every key admits it now; otherwise [`JobError::Defer`] until the latest slot it
/// reserved (the slots it was given are kept for it: the throttle remembers them per job).
pub async fn take_slots(
    throttle: &dyn Throttle,
    rate: KeyRate,
    keys: impl IntoIterator<Item = &str>,
    job: &JobId,
) -> Result<(), JobError> {
    let Some(limits) = rate.limits() else {
        return Ok(());
    };
    let mut wait = Duration::ZERO;
    for key in keys {
        let throttle_key = format!("job-rate/{}/{key}", rate.name);
        match throttle
            .admit(&throttle_key, job.as_str(), &limits, HOLD)
            .await
        {
            Ok(Admission::Go(_)) => {}
            Ok(Admission::Wait(delay)) => {
                tracing::debug!(
                    limit = rate.name,
                    key,
                    delay_ms = delay.as_millis() as u64,
                    "over its rate limit; deferred"
                );
                wait = wait.max(delay);
            }
            Err(e) => {
                tracing::warn!(limit = rate.name, error = %e, "rate limit store unreachable; deferring");
                wait = wait.max(UNAVAILABLE_RECHECK);
            }
        }
    }
    if wait.is_zero() {
        Ok(())
    } else {
        Err(JobError::Defer { delay: wait })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::local::LocalThrottle;

    const DOMAIN: KeyRate = KeyRate {
        name: "email.domain",
        per_minute: 60,
    };

    #[tokio::test]
    async fn a_key_over_its_rate_defers_until_its_slot_and_keys_do_not_share() {
        let throttle = LocalThrottle::new();
        // 60 a minute: bursts of 10, then one a second.
        for _ in 0..10 {
            take_slots(&throttle, DOMAIN, ["example.com"], &JobId::new())
                .await
                .expect("within the burst");
        }
        let late = JobId::new();
        let deferred = take_slots(&throttle, DOMAIN, ["example.com"], &late).await;
        let Err(JobError::Defer { delay }) = deferred else {
            panic!("over the rate: {deferred:?}");
        };
        assert!(
            delay > Duration::ZERO && delay <= Duration::from_secs(1),
            "{delay:?}"
        );
        take_slots(&throttle, DOMAIN, ["example.org"], &JobId::new())
            .await
            .expect("another domain has its own rate");
        // The deferred job's slot is kept for it: asking again before it answers the same wait
        // (or less), never a later one.
        let again = take_slots(&throttle, DOMAIN, ["example.com"], &late).await;
        let Err(JobError::Defer { delay: second }) = again else {
            panic!("{again:?}");
        };
        assert!(second <= delay, "{second:?} after {delay:?}");
    }

    #[tokio::test]
    async fn a_zero_rate_is_no_limit() {
        let throttle = LocalThrottle::new();
        let off = KeyRate {
            name: "email.domain",
            per_minute: 0,
        };
        for _ in 0..1000 {
            take_slots(&throttle, off, ["example.com"], &JobId::new())
                .await
                .expect("no limit");
        }
    }
}
