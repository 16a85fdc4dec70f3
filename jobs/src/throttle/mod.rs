//! Dispatch limits for HTTP-task queues, shared by every worker process.
//!
//! Each task queue (a `key` such as `"tenant/queue"`) has a dispatch rate with a burst
//! ([`Limits::per_second`], [`Limits::burst`]) and a cap on dispatches in flight
//! ([`Limits::max_concurrent`]). All task queues run from one worker queue, so a worker that
//! picks a task whose queue has no capacity must not block: [`Throttle::admit`] answers
//! [`Admission::Wait`] and the caller puts the job back for that long.
//!
//! Two implementations with the same semantics: [`redis::RedisThrottle`] (production: every
//! worker process shares the state, on the Redis server's clock) and [`local::LocalThrottle`]
//! (the embedded mode's single worker process; a monotonic clock).
//!
//! ## Semantics
//!
//! - **Rate**: GCRA (the generic cell rate algorithm) with *per-job slot reservation*. Slots are
//!   `1 / per_second` apart; up to `burst` of them may be taken at once. A job without a slot
//!   takes the next one; if that slot is in the future the answer is `Wait(until the slot)` and
//!   the slot stays reserved for that job, so when it comes back it goes instead of queueing at
//!   the end again. A backlog is thus spread over future slots rather than every waiting task
//!   retrying at the same instant.
//! - **Late jobs**: a reservation is honoured until [`RESERVATION_GRACE`] after its slot. A job
//!   later than that takes a new slot (its old one is wasted). The grace bounds how far late
//!   jobs can push short-term admissions above the GCRA bound (by at most `per_second × grace`
//!   in the worst case where every job is late), while tolerating a busy worker queue.
//! - **Concurrency**: the jobs in flight are kept with the time their hold expires (`hold` in
//!   [`Throttle::admit`]), so a dead worker's slot frees itself. When all slots are taken the
//!   answer is a short jittered wait ([`CONCURRENCY_RETRY_MIN`]..[`CONCURRENCY_RETRY_MAX`]) and
//!   the rate state is left alone: a job does not burn a rate slot it cannot use. A job whose
//!   slot is due but which finds the concurrency cap full keeps its reservation (its grace is
//!   renewed), so it is not pushed to the back of the backlog by a slow endpoint.
//! - **Idempotent admission**: admitting a job that already holds a concurrency slot answers
//!   `Go` again (renewing its hold) without taking a second concurrency slot or a rate slot,
//!   so retrying an `admit` whose reply was lost is safe.
//! - **Hold-off**: after a 429/503 with `Retry-After`, [`Throttle::hold_off`] stops admissions
//!   until then. The schedule is paused, not skipped: reserved slots move back by the length
//!   of the pause, so the backlog resumes at the configured rate instead of all at once.

pub mod local;

pub mod redis;
mod schedule;

use std::time::Duration;

use async_trait::async_trait;

/// How long after its slot a reservation is still honoured.
pub const RESERVATION_GRACE: Duration = Duration::from_secs(1);
/// Shortest wait answered when the concurrency cap is full.
///
/// A finished dispatch frees a slot at an unpredictable time, so there is no exact instant to
/// come back at. 200–500 ms keeps the extra latency small for HTTP calls (which take tens to
/// hundreds of milliseconds) while a full queue costs each waiting job only 2–5 admits a
/// second; the jitter keeps waiting jobs from coming back in lockstep.
pub const CONCURRENCY_RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest wait answered when the concurrency cap is full (see [`CONCURRENCY_RETRY_MIN`]).
pub const CONCURRENCY_RETRY_MAX: Duration = Duration::from_millis(500);

/// The dispatch limits of one task queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Sustained dispatches per second (finite, > 0).
    pub per_second: f64,
    /// Dispatches that may go at once after an idle period (≥ 1).
    pub burst: u32,
    /// Dispatches in flight at once; 0 means unlimited.
    pub max_concurrent: u32,
}

impl Limits {
    /// Checked limits: refuses a rate that is not finite and positive, and a zero burst.
    pub fn new(per_second: f64, burst: u32, max_concurrent: u32) -> Result<Self, ThrottleError> {
        let limits = Limits {
            per_second,
            burst,
            max_concurrent,
        };
        limits.check()?;
        Ok(limits)
    }

    /// Every operation checks the limits it is given, because the fields are public.
    fn check(&self) -> Result<(), ThrottleError> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(ThrottleError::InvalidLimits(
                "per_second must be finite and > 0",
            ));
        }
        if self.burst == 0 {
            return Err(ThrottleError::InvalidLimits("burst must be at least 1"));
        }
        Ok(())
    }

    /// Milliseconds between two slots.
    fn interval_ms(&self) -> f64 {
        1000.0 / self.per_second
    }
}

/// The answer to [`Throttle::admit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Dispatch now; call [`Throttle::release`] with the permit when the dispatch ends.
    Go(Permit),
    /// No capacity: put the job back and admit it again after this long.
    Wait(Duration),
}

/// A held concurrency slot: what [`Throttle::release`] needs to free it.
///
/// Plain data, so a permit can be rebuilt with [`Permit::new`] (e.g. by a process that took
/// over the job) and released there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    key: String,
    job: String,
}

impl Permit {
    /// The permit of `job` on the task queue `key`.
    pub fn new(key: impl Into<String>, job: impl Into<String>) -> Self {
        Permit {
            key: key.into(),
            job: job.into(),
        }
    }

    /// The task queue.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The job holding the slot.
    pub fn job(&self) -> &str {
        &self.job
    }
}

/// Why a throttle operation failed. Callers should treat every variant as "try later" for the
/// job (put it back with a delay), except [`ThrottleError::InvalidLimits`], a configuration bug.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// The limits break their documented bounds.
    #[error("invalid dispatch limits: {0}")]
    InvalidLimits(&'static str),
    /// The shared store (Redis) could not be reached or failed.
    #[error("throttle store unavailable: {0}")]
    Unavailable(String),
    /// The store answered something this code never writes.
    #[error("unexpected throttle reply: {0}")]
    Corrupt(String),
}

/// Admission control for dispatches, shared by every worker process.
#[async_trait]
pub trait Throttle: Send + Sync + 'static {
    /// Decides whether `job` may be dispatched now on the task queue `key`.
    ///
    /// `hold` is how long the concurrency slot is held at most if the worker dies without
    /// releasing it (the dispatch deadline plus a margin). Never blocks for capacity.
    async fn admit(
        &self,
        key: &str,
        job: &str,
        limits: &Limits,
        hold: Duration,
    ) -> Result<Admission, ThrottleError>;

    /// Frees the concurrency slot of a finished dispatch (a no-op if it already expired).
    async fn release(&self, permit: &Permit) -> Result<(), ThrottleError>;

    /// Frees several slots; a store may do it in one round trip.
    async fn release_many(&self, permits: &[Permit]) -> Result<(), ThrottleError> {
        for permit in permits {
            self.release(permit).await?;
        }
        Ok(())
    }

    /// The endpoint answered 429/503 with `Retry-After`: no admissions for `key` before
    /// now + `delay`. A shorter hold-off than one already in force changes nothing.
    async fn hold_off(&self, key: &str, delay: Duration) -> Result<(), ThrottleError>;
}

/// A jittered wait in [`CONCURRENCY_RETRY_MIN`]..=[`CONCURRENCY_RETRY_MAX`].
fn concurrency_retry() -> Duration {
    let min = CONCURRENCY_RETRY_MIN.as_millis() as u64;
    let max = CONCURRENCY_RETRY_MAX.as_millis() as u64;
    Duration::from_millis(rand::random_range(min..=max))
}

/// Whole milliseconds to wait for a gap of `ms` (rounded up, so a job never comes back early).
fn wait_ms(ms: f64) -> Duration {
    Duration::from_millis(ms.max(0.0).ceil() as u64)
}
