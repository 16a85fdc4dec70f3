//! `wait_for_work`: wake within milliseconds of a push, without polling, and without ever
//! blocking the shared multiplexed connection.
//!
//! Strategy: one probe round trip on the shared connection (ready length, earliest delayed
//! `run_at`, earliest lease expiry). If something is runnable now, return at once. Otherwise
//! block on a *dedicated* connection with `BLMOVE ready ready RIGHT RIGHT <t>`: popping the tail
//! and pushing it back onto the tail leaves the list unchanged, but the call returns the moment
//! the list becomes non-empty. `t` is capped by the caller's timeout, the earliest delayed job
//! and the earliest lease expiry, so due jobs and lost workers are noticed on time. A job
//! scheduled *during* a wait for a time before the wait ends is noticed at the latest when the
//! wait ends (so callers should pass timeouts of about a second). Requires Redis ≥ 6.2.
//!
//! Dedicated connections come from a small pool (one per concurrent waiter). A connection whose
//! call failed, timed out or was abandoned is dropped, never reused; the next wait opens a new
//! one. While Redis is unreachable each failed wait sleeps a growing backoff (≤ 2 s, never more
//! than the caller's timeout) before reporting `Unavailable`, so a worker loop cannot spin.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError};

/// Extra time allowed past the server-side timeout before the client gives up on the reply.
const REPLY_SLACK: Duration = Duration::from_secs(2);
/// Idle dedicated connections kept for reuse.
const MAX_IDLE: usize = 16;
/// First and longest backoff after a failed wait.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The pool of dedicated connections for blocking calls, and the failure backoff.
pub(super) struct Blocking {
    client: Client,
    config: AsyncConnectionConfig,
    idle: Mutex<Vec<MultiplexedConnection>>,
    failures: AtomicU32,
}

/// What the probe saw, reduced to how long the waiter may block.
pub(super) enum Plan {
    /// Runnable work exists (or will within a millisecond): return now.
    Now,
    /// Block on the ready list for at most this long.
    Block(Duration),
}

impl Blocking {
    pub(super) fn new(client: Client, connect_timeout: Duration) -> Self {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(None);
        Blocking {
            client,
            config,
            idle: Mutex::new(Vec::new()),
            failures: AtomicU32::new(0),
        }
    }

    /// Blocks until `ready` is non-empty or `wait` passes.
    ///
    /// A pooled connection may have died with a Redis restart since it was last used; if it
    /// fails, the wait is tried once more on a fresh connection before the error is reported.
    pub(super) async fn wait_non_empty(
        &self,
        ready: &str,
        wait: Duration,
    ) -> Result<(), RedisError> {
        if let Some(conn) = self.take_idle()
            && self.block_on(conn, ready, wait).await.is_ok()
        {
            return Ok(());
        }
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        self.block_on(conn, ready, wait).await
    }

    /// One `BLMOVE` on `conn`; the connection goes back to the pool only after a clean answer.
    async fn block_on(
        &self,
        mut conn: MultiplexedConnection,
        ready: &str,
        wait: Duration,
    ) -> Result<(), RedisError> {
        let mut cmd = redis::cmd("BLMOVE");
        cmd.arg(ready)
            .arg(ready)
            .arg("RIGHT")
            .arg("RIGHT")
            .arg(blocking_timeout_arg(wait));
        let reply = cmd.query_async::<redis::Value>(&mut conn);
        match tokio::time::timeout(wait + REPLY_SLACK, reply).await {
            Ok(Ok(_)) => {
                self.put_idle(conn);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "blocking wait got no reply",
            ))),
        }
    }

    /// Records a success: the next failure starts the backoff from the bottom again.
    pub(super) fn succeeded(&self) {
        self.failures.store(0, Ordering::Relaxed);
    }

    /// Sleeps the backoff for the latest consecutive failure (at most `cap`).
    pub(super) async fn back_off(&self, cap: Duration) {
        let n = self.failures.fetch_add(1, Ordering::Relaxed).min(10);
        let delay = BACKOFF_MIN.saturating_mul(1 << n).min(BACKOFF_MAX).min(cap);
        tokio::time::sleep(delay).await;
    }

    fn take_idle(&self) -> Option<MultiplexedConnection> {
        self.idle.lock().ok()?.pop()
    }

    fn put_idle(&self, conn: MultiplexedConnection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
    }
}

/// Decides from the probe (`ready` length, earliest delayed and leased scores) how long to block.
pub(super) fn plan(
    now: i64,
    timeout: Duration,
    ready_len: i64,
    earliest_delayed: Option<f64>,
    earliest_lease: Option<f64>,
) -> Plan {
    if ready_len > 0 {
        return Plan::Now;
    }
    let mut wait = timeout;
    for score in [earliest_delayed, earliest_lease].into_iter().flatten() {
        // Scores are whole milliseconds; the float keeps them exactly (< 2^53).
        let until = (score as i64).saturating_sub(now);
        if until <= 0 {
            return Plan::Now;
        }
        wait = wait.min(Duration::from_millis(until as u64));
    }
    if wait < Duration::from_millis(1) {
        Plan::Now
    } else {
        Plan::Block(wait)
    }
}

/// The server-side timeout in seconds, rounded up to whole milliseconds and never `0`
/// (which would mean "block forever").
fn blocking_timeout_arg(wait: Duration) -> String {
    let ms = wait.as_micros().div_ceil(1000).max(1);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_argument_is_never_zero() {
        assert_eq!(blocking_timeout_arg(Duration::ZERO), "0.001");
        assert_eq!(blocking_timeout_arg(Duration::from_millis(1500)), "1.500");
        assert_eq!(blocking_timeout_arg(Duration::from_secs(30)), "30.000");
    }

    #[test]
    fn the_wait_is_capped_by_due_work() {
        let t = Duration::from_secs(5);
        assert!(matches!(plan(1_000, t, 1, None, None), Plan::Now));
        assert!(matches!(plan(1_000, t, 0, Some(900.0), None), Plan::Now));
        assert!(matches!(plan(1_000, t, 0, None, Some(1_000.0)), Plan::Now));
        assert!(matches!(
            plan(1_000, Duration::ZERO, 0, None, None),
            Plan::Now
        ));
        let Plan::Block(w) = plan(1_000, t, 0, Some(1_250.0), Some(3_000.0)) else {
            panic!("expected to block")
        };
        assert_eq!(w, Duration::from_millis(250));
        let Plan::Block(w) = plan(1_000, t, 0, None, None) else {
            panic!("expected to block")
        };
        assert_eq!(w, t);
    }
}
