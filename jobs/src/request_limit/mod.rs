//! Request limits per API key: a token bucket of `burst` requests refilled at `per_second`,
//! the deployment's default (`LONGSHORE_RATE_LIMIT_PER_SECOND` / `_BURST`) or the tenant's own.
//!
//! Two implementations, one meaning: [`redis::RedisRequestLimits`] shares each key's bucket
//! between every API process (production), [`local::LocalRequestLimits`] keeps it in the one
//! embedded process. Both run [`decide`], the bucket as GCRA (the generic cell rate algorithm:
//! one stored number per key, the theoretical arrival time), in Rust or step for step in Lua.
//!
//! Written here rather than taken from `governor`: governor's keyed limiter has one quota for
//! every key, where each tenant here has its own and can change it at run time, and it cannot
//! share state between processes. The whole algorithm is [`decide`], a dozen lines.

pub mod local;
pub mod redis;

use async_trait::async_trait;

use crate::db::tenants::RateLimit;

/// What a request was told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The request may go on.
    pub allowed: bool,
    /// The bucket's size (`RateLimit-Limit`).
    pub limit: u32,
    /// Requests still allowed right now (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Milliseconds until the bucket is full again (`RateLimit-Reset`).
    pub reset_ms: u64,
    /// When refused: milliseconds until one request is allowed (`Retry-After`).
    pub retry_after_ms: u64,
}

/// Why a limit could not be checked (its store is unreachable). The API lets the request
/// through: a limit is a guard, never a reason to be unavailable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("request limits unavailable: {0}")]
pub struct LimitsUnavailable(pub String);

/// Counts requests against per-key limits.
#[async_trait]
pub trait RequestLimits: Send + Sync {
    /// Takes one request from `key`'s bucket under `limit` (`per_second` ≥ 1).
    async fn take(&self, key: &str, limit: RateLimit) -> Result<Verdict, LimitsUnavailable>;
}

/// The emission interval of `limit` in ms: one token per interval.
fn interval_ms(limit: RateLimit) -> f64 {
    1000.0 / f64::from(limit.per_second.max(1))
}

/// Float noise allowed when comparing times: stored times are absolute milliseconds (about
/// 1.8e12), whose last bits are worth about a quarter of a microsecond.
const SLACK_MS: f64 = 1e-3;

/// GCRA: one request at `now` (ms) against a bucket whose theoretical arrival time is `tat`
/// (`None`: never used, or expired, which is the same: full). Returns the verdict and the new
/// `tat` to store (unchanged when refused).
///
/// Worked in times relative to `now` (the backlog: how far the schedule runs ahead of now), so
/// a full bucket is exactly 0 and never refused by rounding.
pub fn decide(tat: Option<f64>, now: f64, limit: RateLimit) -> (Verdict, f64) {
    let t = interval_ms(limit);
    // How far ahead of now the schedule may run: `burst - 1` intervals.
    let room = f64::from(limit.burst.max(1) - 1) * t;
    let backlog = tat.map_or(0.0, |v| (v - now).max(0.0));
    if backlog > room + SLACK_MS {
        let verdict = Verdict {
            allowed: false,
            limit: limit.burst,
            remaining: 0,
            reset_ms: backlog.ceil() as u64,
            retry_after_ms: (backlog - room).ceil() as u64,
        };
        return (verdict, now + backlog);
    }
    let verdict = Verdict {
        allowed: true,
        limit: limit.burst,
        remaining: ((room - backlog).max(0.0) / t + 1e-6).floor() as u32,
        reset_ms: (backlog + t).ceil() as u64,
        retry_after_ms: 0,
    };
    (verdict, now + backlog + t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        per_second: 10,
        burst: 3,
    };

    #[test]
    fn a_full_bucket_allows_the_burst_then_one_per_interval() {
        let mut tat = None;
        let mut remaining = Vec::new();
        for _ in 0..3 {
            let (v, next) = decide(tat, 0.0, LIMIT);
            assert!(v.allowed);
            remaining.push(v.remaining);
            tat = Some(next);
        }
        assert_eq!(remaining, vec![2, 1, 0]);
        let (refused, same) = decide(tat, 0.0, LIMIT);
        assert!(!refused.allowed);
        assert!(
            (same - tat.unwrap()).abs() < 1e-9,
            "a refusal takes nothing"
        );
        assert_eq!(refused.retry_after_ms, 100);
        assert_eq!(refused.reset_ms, 300);
        // One interval later exactly one more request goes through.
        let (v, next) = decide(tat, 100.0, LIMIT);
        assert!(v.allowed && v.remaining == 0);
        assert!(!decide(Some(next), 100.0, LIMIT).0.allowed);
        // After a long pause the bucket is full again, not fuller.
        let (v, _) = decide(Some(next), 10_000.0, LIMIT);
        assert_eq!((v.allowed, v.remaining), (true, 2));
    }

    #[test]
    fn a_first_request_is_always_allowed_whatever_the_rate() {
        for per_second in [1, 3, 7, 10, 33, 999, 1_000_000] {
            for now in [0.0, 1.0, 1_765_432_101_234.567, 98_765.25] {
                let limit = RateLimit {
                    per_second,
                    burst: 1,
                };
                let (v, _) = decide(None, now, limit);
                assert!(v.allowed && v.remaining == 0, "{per_second}/s at {now}");
                let three = RateLimit {
                    per_second,
                    burst: 3,
                };
                assert_eq!(
                    decide(None, now, three).0.remaining,
                    2,
                    "{per_second}/s at {now}"
                );
            }
        }
    }

    #[test]
    fn over_a_long_run_the_rate_holds() {
        // 1,000 attempts every 10 ms for 10 s at 10/s with a burst of 3: 100 + 3 allowed.
        let mut tat = None;
        let mut allowed = 0;
        for i in 0..1000 {
            let (v, next) = decide(tat, f64::from(i) * 10.0, LIMIT);
            if v.allowed {
                allowed += 1;
            }
            tat = Some(next);
        }
        assert!((100..=103).contains(&allowed), "{allowed}");
    }
}
