//! The job history `jobs_health` reports on, written off the hot path.
//!
//! The worker's ack path calls [`JobRunLog::record`] once an outcome is applied in the queue:
//! a non-blocking `try_send` into a bounded channel. One task per process drains it, waits
//! about [`BATCH_WINDOW`] for more, and inserts everything it holds in one transaction of
//! multi-row statements, so a worker draining 10,000 jobs/s makes about ten small inserts a
//! second instead of 10,000. What a crash loses: the rows waiting in the channel and the batch
//! being written (about 100 ms of outcomes). When the channel is full (the database is slower
//! than the workers), rows are dropped and counted rather than slowing jobs down.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::queue::{JobRecord, JobState, Outcome};

/// How long the writer collects rows before inserting them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// Rows buffered at most (about 5 s at 10,000 jobs/s).
pub const CAPACITY: usize = 50_000;
/// Rows per INSERT statement (9 parameters each, under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 100;
/// How long finished-job history is kept.
pub const RETENTION_DAYS: i64 = 35;

/// One applied outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub job_id: String,
    pub tenant: String,
    pub job_type: String,
    pub queue: String,
    /// `succeeded`, `retrying`, `dead` or `cancelled`.
    pub state: &'static str,
    pub attempts: u32,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: i64,
}

struct Inner {
    db: Db,
    tx: OnceLock<mpsc::Sender<JobRun>>,
    pending: AtomicUsize,
    dropped: AtomicU64,
}

/// The process's job-history writer; cheap to clone.
#[derive(Clone)]
pub struct JobRunLog(Arc<Inner>);

impl JobRunLog {
    /// A writer into `db`; its task starts with the first row.
    pub fn new(db: Db) -> Self {
        JobRunLog(Arc::new(Inner {
            db,
            tx: OnceLock::new(),
            pending: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }))
    }

    /// Records an applied outcome (never blocks; see the module doc). Releases and deferrals
    /// are not runs.
    pub fn record(&self, job: &JobRecord, outcome: &Outcome) {
        let state = match outcome {
            Outcome::Succeeded => JobState::Succeeded.as_str(),
            Outcome::Retry { .. } => JobState::Retrying.as_str(),
            Outcome::Dead { .. } => JobState::Dead.as_str(),
            Outcome::Cancelled { .. } => JobState::Cancelled.as_str(),
            Outcome::Released | Outcome::Deferred { .. } => return,
        };
        let run = JobRun {
            job_id: job.id.to_string(),
            tenant: job.tenant.to_string(),
            job_type: job.job_type.clone(),
            queue: job.queue.clone(),
            state,
            attempts: job.attempts,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: now_ms(),
        };
        let tx = self.0.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(CAPACITY);
            tokio::spawn(drain(self.0.clone(), rx));
            tx
        });
        self.0.pending.fetch_add(1, Ordering::AcqRel);
        if tx.try_send(run).is_err() {
            self.0.pending.fetch_sub(1, Ordering::AcqRel);
            let n = self.0.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "job history writer is behind; rows dropped");
            }
        }
    }

    /// Waits (up to `limit`) until every recorded row is written: called on shutdown.
    pub async fn flush(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.0.pending.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Rows dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

async fn drain(inner: Arc<Inner>, mut rx: mpsc::Receiver<JobRun>) {
    let mut batch = Vec::with_capacity(1024);
    let mut last_purge = 0;
    while rx.recv_many(&mut batch, CAPACITY).await > 0 {
        tokio::time::sleep(BATCH_WINDOW).await;
        while batch.len() < CAPACITY {
            match rx.try_recv() {
                Ok(run) => batch.push(run),
                Err(_) => break,
            }
        }
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=3 {
            match insert(&inner.db, &batch).await {
                Ok(()) => break,
                Err(e) if attempt < 3 => {
                    tracing::debug!(error = %e, rows = batch.len(), "job history insert failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                Err(e) => tracing::warn!(error = %e, rows = batch.len(), "job history rows lost"),
            }
        }
        inner.pending.fetch_sub(batch.len(), Ordering::AcqRel);
        batch.clear();
        if now_ms() - last_purge > 600_000 {
            last_purge = now_ms();
            let _ = purge(&inner.db, last_purge - RETENTION_DAYS * 86_400_000).await;
            let keep = crate::stats::RETENTION_DAYS * 86_400_000;
            let _ = crate::stats::purge(&inner.db, last_purge - keep).await;
        }
    }
}

/// Inserts rows with multi-row statements in one transaction.
pub async fn insert(db: &Db, runs: &[JobRun]) -> Result<(), DbError> {
    if runs.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    for chunk in runs.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let marks: Vec<String> = (1..=9).map(|c| format!("${}", r * 9 + c)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO job_runs (job_id, tenant_id, job_type, queue, state, attempts, created_at, started_at, finished_at) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.job_id.clone())
                .bind(r.tenant.clone())
                .bind(r.job_type.clone())
                .bind(r.queue.clone())
                .bind(r.state)
                .bind(i64::from(r.attempts))
                .bind(r.created_at)
                .bind(r.started_at)
                .bind(r.finished_at);
        }
        q.execute(&mut *tx).await?;
    }
    crate::stats::add_runs(&mut tx, runs).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes history older than `before` (ms).
pub async fn purge(db: &Db, before: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM job_runs WHERE finished_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}
