//! Wall-clock time as the queue stores it: milliseconds since the Unix epoch.
//!
//! This host's clock stamps records (`created_at`, `updated_at`) and computes a client's
//! schedule previews. Nothing that decides *when work runs* reads it: leases, takeovers and due
//! retries use the Redis server's clock (`TIME` inside the queue scripts); the scheduler asks
//! the database what time it is ([`crate::db::Db::now_ms`]); an email's send claim and an event
//! delivery's lease, due time and retry time are set and compared by the database's clock
//! inside their statements ([`crate::db::Dialect::now_sql`]; the process passes durations,
//! never instants). So a worker or scheduler whose clock is off can neither steal a live lease
//! or claim nor fire a tick early.
//!
//! `LONGSHORE_TEST_CLOCK_OFFSET_MS` ([`skew_for_tests`]) shifts this host clock by that many
//! milliseconds (positive: fast). It exists only so tests can start a deliberately skewed
//! process; never set it in production.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// The test-only skew of this process's clock.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Skews this process's clock by `ms` (tests only; set from the configuration at start).
pub fn skew_for_tests(ms: i64) {
    OFFSET_MS.store(ms, Ordering::Relaxed);
}

/// Milliseconds since the Unix epoch, the unit every backend stores.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis() + OFFSET_MS.load(Ordering::Relaxed)
}

/// This host's time.
pub fn now() -> DateTime<Utc> {
    from_ms(now_ms())
}

/// Converts stored milliseconds back into a UTC time for the API.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
