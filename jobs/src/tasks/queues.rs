//! Task queues in the database: a tenant's named queues and their settings.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{RateLimits, SealedHeaders, TaskQueue};
use super::policy::RetryConfig;
use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::TenantId;

const COLUMNS: &str = "tenant_id, name, max_attempts, min_backoff_ms, max_backoff_ms, \
    max_doublings, max_retry_duration_ms, max_dispatches_per_second, max_burst_size, \
    max_concurrent_dispatches, state, purged_at, auth_headers, auth_header_names, created_at, \
    updated_at";

fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Internal(format!("corrupt task queue row: {what}"))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn from_row(r: &AnyRow) -> Result<TaskQueue, DbError> {
    let count = |i: usize| -> Result<u32, DbError> {
        u32::try_from(r.try_get::<i64, _>(i)?).map_err(corrupt)
    };
    Ok(TaskQueue {
        tenant: TenantId::from_trusted(r.try_get::<String, _>(0)?),
        name: r.try_get(1)?,
        retry: RetryConfig {
            max_attempts: r.try_get(2)?,
            min_backoff: duration(r.try_get(3)?),
            max_backoff: duration(r.try_get(4)?),
            max_doublings: count(5)?,
            max_retry_duration: duration(r.try_get(6)?),
        },
        rate: RateLimits {
            max_dispatches_per_second: r.try_get(7)?,
            max_burst_size: count(8)?,
            max_concurrent_dispatches: count(9)?,
        },
        state: r.try_get::<String, _>(10)?.parse().map_err(corrupt)?,
        purged_at: r.try_get(11)?,
        auth_headers: match r.try_get::<Option<String>, _>(12)? {
            Some(sealed) => Some(SealedHeaders {
                names: serde_json::from_str(&r.try_get::<String, _>(13)?).map_err(corrupt)?,
                sealed,
            }),
            None => None,
        },
        created_at: r.try_get(14)?,
        updated_at: r.try_get(15)?,
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds a queue's key, settings, state and headers as `$1` to `$14`, in [`COLUMNS`] order.
fn bind_settings<'q>(q: AnyQuery<'q>, queue: &'q TaskQueue) -> AnyQuery<'q> {
    let (sealed, names) = match &queue.auth_headers {
        Some(h) => (
            Some(h.sealed.as_str()),
            serde_json::to_string(&h.names).unwrap_or_else(|_| "[]".into()),
        ),
        None => (None, "[]".to_owned()),
    };
    q.bind(queue.tenant.as_str())
        .bind(&queue.name)
        .bind(queue.retry.max_attempts)
        .bind(ms(queue.retry.min_backoff))
        .bind(ms(queue.retry.max_backoff))
        .bind(i64::from(queue.retry.max_doublings))
        .bind(ms(queue.retry.max_retry_duration))
        .bind(queue.rate.max_dispatches_per_second)
        .bind(i64::from(queue.rate.max_burst_size))
        .bind(i64::from(queue.rate.max_concurrent_dispatches))
        .bind(queue.state.as_str())
        .bind(queue.purged_at)
        .bind(sealed)
        .bind(names)
}

/// Records a new queue; `Conflict` when the tenant already has one of that name.
pub async fn insert(db: &Db, queue: &TaskQueue) -> Result<(), DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO task_queues ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    ));
    bind_settings(sqlx::query(sql), queue)
        .bind(queue.created_at)
        .bind(queue.updated_at)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Writes a queue's settings and state back; false when it no longer exists.
pub async fn update(db: &Db, queue: &TaskQueue) -> Result<bool, DbError> {
    let sql = "UPDATE task_queues SET max_attempts = $3, min_backoff_ms = $4, \
        max_backoff_ms = $5, max_doublings = $6, max_retry_duration_ms = $7, \
        max_dispatches_per_second = $8, max_burst_size = $9, max_concurrent_dispatches = $10, \
        state = $11, purged_at = $12, auth_headers = $13, auth_header_names = $14, \
        updated_at = $15 WHERE tenant_id = $1 AND name = $2";
    let done = bind_settings(sqlx::query(sql), queue)
        .bind(now_ms())
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One of a tenant's queues.
pub async fn get(db: &Db, tenant: &TenantId, name: &str) -> Result<Option<TaskQueue>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM task_queues WHERE tenant_id = $1 AND name = $2"
    ));
    let row = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A tenant's queues by name, after `after` (a page's last name), at most `limit` + 1.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<TaskQueue>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM task_queues WHERE tenant_id = $1 AND name > $2 \
         ORDER BY name LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(after.unwrap_or(""))
        .bind(limit as i64 + 1)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Deletes a queue (its tasks are cancelled by the caller first).
pub async fn delete(db: &Db, tenant: &TenantId, name: &str) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM task_queues WHERE tenant_id = $1 AND name = $2")
        .bind(tenant.as_str())
        .bind(name)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}
