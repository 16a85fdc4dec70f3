//! Per-client limits on the public, unauthenticated routes: certificate verification (`/v/*`,
//! applied by its handler, which answers browsers with a page), tracking (`/t/*`) and gateway
//! deliveries (`/hooks/*`, before the body is read or the signature checked), the last two by
//! [`PublicLimits`] ahead of routing.
//!
//! Each client may make `per_minute` requests a minute, in bursts up to that many (a token
//! bucket). A client is an IPv4 address or an IPv6 /64 network (one host usually holds a whole
//! /64, so finer keys would let it mint buckets), as [`crate::client_ip`] finds it. Buckets live
//! in memory per API process: at most [`MAX_CLIENTS`] per limiter (the least used go first when
//! full), and a bucket idle for two minutes (by then it is full again) is dropped. With N API
//! processes a client gets up to N times the rate.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::problem::ApiError;

/// Most clients one limiter keeps a bucket for.
pub const MAX_CLIENTS: u64 = 100_000;

/// Tokens and the time they were counted.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The limiter; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Cache<IpAddr, Arc<Mutex<Bucket>>>,
}

/// The key of a client: its IPv4 address, or its IPv6 /64 network.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let net = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(net))
        }
        v4 => v4,
    }
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per client.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Cache::builder()
                .max_capacity(MAX_CLIENTS)
                .time_to_idle(Duration::from_secs(120))
                .build(),
        }
    }

    /// Takes a token for `client`: `Ok` if allowed, else `Err(seconds until the next token)`.
    pub fn check(&self, client: IpAddr) -> Result<(), u32> {
        let now = Instant::now();
        let capacity = self.per_minute;
        let bucket = self.buckets.get_with(client_key(client), || {
            Arc::new(Mutex::new(Bucket {
                tokens: capacity,
                at: now,
            }))
        });
        let mut b = bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let refill = now.duration_since(b.at).as_secs_f64() * capacity / 60.0;
        b.tokens = (b.tokens + refill).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) * 60.0 / capacity;
            Err(wait.ceil().max(1.0) as u32)
        }
    }
}

/// The limits [`crate::app`] applies before routing: `/t/*` (`LONGSHORE_TRACKING_RATE_PER_MINUTE`)
/// and `/hooks/*` (`LONGSHORE_HOOKS_RATE_PER_MINUTE`), each per client.
#[derive(Clone)]
pub struct PublicLimits {
    tracking: RateLimiter,
    hooks: RateLimiter,
}

impl PublicLimits {
    /// Limits allowing these many requests a minute per client.
    pub fn new(tracking_per_minute: u32, hooks_per_minute: u32) -> Self {
        PublicLimits {
            tracking: RateLimiter::new(tracking_per_minute),
            hooks: RateLimiter::new(hooks_per_minute),
        }
    }

    /// Takes a token for a request to `path` from `client`; `429` with `Retry-After` when the
    /// client is over its limit. Other paths pass.
    pub fn check(&self, path: &str, client: IpAddr) -> Result<(), ApiError> {
        let (limiter, group) = if path.starts_with("/t/") {
            (&self.tracking, "tracking")
        } else if path.starts_with("/hooks/") {
            (&self.hooks, "hooks")
        } else {
            return Ok(());
        };
        limiter.check(client).map_err(|wait| {
            longshore_jobs::metrics::rate_limited(group);
            ApiError::too_many_requests(wait)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limiter = RateLimiter::new(3);
        let a = ip("10.0.0.1");
        let b = ip("10.0.0.2");
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
        }
        let wait = limiter.check(a).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(limiter.check(b), Ok(()));
    }

    #[test]
    fn an_ipv6_client_is_its_64_network() {
        let limiter = RateLimiter::new(1);
        assert_eq!(limiter.check(ip("2001:db8:1:2::1")), Ok(()));
        assert!(limiter.check(ip("2001:db8:1:2:ffff::9")).is_err());
        assert_eq!(limiter.check(ip("2001:db8:1:3::1")), Ok(()));
        // An IPv4-mapped address is the IPv4 client.
        assert_eq!(limiter.check(ip("192.0.2.1")), Ok(()));
        assert!(limiter.check(ip("::ffff:192.0.2.1")).is_err());
    }

    #[test]
    fn tracking_and_hooks_have_their_own_limits_and_other_paths_none() {
        let limits = PublicLimits::new(1, 2);
        let a = ip("10.0.0.1");
        assert!(limits.check("/t/o/x", a).is_ok());
        let refused = limits.check("/t/c/y", a).unwrap_err();
        assert_eq!(refused.status(), poem::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(limits.check("/hooks/whe_1", a).is_ok());
        assert!(limits.check("/hooks/whe_1", a).is_ok());
        assert!(limits.check("/hooks/whe_1", a).is_err());
        for _ in 0..10 {
            assert!(limits.check("/v1/jobs", a).is_ok());
        }
    }
}
