//! The queue contract every backend honours, and the backends themselves.
//!
//! apalis's worker runtime runs jobs; this module owns the guarantees around it: durable retries
//! with backoff, leases that expire when a worker dies (and count as an attempt), fenced acks,
//! idempotent enqueue by job id, and bounded retention. The conformance suite in
//! `jobs/tests/conformance` proves each backend against this contract.

mod model;
pub mod redis;
pub mod sqlite;

pub use model::*;

use std::time::Duration;

use async_trait::async_trait;

use crate::ids::{JobId, TenantId};

/// How both backends begin the error they record for an attempt whose lease expired (its
/// worker died or stalled): `lease expired: worker lost (attempt N of M)`. The Redis scripts
/// and the SQLite statements spell it out; metrics recognise it by this prefix.
pub const LEASE_EXPIRED: &str = "lease expired: worker lost";

/// The queues workers serve. A job type names one of them.
pub const QUEUES: [&str; 6] = [
    "default",
    "email",
    "documents",
    "payments",
    "reports",
    "tasks",
];

/// Why a queue operation failed. `Unavailable` is the one callers retry (and the API maps to 503).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The backend could not be reached or answered with an error; try again later.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// No such job for this tenant.
    #[error("job not found")]
    NotFound,
    /// The job exists but is not in a state that allows the operation.
    #[error("job is {0}")]
    InvalidState(JobState),
    /// Stored data could not be decoded (a bug or manual tampering).
    #[error("corrupt job record: {0}")]
    Corrupt(String),
    /// A listing cursor that no page of this backend handed out (the caller's bad input).
    #[error("invalid list cursor")]
    InvalidCursor,
}

/// A queue backend (Redis in production, SQLite embedded).
///
/// Each method is one logical operation and, for Redis, one round trip.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Stores a job. Idempotent on `job.id`: an existing job is returned unchanged with
    /// `created: false`. A job with `run_at` in the future starts `scheduled`.
    async fn enqueue(&self, job: NewJob) -> Result<Enqueued, QueueError>;

    /// Stores several jobs: one result per job, in order, each exactly what [`Queue::enqueue`]
    /// of that job would return (idempotent on its id). Not atomic across jobs. Backends may
    /// do it in one round trip; the default enqueues one job after the other.
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Vec<Result<Enqueued, QueueError>> {
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            out.push(self.enqueue(job).await);
        }
        out
    }

    /// Leases up to `max` runnable jobs of `queue` to `worker` for `lease`.
    ///
    /// Fair between tenants: tenants with runnable jobs take turns (round robin, each tenant's
    /// jobs oldest first), so one tenant's burst does not hold the queue while another's jobs
    /// wait; a tenant with as many jobs running as the backend's `tenant_concurrency` cap gets
    /// none until some finish.
    ///
    /// Before taking jobs it promotes due scheduled/retrying jobs and reclaims expired leases:
    /// a reclaimed job with attempts left runs again; one without is leased to this worker
    /// for burial ([`Leased::bury`]: recorded `dead` by the worker, never run), counting
    /// towards `max`. Each job leased to run has its `attempts` incremented. Never blocks.
    async fn fetch(
        &self,
        queue: &str,
        worker: &WorkerId,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Leased>, QueueError>;

    /// Waits until `queue` may have runnable work, or `timeout` passes. Spurious wake-ups are allowed.
    async fn wait_for_work(&self, queue: &str, timeout: Duration) -> Result<(), QueueError>;

    /// Extends the given leases to now + `lease`; one status per lease: `Lost` if it was lost,
    /// `CancelRequested` if it was renewed but a cancel was asked for since the job started.
    async fn renew(
        &self,
        leases: &[LeaseRef],
        lease: Duration,
    ) -> Result<Vec<LeaseStatus>, QueueError>;

    /// Records an attempt's outcome, fenced by the lease token. When a cancel was requested
    /// while the job ran, an outcome that would run it again (retry, deferral, release) ends it
    /// `cancelled` instead ([`AckStatus::Cancelled`]); a lapsed lease of such a job ends it
    /// `cancelled` at the next fetch.
    async fn complete(&self, lease: &LeaseRef, outcome: Outcome) -> Result<AckStatus, QueueError>;

    /// One job, if it belongs to `tenant`.
    async fn get(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>, QueueError>;

    /// A tenant's jobs, newest first. `limit` is at most 100.
    async fn list(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<JobRecord>, QueueError>;

    /// Puts a `dead` job back to `queued` with a fresh attempt budget: `attempts` keeps counting
    /// every attempt ever started, and `max_attempts` grows to `attempts + max_attempts`.
    async fn retry_dead(&self, tenant: &TenantId, id: &JobId) -> Result<JobRecord, QueueError>;

    /// Cancels a `queued`, `scheduled` or `retrying` job at once. A `running` one stays running
    /// with `cancel_requested_at` set (the first request's time; asking again changes nothing):
    /// its worker learns of it at its next renewal ([`LeaseStatus::CancelRequested`]) and
    /// stops it. Finished jobs are `InvalidState`.
    async fn cancel(&self, tenant: &TenantId, id: &JobId) -> Result<JobRecord, QueueError>;

    /// Deletes up to `max` finished jobs whose retention has passed; returns how many.
    async fn purge_expired(&self, queue: &str, max: usize) -> Result<usize, QueueError>;

    /// Succeeds when the backend answers.
    async fn ping(&self) -> Result<(), QueueError>;

    /// How many live jobs `queue` holds, for the operators' depth gauges: a few counters read
    /// in one round trip, sampled every few seconds (never per job). `None`: not supported.
    async fn depth(&self, _queue: &str) -> Result<Option<QueueDepth>, QueueError> {
        Ok(None)
    }
}

/// A queue's live jobs by where they stand (see [`Queue::depth`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Runnable now (`queued`, or scheduled/retrying jobs whose time has come): the backlog.
    pub ready: u64,
    /// `scheduled` or `retrying`, waiting for their time.
    pub delayed: u64,
    /// Leased to a worker.
    pub running: u64,
    /// How long the longest-waiting runnable job has waited since it could run (enqueued, or
    /// due), in ms on the backend's clock; `None` when none is runnable.
    pub oldest_ready_age_ms: Option<u64>,
}
