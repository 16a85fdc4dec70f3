//! The job record and the words the queue speaks: states, leases, outcomes, filters.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::{JobId, TenantId};
use crate::words::word_enum;

word_enum!(
    /// Where a job stands. Terminal states are `succeeded`, `dead` and `cancelled`.
    JobState {
        /// Ready to run now.
        Queued => "queued",
        /// Waiting for its `run_at`.
        Scheduled => "scheduled",
        /// Leased by a worker.
        Running => "running",
        /// Failed an attempt; waiting for its backoff to pass.
        Retrying => "retrying",
        /// Finished without error.
        Succeeded => "succeeded",
        /// Out of attempts, or failed permanently; kept for inspection and manual retry.
        Dead => "dead",
        /// Withdrawn: before it ran, or while it ran (its handler told to stop, and stopped
        /// after a deadline; see [`JobRecord::cancel_requested_at`]).
        Cancelled => "cancelled",
    }
);

impl JobState {
    /// True once nothing more will happen to the job on its own.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Dead | JobState::Cancelled
        )
    }

    /// True while a cancel request can still stop the job: at once when it has not started,
    /// through its worker when it is `running`.
    pub fn is_cancellable(self) -> bool {
        matches!(
            self,
            JobState::Queued | JobState::Scheduled | JobState::Retrying | JobState::Running
        )
    }
}

/// A job as the queue stores it. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub tenant: TenantId,
    /// The registered job type, e.g. `diagnostic.noop`.
    pub job_type: String,
    /// The queue that runs this type, e.g. `default` or `email`.
    pub queue: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// Attempts started so far (a lease taken counts, even if its worker died).
    pub attempts: u32,
    pub max_attempts: u32,
    /// When the job may next run.
    pub run_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the latest attempt started.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub last_error: Option<String>,
    /// The request that created the job, carried into the job's logs.
    pub request_id: Option<String>,
    /// The worker holding (or last holding) the lease.
    pub worker: Option<String>,
    /// When a cancel was asked for while the job was `running`: its worker tells the handler
    /// at its next lease renewal and ends the job `cancelled`. Never set on a job that was
    /// cancelled before it started.
    #[serde(default)]
    pub cancel_requested_at: Option<i64>,
}

/// What a producer hands the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    pub tenant: TenantId,
    pub job_type: String,
    pub queue: String,
    pub payload: serde_json::Value,
    pub max_attempts: u32,
    /// `None` means now.
    pub run_at: Option<i64>,
    pub request_id: Option<String>,
}

/// The answer to an enqueue: the stored job, and whether this call created it.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub job: JobRecord,
    /// False when a job with the same id already existed (the enqueue was a no-op).
    pub created: bool,
}

/// A worker process's identity, unique per start (host, pid and a random suffix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkerId(pub String);

impl WorkerId {
    /// A fresh identity for this process start.
    pub fn generate(role: &str) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        let suffix: u32 = rand::random();
        WorkerId(format!("{role}-{host}-{}-{suffix:08x}", std::process::id()))
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fencing token: which attempt's lease an ack or renewal speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaseToken(pub String);

impl LeaseToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        let n: u64 = rand::random();
        LeaseToken(format!("{n:016x}"))
    }
}

/// Enough to speak for one leased job: renew it, or complete it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseRef {
    pub queue: String,
    pub id: JobId,
    pub token: LeaseToken,
}

/// A job handed to a worker, with the lease that lets it finish the job.
#[derive(Debug, Clone, PartialEq)]
pub struct Leased {
    pub job: JobRecord,
    pub lease: LeaseRef,
    /// Set when the job is handed over to be buried, not run: its last attempt's lease lapsed
    /// (the worker was lost), so it has no attempt left. The worker records it `dead` with this
    /// reason through the same path as any other death (the `job.dead` event, the kind's
    /// `on_dead`), under this lease; `attempts` is not incremented. A burial whose own lease
    /// lapses is handed over again.
    pub bury: Option<String>,
}

/// How an attempt ended, as decided by the worker's retry policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded,
    /// Run again after `delay`; the error is kept as `last_error`.
    Retry {
        error: String,
        delay: Duration,
    },
    /// Give up: permanent error or attempts exhausted.
    Dead {
        error: String,
    },
    /// Handed back unstarted (a worker shutting down with prefetched jobs): the job returns to
    /// `queued` at once and the attempt taken at fetch is given back (attempts - 1).
    Released,
    /// Not run: a limit said wait (a task queue's rate, its concurrency, a pause). Back to
    /// `scheduled` at now + `delay`, the attempt taken at fetch given back, `last_error` kept.
    Deferred {
        delay: Duration,
    },
    /// Stopped because a cancel was requested while it ran: `cancelled`, kept for the
    /// cancelled retention, `reason` recorded as `last_error`.
    Cancelled {
        reason: String,
    },
}

/// Whether a completion was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStatus {
    Applied,
    /// Accepted, but the job ended `cancelled` instead: a cancel was requested while it ran and
    /// the outcome would have run it again (a retry, a deferral, a release).
    Cancelled,
    /// The lease was lost (expired and re-leased, or already completed): fenced off.
    Stale,
}

/// What a lease renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseStatus {
    /// Renewed; run on.
    Held,
    /// Renewed, but a cancel was requested: tell the handler to stop.
    CancelRequested,
    /// The lease was lost (expired and re-leased, or already completed): fenced off.
    Lost,
}

/// Filters for listing a tenant's jobs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub job_type: Option<String>,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass it back to get the next page. `None` at the end.
    pub next_cursor: Option<String>,
}

/// How long finished jobs stay readable before the queue forgets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub succeeded: Duration,
    pub cancelled: Duration,
    pub dead: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            succeeded: Duration::from_secs(24 * 3600),
            cancelled: Duration::from_secs(24 * 3600),
            dead: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Retention {
    /// How long a job that just entered `state` is kept, if it is terminal.
    pub fn for_state(&self, state: JobState) -> Option<Duration> {
        match state {
            JobState::Succeeded => Some(self.succeeded),
            JobState::Cancelled => Some(self.cancelled),
            JobState::Dead => Some(self.dead),
            _ => None,
        }
    }
}
