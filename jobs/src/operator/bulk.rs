//! Bulk actions of the operators' dashboard: retry (or cancel) every job of a tenant matching
//! a filter, not just the page on screen, as a tracked operation with progress.
//!
//! [`start`] records the operation (`bulk_operations`) and its audit entry in one transaction,
//! then runs it as a tokio task of the calling (API) process: it pages through
//! [`Queue::list`](crate::queue::Queue::list) with the filter, [`BATCH`] jobs at a time, acts
//! on each job as the dashboard's single-job actions do (an HTTP task's job through its task;
//! cancel under the jobs API's refusal rule), and writes the counts after every batch. A job
//! whose state changed since it was listed (retried, cancelled or finished by someone else)
//! is skipped, as is one the rule refuses. The end is written with a second audit entry.
//!
//! Paging: a retry takes jobs out of the `dead` set, so after a batch that retried anything
//! the listing starts again from the top; a cancel pages on with the cursor. Either way a job
//! is acted on at most once per operation (one that dies again while the operation runs is
//! not retried a second time).
//!
//! There is no queue of operations: if the process dies mid-way, its record stays `running`.
//! A `running` operation whose record has not been written for [`STALE_AFTER_MS`] (60 s) is
//! marked `interrupted` whenever operations are read ([`get`], [`list`]); its jobs are as the
//! operation left them, and the operator can start it again (what was done is not redone:
//! retried jobs are no longer dead, cancelled ones no longer cancellable).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, Actor, AuditAction};
use super::dashboard::{JobActionError, cancel_unaudited, retry_unaudited};
use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::{BulkOperationId, JobId, TenantId};
use crate::queue::{JobFilter, JobState};
use crate::services::Services;
use crate::words::word_enum;

/// Jobs listed (and acted on) per batch; the record is written after each.
pub const BATCH: usize = 100;

/// A `running` operation not written for this long has lost its process: `interrupted`.
pub const STALE_AFTER_MS: i64 = 60_000;

word_enum!(
    /// What a bulk operation does to each matching job.
    BulkAction {
        /// Put dead jobs back in their queue.
        Retry => "retry",
        /// Cancel jobs that have not finished (a running one is asked to stop).
        Cancel => "cancel",
    }
);

word_enum!(
    /// Where a bulk operation stands.
    BulkState {
        /// Its task is working through the jobs.
        Running => "running",
        /// Every matching job was handled.
        Done => "done",
        /// Stopped by an error (the queue or the database unavailable); see its `error`.
        Failed => "failed",
        /// Its process went away before it finished (no update for 60 s).
        Interrupted => "interrupted",
    }
);

/// Which of the tenant's jobs an operation acts on: the jobs page's filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<JobState>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
}

impl BulkFilter {
    fn job_filter(&self) -> JobFilter {
        JobFilter {
            state: self.state,
            job_type: self.job_type.clone(),
        }
    }
}

/// An operation as stored. Times are ms since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub id: BulkOperationId,
    /// The operator key's label.
    pub operator: String,
    pub action: BulkAction,
    pub tenant: TenantId,
    pub filter: BulkFilter,
    pub state: BulkState,
    /// Jobs looked at.
    pub processed: i64,
    /// Jobs retried (or cancelled).
    pub succeeded: i64,
    /// Jobs left alone: their state changed meanwhile, or the refusal rule applies.
    pub skipped: i64,
    /// Why a `failed` or `interrupted` operation stopped.
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// Why an operation was not started.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// The filter does not fit the action (a retry of jobs that are not dead, say).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Whether `action` applies to jobs matching `filter`; the reason when it does not.
pub fn refusal(action: BulkAction, filter: &BulkFilter) -> Option<String> {
    match (action, filter.state) {
        (BulkAction::Retry, Some(JobState::Dead)) => None,
        (BulkAction::Retry, _) => Some("only dead jobs are retried: filter on state dead".into()),
        (BulkAction::Cancel, None) => None,
        (BulkAction::Cancel, Some(s)) if s.is_cancellable() => None,
        (BulkAction::Cancel, Some(s)) => Some(format!("{s} jobs cannot be cancelled")),
    }
}

const COLUMNS: &str = "id, operator, action, tenant_id, filter, state, processed, succeeded, \
                       skipped, error, created_at, updated_at, finished_at";

fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Internal(format!("corrupt bulk operation row: {what}"))
}

fn decode(r: &AnyRow) -> Result<BulkOperation, DbError> {
    let action: String = r.try_get(2)?;
    let filter: String = r.try_get(4)?;
    let state: String = r.try_get(5)?;
    Ok(BulkOperation {
        id: BulkOperationId::from_trusted(r.try_get::<String, _>(0)?),
        operator: r.try_get(1)?,
        action: action.parse().map_err(corrupt)?,
        tenant: TenantId::from_trusted(r.try_get::<String, _>(3)?),
        filter: serde_json::from_str(&filter).map_err(corrupt)?,
        state: state.parse().map_err(corrupt)?,
        processed: r.try_get(6)?,
        succeeded: r.try_get(7)?,
        skipped: r.try_get(8)?,
        error: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
        finished_at: r.try_get(12)?,
    })
}

fn audit_detail(op: &BulkOperation) -> serde_json::Value {
    json!({
        "action": op.action.as_str(),
        "tenant_id": op.tenant.as_str(),
        "filter": op.filter,
        "state": op.state.as_str(),
        "processed": op.processed,
        "succeeded": op.succeeded,
        "skipped": op.skipped,
        "error": op.error,
    })
}

/// Records an operation of `actor` on `tenant`'s jobs matching `filter`, with its audit entry,
/// and starts its task in this process. The returned record is `running`.
pub async fn start(
    services: &Services,
    actor: &Actor,
    action: BulkAction,
    tenant: &TenantId,
    filter: BulkFilter,
) -> Result<BulkOperation, BulkError> {
    if let Some(why) = refusal(action, &filter) {
        return Err(BulkError::Refused(why));
    }
    let now = now_ms();
    let op = BulkOperation {
        id: BulkOperationId::new(),
        operator: actor.operator.clone(),
        action,
        tenant: tenant.clone(),
        filter,
        state: BulkState::Running,
        processed: 0,
        succeeded: 0,
        skipped: 0,
        error: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
    };
    let filter_json = serde_json::to_string(&op.filter).map_err(corrupt)?;
    let mut tx = services.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO bulk_operations (id, operator, action, tenant_id, filter, state, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(op.id.as_str())
    .bind(&op.operator)
    .bind(op.action.as_str())
    .bind(op.tenant.as_str())
    .bind(filter_json)
    .bind(op.state.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(DbError::from)?;
    let detail = audit_detail(&op);
    audit::record(
        &mut tx,
        actor,
        AuditAction::BulkStarted,
        Some(op.id.as_str()),
        detail,
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    tokio::spawn(run(services.clone(), actor.clone(), op.clone()));
    Ok(op)
}

/// Why a run stopped before the end.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("{0}")]
    Job(#[from] JobActionError),
    #[error("the queue: {0}")]
    Queue(#[from] crate::queue::QueueError),
    #[error("the database: {0}")]
    Db(#[from] DbError),
    /// Its record is no longer `running` (marked `interrupted` after a stall).
    #[error("the operation was marked interrupted")]
    NoLongerRunning,
}

async fn run(services: Services, actor: Actor, mut op: BulkOperation) {
    let outcome = work(&services, &mut op).await;
    let (state, error) = match outcome {
        Ok(()) => (BulkState::Done, None),
        Err(RunError::NoLongerRunning) => {
            tracing::warn!(operation = %op.id, "bulk operation: stopped, marked interrupted");
            return;
        }
        Err(e) => {
            tracing::warn!(operation = %op.id, error = %e, "bulk operation failed");
            (BulkState::Failed, Some(e.to_string()))
        }
    };
    op.state = state;
    op.error = error;
    if let Err(e) = finish(&services.db, &actor, &op).await {
        // The record stays `running` and will read as `interrupted`.
        tracing::error!(operation = %op.id, error = %e, "bulk operation: its end was not recorded");
    }
}

/// Acts on every matching job, writing the counts to `op`'s record after each batch.
async fn work(services: &Services, op: &mut BulkOperation) -> Result<(), RunError> {
    let filter = op.filter.job_filter();
    let mut seen: HashSet<JobId> = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = services
            .queue
            .list(&op.tenant, &filter, cursor.as_deref(), BATCH)
            .await?;
        let mut acted = false;
        for job in &page.items {
            if !seen.insert(job.id.clone()) {
                continue;
            }
            op.processed += 1;
            let done = match op.action {
                BulkAction::Retry => retry_unaudited(services, &job.tenant, &job.id).await,
                BulkAction::Cancel => cancel_unaudited(services, job).await,
            };
            match done {
                Ok(_) => {
                    op.succeeded += 1;
                    acted = true;
                }
                Err(JobActionError::NotFound | JobActionError::Refused(_)) => op.skipped += 1,
                Err(e) => return Err(e.into()),
            }
        }
        if !heartbeat(&services.db, op).await? {
            return Err(RunError::NoLongerRunning);
        }
        cursor = match (op.action, page.next_cursor) {
            // The retried jobs left the dead set: the rest are at the top again.
            (BulkAction::Retry, _) if acted => None,
            (_, Some(next)) => Some(next),
            (_, None) => return Ok(()),
        };
    }
}

/// Writes `op`'s counts; false when its record is no longer `running`.
async fn heartbeat(db: &Db, op: &mut BulkOperation) -> Result<bool, DbError> {
    op.updated_at = now_ms();
    let n = sqlx::query(
        "UPDATE bulk_operations SET processed = $1, succeeded = $2, skipped = $3, \
         updated_at = $4 WHERE id = $5 AND state = 'running'",
    )
    .bind(op.processed)
    .bind(op.succeeded)
    .bind(op.skipped)
    .bind(op.updated_at)
    .bind(op.id.as_str())
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Records `op`'s end (its state, counts and error) with the audit entry of the end.
async fn finish(db: &Db, actor: &Actor, op: &BulkOperation) -> Result<(), DbError> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE bulk_operations SET state = $1, processed = $2, succeeded = $3, skipped = $4, \
         error = $5, updated_at = $6, finished_at = $6 WHERE id = $7 AND state = 'running'",
    )
    .bind(op.state.as_str())
    .bind(op.processed)
    .bind(op.succeeded)
    .bind(op.skipped)
    .bind(op.error.as_deref())
    .bind(now)
    .bind(op.id.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 1 {
        let detail = audit_detail(op);
        audit::record(
            &mut tx,
            actor,
            AuditAction::BulkFinished,
            Some(op.id.as_str()),
            detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Marks `running` operations not written for [`STALE_AFTER_MS`] as `interrupted` (their
/// process went away); returns how many.
pub async fn mark_interrupted(db: &Db) -> Result<u64, DbError> {
    let now = now_ms();
    let n = sqlx::query(
        "UPDATE bulk_operations SET state = 'interrupted', finished_at = $1, \
         error = 'its process stopped before the end (no progress for 60 s)' \
         WHERE state = 'running' AND updated_at < $2",
    )
    .bind(now)
    .bind(now - STALE_AFTER_MS)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(n)
}

/// One operation (stale ones marked `interrupted` first).
pub async fn get(db: &Db, id: &BulkOperationId) -> Result<Option<BulkOperation>, DbError> {
    mark_interrupted(db).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bulk_operations WHERE id = $1"
    )))
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(decode).transpose()
}

/// Operations newest first, `limit` of them, older than `before` when given (stale ones
/// marked `interrupted` first).
pub async fn list(
    db: &Db,
    before: Option<&BulkOperationId>,
    limit: usize,
) -> Result<Vec<BulkOperation>, DbError> {
    mark_interrupted(db).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bulk_operations WHERE ($1 = '' OR id < $1) \
         ORDER BY id DESC LIMIT $2"
    )))
    .bind(before.map_or("", |b| b.as_str()))
    .bind(limit as i64)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(decode).collect()
}

#[cfg(test)]
#[path = "bulk_tests.rs"]
mod tests;
