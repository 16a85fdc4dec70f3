//! A per-client token bucket for public endpoints (certificate verification): each client IP may
//! make `per_minute` requests a minute, in bursts up to that many. Buckets live in memory per API
//! process (bounded, idle ones expire), so with N API processes a client gets up to N times the
//! rate; behind a proxy every client shares the proxy's address.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

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

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per client.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(120))
                .build(),
        }
    }

    /// Takes a token for `client`: `Ok` if allowed, else `Err(seconds until the next token)`.
    pub fn check(&self, client: IpAddr) -> Result<(), u32> {
        let now = Instant::now();
        let capacity = self.per_minute;
        let bucket = self.buckets.get_with(client, || {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limiter = RateLimiter::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
        }
        let wait = limiter.check(a).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(limiter.check(b), Ok(()));
    }
}
