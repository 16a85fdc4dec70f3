//! The embedded queue: jobs live in a `queue_jobs` table of the same SQLite file as the business
//! data, so one command runs the whole platform with nothing else installed.
//!
//! The API, worker and scheduler may share one process or run as separate processes on the file.
//! SQLite admits one writer at a time, so every write of this process goes to one writer task
//! that group-commits whatever writes are waiting (see `writer`); reads use the pool. Other
//! processes' writers wait on the busy timeout. Wake-ups are immediate within a process (a
//! `Notify` per queue) and polled (cheap index probes) across processes.
//! Start with [`connect_sqlite`] and [`SqliteQueue::open`].

mod connect;
mod ops;
mod row;
mod sql;
mod writer;

pub use connect::connect_sqlite;
// A client's listing cursor, read as `list` reads it: for the fuzz targets, not the API.
#[doc(hidden)]
pub use row::decode_cursor;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::clock::now_ms;
use crate::ids::{JobId, TenantId};
use crate::queue::{
    AckStatus, Enqueued, JobFilter, JobRecord, JobState, LeaseRef, LeaseStatus, Leased, NewJob,
    Outcome, Page, Queue, QueueDepth, QueueError, Retention, WorkerId,
};
use row::{decode, encode_cursor, millis, unavailable};
use writer::Writer;

/// The longest single `wait_for_work`; a longer timeout returns early (a spurious wake-up).
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Settings of the embedded queue.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteQueueOptions {
    /// How long finished jobs stay readable before `purge_expired` deletes them.
    pub retention: Retention,
    /// How often `wait_for_work` looks in the file for work that another process enqueued (or
    /// that became due); work enqueued through this process wakes waiters at once.
    pub poll_interval: Duration,
    /// At most this many of one tenant's jobs run at once per queue, across all processes
    /// sharing the file (0: no cap). See [`Queue::fetch`].
    pub tenant_concurrency: u32,
}

impl Default for SqliteQueueOptions {
    fn default() -> Self {
        SqliteQueueOptions {
            retention: Retention::default(),
            poll_interval: Duration::from_millis(25),
            tenant_concurrency: 0,
        }
    }
}

/// The [`Queue`] on SQLite. Cheap to clone; clones share the pool, the writer and wake-ups.
#[derive(Clone)]
pub struct SqliteQueue {
    inner: Arc<Inner>,
}

struct Inner {
    /// For reads; the writer holds one of its connections.
    pool: SqlitePool,
    options: SqliteQueueOptions,
    writer: Writer,
    /// Waiters per queue name, woken when this process makes a job of that queue runnable.
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Per queue, the tenant this process's last fetch served last: the next fetch starts
    /// after it (see `ops::take_fairly`).
    turns: Mutex<HashMap<String, String>>,
}

impl SqliteQueue {
    /// Wraps a pool opened by [`connect_sqlite`] (or any pool on a database with the migrations
    /// of `migrations/sqlite` applied). Call it inside a Tokio runtime: the writer task starts
    /// on that runtime at the first write.
    pub fn open(pool: SqlitePool, options: SqliteQueueOptions) -> Self {
        SqliteQueue {
            inner: Arc::new(Inner {
                writer: Writer::new(pool.clone()),
                pool,
                options,
                wakers: Mutex::new(HashMap::new()),
                turns: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn pool(&self) -> &SqlitePool {
        &self.inner.pool
    }

    /// When a job that entered `state` at `now` may be forgotten.
    fn expire_at(&self, state: JobState, now: i64) -> Option<i64> {
        let keep = self.inner.options.retention.for_state(state)?;
        Some(now.saturating_add(millis(keep)))
    }

    /// The tenant `queue`'s previous fetch served last (empty: start from the first).
    fn turn(&self, queue: &str) -> String {
        let turns = self.inner.turns.lock().unwrap_or_else(|p| p.into_inner());
        turns.get(queue).cloned().unwrap_or_default()
    }

    fn waker(&self, queue: &str) -> Arc<Notify> {
        let mut wakers = self.inner.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.entry(queue.to_owned()).or_default().clone()
    }

    fn wake(&self, queue: &str) {
        let wakers = self.inner.wakers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(notify) = wakers.get(queue) {
            notify.notify_waiters();
        }
    }

    async fn has_work(&self, queue: &str) -> Result<bool, QueueError> {
        sqlx::query_scalar(sql::HAS_WORK)
            .bind(queue)
            .bind(now_ms())
            .fetch_one(self.pool())
            .await
            .map_err(unavailable)
    }

    /// Runs one tenant-scoped transition (see [`ops::transition`]).
    async fn transition(
        &self,
        sql: &'static str,
        tenant: &TenantId,
        id: &JobId,
        now: i64,
        expire_at: Option<i64>,
    ) -> Result<JobRecord, QueueError> {
        let ids = (id.as_str().to_owned(), tenant.as_str().to_owned());
        self.inner
            .writer
            .run(move |conn| Box::pin(ops::transition(conn, sql, ids, now, expire_at)))
            .await
    }

    /// Runs one fenced completion at `now` (see [`ops::fenced`]).
    async fn fenced(
        &self,
        lease: &LeaseRef,
        now: i64,
        done: ops::Completion,
    ) -> Result<AckStatus, QueueError> {
        let lease = lease.clone();
        self.inner
            .writer
            .run(move |conn| Box::pin(ops::fenced(conn, lease, now, done)))
            .await
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn enqueue(&self, job: NewJob) -> Result<Enqueued, QueueError> {
        let now = now_ms();
        let run_at = job.run_at.unwrap_or(now);
        let state = if run_at > now {
            JobState::Scheduled
        } else {
            JobState::Queued
        };
        let tenant = job.tenant.clone();
        let (stored, created) = self
            .inner
            .writer
            .run(move |conn| Box::pin(ops::insert(conn, job, state, run_at, now)))
            .await?;
        if stored.tenant != tenant {
            // Ids are global: never hand another tenant's record back. The contract has no
            // "conflict" error, so the taken id is reported as a state that forbids the enqueue.
            return Err(QueueError::InvalidState(stored.state));
        }
        if created && state == JobState::Queued {
            self.wake(&stored.queue);
        }
        Ok(Enqueued {
            job: stored,
            created,
        })
    }

    async fn fetch(
        &self,
        queue: &str,
        worker: &WorkerId,
        max: usize,
        lease_for: Duration,
    ) -> Result<Vec<Leased>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let ask = ops::LeaseRequest {
            queue: queue.to_owned(),
            worker: worker.0.clone(),
            max: i64::try_from(max).unwrap_or(i64::MAX),
            now,
            until: now.saturating_add(millis(lease_for)),
            dead_expire_at: self.expire_at(JobState::Dead, now),
            cancelled_expire_at: self.expire_at(JobState::Cancelled, now),
            after_tenant: self.turn(queue),
            tenant_cap: i64::from(self.inner.options.tenant_concurrency),
        };
        let (leased, last) = self
            .inner
            .writer
            .run(move |conn| Box::pin(ops::lease(conn, ask)))
            .await?;
        if let Some(tenant) = last {
            let mut turns = self.inner.turns.lock().unwrap_or_else(|p| p.into_inner());
            turns.insert(queue.to_owned(), tenant);
        }
        Ok(leased)
    }

    async fn wait_for_work(&self, queue: &str, timeout: Duration) -> Result<(), QueueError> {
        let deadline = Instant::now() + timeout.min(MAX_WAIT);
        let poll = self
            .inner
            .options
            .poll_interval
            .max(Duration::from_millis(1));
        let notify = self.waker(queue);
        loop {
            // Registered before looking, so an enqueue between the look and the sleep still wakes.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_work(queue).await? {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            tokio::select! {
                () = &mut notified => return Ok(()),
                () = tokio::time::sleep(poll.min(deadline - now)) => {}
            }
        }
    }

    async fn renew(
        &self,
        leases: &[LeaseRef],
        lease_for: Duration,
    ) -> Result<Vec<LeaseStatus>, QueueError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<[String; 3]> = leases
            .iter()
            .map(|l| [l.id.to_string(), l.token.0.clone(), l.queue.clone()])
            .collect();
        let until = now_ms().saturating_add(millis(lease_for));
        let held = self
            .inner
            .writer
            .run(move |conn| Box::pin(ops::renew(conn, wanted, until)))
            .await?;
        Ok(leases
            .iter()
            .map(|l| {
                held.get(&(l.id.to_string(), l.token.0.clone()))
                    .copied()
                    .unwrap_or(LeaseStatus::Lost)
            })
            .collect())
    }

    async fn complete(&self, lease: &LeaseRef, outcome: Outcome) -> Result<AckStatus, QueueError> {
        let now = now_ms();
        let cancelled_expire = self.expire_at(JobState::Cancelled, now);
        let released = matches!(outcome, Outcome::Released);
        let (sql, at, error, unless_cancelling) = match outcome {
            Outcome::Succeeded => {
                let expire = self.expire_at(JobState::Succeeded, now);
                (sql::SUCCEED, expire, None, None)
            }
            Outcome::Retry { error, delay } => {
                let run_at = now.saturating_add(millis(delay));
                let instead = Some((cancelled_expire, false));
                (sql::RETRY, Some(run_at), Some(error), instead)
            }
            Outcome::Dead { error } => {
                let expire = self.expire_at(JobState::Dead, now);
                (sql::BURY_FENCED, expire, Some(error), None)
            }
            Outcome::Deferred { delay } => {
                let run_at = now.saturating_add(millis(delay));
                (
                    sql::DEFER,
                    Some(run_at),
                    None,
                    Some((cancelled_expire, true)),
                )
            }
            Outcome::Released => (sql::RELEASE, None, None, Some((cancelled_expire, true))),
            Outcome::Cancelled { reason } => {
                (sql::CANCEL_FENCED, cancelled_expire, Some(reason), None)
            }
        };
        let done = ops::Completion {
            sql,
            at,
            error,
            unless_cancelling,
        };
        let status = self.fenced(lease, now, done).await?;
        if released && status == AckStatus::Applied {
            self.wake(&lease.queue);
        }
        Ok(status)
    }

    async fn get(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>, QueueError> {
        let row = sqlx::query(sql::GET)
            .bind(id.as_str())
            .bind(tenant.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(unavailable)?;
        row.as_ref().map(decode).transpose()
    }

    async fn list(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<JobRecord>, QueueError> {
        let limit = limit.clamp(1, 100);
        let (created_at, id) = match cursor {
            Some(c) => decode_cursor(c)?,
            None => (i64::MAX, String::new()),
        };
        // The statement whose index serves the filter (see migration 0022).
        let statement = match (filter.job_type.is_some(), filter.state) {
            (true, _) => sql::LIST_OF_TYPE,
            (false, Some(JobState::Scheduled)) => sql::LIST_SCHEDULED,
            (false, Some(JobState::Retrying)) => sql::LIST_RETRYING,
            (false, Some(JobState::Dead)) => sql::LIST_DEAD,
            (false, Some(JobState::Cancelled)) => sql::LIST_CANCELLED,
            (false, _) => sql::LIST,
        };
        let rows = sqlx::query(statement)
            .bind(tenant.as_str())
            .bind(filter.state.map(JobState::as_str))
            .bind(filter.job_type.as_deref())
            .bind(created_at)
            .bind(id)
            .bind(limit as i64 + 1)
            .fetch_all(self.pool())
            .await
            .map_err(unavailable)?;
        let mut items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(encode_cursor)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn retry_dead(&self, tenant: &TenantId, id: &JobId) -> Result<JobRecord, QueueError> {
        let job = self
            .transition(sql::RETRY_DEAD, tenant, id, now_ms(), None)
            .await?;
        self.wake(&job.queue);
        Ok(job)
    }

    async fn cancel(&self, tenant: &TenantId, id: &JobId) -> Result<JobRecord, QueueError> {
        let now = now_ms();
        let expire = self.expire_at(JobState::Cancelled, now);
        self.transition(sql::CANCEL, tenant, id, now, expire).await
    }

    async fn purge_expired(&self, queue: &str, max: usize) -> Result<usize, QueueError> {
        if max == 0 {
            return Ok(0);
        }
        let (queue, now) = (queue.to_owned(), now_ms());
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.inner
            .writer
            .run(move |conn| Box::pin(ops::purge(conn, queue, now, max)))
            .await
    }

    async fn ping(&self) -> Result<(), QueueError> {
        sqlx::query("SELECT 1")
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Three counts over the partial fetch and lease indexes, in one read.
    async fn depth(&self, queue: &str) -> Result<Option<QueueDepth>, QueueError> {
        let now = now_ms();
        let (ready, delayed, running, oldest): (i64, i64, i64, Option<i64>) =
            sqlx::query_as(sql::DEPTH)
                .bind(queue)
                .bind(now)
                .fetch_one(self.pool())
                .await
                .map_err(unavailable)?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(Some(QueueDepth {
            ready: n(ready),
            delayed: n(delayed),
            running: n(running),
            oldest_ready_age_ms: oldest.map(|at| n(now - at)),
        }))
    }
}
