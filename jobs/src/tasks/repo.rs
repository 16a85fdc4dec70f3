//! HTTP tasks and their attempts in the database (SQL shared by PostgreSQL and SQLite).
//!
//! A task is recorded before its delivery job is enqueued; its row stays `open` until an
//! attempt settles it, and `next_due_at` says when it should have been heard of next, which is
//! what the recovery sweep watches. A name is reserved through `name_key` (unique per queue)
//! until `name_reserved_until` passes after the task finished.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{Attempt, Task, TaskRequest, TaskStatus};
use crate::clock::{from_ms, now_ms};
use crate::db::{Db, DbError, Dialect};
use crate::events::data::work::TaskEventData;
use crate::events::{self, EventType, NewEvent};
use crate::ids::{TaskId, TenantId};

const COLUMNS: &str = "id, tenant_id, queue, name, method, url, headers, body, \
    dispatch_deadline_ms, schedule_time, status, attempts, first_attempt_at, last_attempt_at, \
    last_status, last_error, finished_at, name_reserved_until, request_id, created_at";

fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Internal(format!("corrupt task row: {what}"))
}

fn from_row(r: &AnyRow) -> Result<Task, DbError> {
    let headers: String = r.try_get(6)?;
    let last_status: Option<i64> = r.try_get(14)?;
    Ok(Task {
        id: TaskId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        queue: r.try_get(2)?,
        name: r.try_get(3)?,
        request: TaskRequest {
            method: r.try_get(4)?,
            url: r.try_get(5)?,
            headers: serde_json::from_str(&headers).map_err(corrupt)?,
            body: r.try_get(7)?,
            dispatch_deadline: Duration::from_millis(
                u64::try_from(r.try_get::<i64, _>(8)?).map_err(corrupt)?,
            ),
        },
        schedule_time: r.try_get(9)?,
        status: r.try_get::<String, _>(10)?.parse().map_err(corrupt)?,
        attempts: r.try_get(11)?,
        first_attempt_at: r.try_get(12)?,
        last_attempt_at: r.try_get(13)?,
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: r.try_get(15)?,
        finished_at: r.try_get(16)?,
        name_reserved_until: r.try_get(17)?,
        request_id: r.try_get(18)?,
        created_at: r.try_get(19)?,
    })
}

/// Why a task could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// A task with this id exists already, or another task of the queue holds the name.
    #[error("the task exists, or its name is reserved by another task of this queue")]
    Conflict,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Records an open task, taking its name if it has one. A name whose reservation lapsed is
/// released first, so the unique index only ever sees live reservations.
pub async fn insert(db: &Db, task: &Task) -> Result<(), InsertError> {
    let now = now_ms();
    if let Some(name) = &task.name {
        sqlx::query(
            "UPDATE http_tasks SET name_key = NULL WHERE tenant_id = $1 AND queue = $2 \
             AND name_key = $3 AND name_reserved_until IS NOT NULL AND name_reserved_until <= $4",
        )
        .bind(task.tenant.as_str())
        .bind(&task.queue)
        .bind(name)
        .bind(now)
        .execute(db.pool())
        .await
        .map_err(DbError::from)?;
    }
    let headers = serde_json::to_string(&task.request.headers)
        .map_err(|e| DbError::Internal(e.to_string()))?;
    let result = sqlx::query(
        "INSERT INTO http_tasks (id, tenant_id, queue, name, name_key, method, url, headers, \
         body, dispatch_deadline_ms, schedule_time, next_due_at, status, request_id, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $13)",
    )
    .bind(task.id.as_str())
    .bind(task.tenant.as_str())
    .bind(&task.queue)
    .bind(task.name.as_deref())
    .bind(&task.request.method)
    .bind(&task.request.url)
    .bind(headers)
    .bind(task.request.body.clone())
    .bind(i64::try_from(task.request.dispatch_deadline.as_millis()).unwrap_or(i64::MAX))
    .bind(task.schedule_time)
    .bind(TaskStatus::Open.as_str())
    .bind(task.request_id.as_deref())
    .bind(task.created_at)
    .execute(db.pool())
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) => match DbError::from(e) {
            DbError::Conflict(_) => Err(InsertError::Conflict),
            other => Err(other.into()),
        },
    }
}

/// One of a tenant's tasks.
pub async fn get(db: &Db, tenant: &TenantId, id: &TaskId) -> Result<Option<Task>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM http_tasks WHERE id = $1 AND tenant_id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A tenant's tasks, newest first, optionally of one queue and status, before `before` (a
/// page's last id), at most `limit` + 1.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    queue: Option<&str>,
    status: Option<TaskStatus>,
    before: Option<&TaskId>,
    limit: usize,
) -> Result<Vec<Task>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM http_tasks WHERE tenant_id = $1 \
         AND ($2 = '' OR queue = $2) AND ($3 = '' OR status = $3) AND id < $4 \
         ORDER BY id DESC LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(queue.unwrap_or(""))
        .bind(status.map(TaskStatus::as_str).unwrap_or(""))
        .bind(before.map(TaskId::as_str).unwrap_or("task_~"))
        .bind(limit as i64 + 1)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// A task's attempts, first to last.
pub async fn attempts(db: &Db, task: &TaskId) -> Result<Vec<Attempt>, DbError> {
    let rows = sqlx::query(
        "SELECT attempt, started_at, latency_ms, status, error, excerpt FROM http_task_attempts \
         WHERE task_id = $1 ORDER BY attempt",
    )
    .bind(task.as_str())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let status: Option<i64> = r.try_get(3)?;
            Ok(Attempt {
                attempt: r.try_get(0)?,
                started_at: r.try_get(1)?,
                latency_ms: r.try_get(2)?,
                status: status.and_then(|s| u16::try_from(s).ok()),
                error: r.try_get(4)?,
                excerpt: r.try_get(5)?,
            })
        })
        .collect()
}

/// Open tasks not heard of since well after they were due: the ones whose job a queue may
/// have lost. At most `limit`, oldest first.
pub async fn stalled(db: &Db, due_before: i64, limit: i64) -> Result<Vec<Task>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM http_tasks WHERE status = 'open' AND next_due_at < $1 \
         ORDER BY next_due_at LIMIT $2"
    ));
    let rows = sqlx::query(sql)
        .bind(due_before)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Marks open tasks as heard of now (handed over again, or still waiting their turn), so the
/// sweep looks at them again only after another full recovery window.
pub async fn touch(db: &Db, ids: &[TaskId], next_due_at: i64) -> Result<(), DbError> {
    for id in ids {
        sqlx::query("UPDATE http_tasks SET next_due_at = $2 WHERE id = $1 AND status = 'open'")
            .bind(id.as_str())
            .bind(next_due_at)
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// Settles an open task (`status` final) at `at`; its name stays reserved for `keep_name`.
/// False when it was not open.
pub async fn finish(
    db: &Db,
    id: &TaskId,
    status: TaskStatus,
    at: i64,
    keep_name: Duration,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE http_tasks SET status = $2, finished_at = $3, updated_at = $3, \
         name_reserved_until = CASE WHEN name_key IS NULL THEN NULL ELSE $4 END \
         WHERE id = $1 AND status = 'open'",
    )
    .bind(id.as_str())
    .bind(status.as_str())
    .bind(at)
    .bind(at.saturating_add(i64::try_from(keep_name.as_millis()).unwrap_or(i64::MAX)))
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Opens a finished task again (an operator retried its job): due now, its name reserved
/// again for as long as it is open.
pub async fn reopen(db: &Db, tenant: &TenantId, id: &TaskId) -> Result<bool, DbError> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE http_tasks SET status = 'open', finished_at = NULL, name_reserved_until = NULL, \
         next_due_at = $3, updated_at = $3 WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id.as_str())
    .bind(tenant.as_str())
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The open tasks of a queue created before `before`, at most `limit` (for a purge).
pub async fn open_in_queue(
    db: &Db,
    tenant: &TenantId,
    queue: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<TaskId>, DbError> {
    let rows = sqlx::query(
        "SELECT id FROM http_tasks WHERE tenant_id = $1 AND queue = $2 AND status = 'open' \
         AND created_at <= $3 ORDER BY id LIMIT $4",
    )
    .bind(tenant.as_str())
    .bind(queue)
    .bind(before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok(TaskId::from_trusted(r.try_get::<String, _>(0)?)))
        .collect()
}

/// How an attempt ended, for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub task: TaskId,
    pub attempt: Attempt,
    /// `Some` when this attempt settled the task.
    pub settled: Option<TaskStatus>,
    /// When the next attempt is due, if there is one.
    pub next_due_at: Option<i64>,
    /// How long a settled task's name stays reserved.
    pub keep_name: Duration,
}

/// Writes attempts and what they did to their tasks, in one transaction (the group commit of
/// every worker slot that finished meanwhile). An attempt already recorded is left as it was.
///
/// On PostgreSQL the attempts go in as one statement over a JSON array (`json_to_recordset`);
/// the tasks are updated one statement each, by primary key: an `UPDATE … FROM` the JSON array
/// let the planner pick a hash join over the whole table, and the drain fell from about 2,400
/// to 1,600 tasks/s as the table grew (`longshore-bench tasks`). SQLite writes in-process.
pub async fn record_attempts(db: &Db, records: Vec<AttemptRecord>) -> Result<Vec<()>, DbError> {
    if db.dialect() == Dialect::Postgres {
        return insert_attempts_at_once(db, records).await;
    }
    let mut tx = db.pool().begin().await?;
    let mut dead = Vec::new();
    for r in &records {
        let a = &r.attempt;
        sqlx::query(
            "INSERT INTO http_task_attempts (task_id, attempt, started_at, latency_ms, status, \
             error, excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (task_id, attempt) DO NOTHING",
        )
        .bind(r.task.as_str())
        .bind(a.attempt)
        .bind(a.started_at)
        .bind(a.latency_ms)
        .bind(a.status.map(i64::from))
        .bind(a.error.as_deref())
        .bind(a.excerpt.as_deref())
        .execute(&mut *tx)
        .await?;
        dead.extend(update_task(&mut tx, r).await?);
    }
    events::record(&mut tx, Dialect::Sqlite, &dead).await?;
    tx.commit().await?;
    Ok(vec![(); records.len()])
}

/// What one attempt did to its task's row (an open task only); returns the `task.dead` event
/// when this attempt is the one that settled the task dead (the caller records it in this
/// transaction). An attempt recorded again finds the task settled and returns nothing.
async fn update_task(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    r: &AttemptRecord,
) -> Result<Option<NewEvent>, DbError> {
    let a = &r.attempt;
    let finished_at = a.started_at + a.latency_ms;
    let keep = i64::try_from(r.keep_name.as_millis()).unwrap_or(i64::MAX);
    let settled = sqlx::query(
        "UPDATE http_tasks SET attempts = CASE WHEN attempts > $2 THEN attempts ELSE $2 END, \
         first_attempt_at = COALESCE(first_attempt_at, $3), last_attempt_at = $3, \
         last_status = $4, last_error = $5, next_due_at = COALESCE($6, next_due_at), \
         status = COALESCE($7, status), \
         finished_at = CASE WHEN $7 IS NULL THEN finished_at ELSE $8 END, \
         name_reserved_until = CASE WHEN $7 IS NULL OR name_key IS NULL \
           THEN name_reserved_until ELSE $8 + $9 END, \
         updated_at = $8 WHERE id = $1 AND status = 'open' \
         RETURNING tenant_id, queue, name, method, url, attempts",
    )
    .bind(r.task.as_str())
    .bind(a.attempt)
    .bind(a.started_at)
    .bind(a.status.map(i64::from))
    .bind(a.error.as_deref())
    .bind(r.next_due_at)
    .bind(r.settled.map(TaskStatus::as_str))
    .bind(finished_at)
    .bind(keep)
    .fetch_optional(&mut **tx)
    .await?;
    let (Some(row), Some(TaskStatus::Dead)) = (settled, r.settled) else {
        return Ok(None);
    };
    let tenant = TenantId::from_trusted(row.try_get::<String, _>(0)?);
    let data = TaskEventData {
        task_id: r.task.to_string(),
        queue: row.try_get(1)?,
        name: row.try_get(2)?,
        method: row.try_get(3)?,
        url: row.try_get(4)?,
        attempts: row.try_get(5)?,
        last_status: a.status,
        last_error: a.error.clone(),
        finished_at: from_ms(finished_at),
    };
    // The attempt that ended it identifies the change: a task reopened by a retry and dead
    // again dies at a later attempt.
    let key = format!("{}/{}", r.task, a.attempt);
    Ok(Some(NewEvent::of_change(
        &tenant,
        EventType::TaskDead,
        r.task.as_str(),
        finished_at,
        &key,
        &data,
    )))
}

async fn insert_attempts_at_once(db: &Db, records: Vec<AttemptRecord>) -> Result<Vec<()>, DbError> {
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let a = &r.attempt;
            let finished = a.started_at + a.latency_ms;
            serde_json::json!({
                "tid": r.task.as_str(), "att": a.attempt, "st": a.started_at,
                "lat": a.latency_ms, "status": a.status, "err": a.error, "exc": a.excerpt,
                "next": r.next_due_at, "settled": r.settled.map(TaskStatus::as_str),
                "fin": finished,
                "keep": i64::try_from(r.keep_name.as_millis()).unwrap_or(i64::MAX),
            })
        })
        .collect();
    let rows = serde_json::Value::Array(rows).to_string();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO http_task_attempts (task_id, attempt, started_at, latency_ms, status, error, \
         excerpt) SELECT v.tid, v.att, v.st, v.lat, v.status, v.err, v.exc \
         FROM json_to_recordset($1::json) AS v(tid text, att bigint, st bigint, lat bigint, \
         status bigint, err text, exc text) ON CONFLICT (task_id, attempt) DO NOTHING",
    )
    .bind(&rows)
    .execute(&mut *tx)
    .await?;
    let mut dead = Vec::new();
    for r in &records {
        dead.extend(update_task(&mut tx, r).await?);
    }
    events::record(&mut tx, Dialect::Postgres, &dead).await?;
    tx.commit().await?;
    Ok(vec![(); records.len()])
}

/// When a task's first attempt started (the retries' `Longshore-Task-First-Attempt`).
pub async fn first_attempt_at(db: &Db, id: &TaskId) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT first_attempt_at FROM http_tasks WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    Ok(row
        .map(|r| r.try_get::<Option<i64>, _>(0))
        .transpose()?
        .flatten())
}

/// When finished tasks may be forgotten: each status's cutoff (finished before it).
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub succeeded: i64,
    pub cancelled: i64,
    pub dead: i64,
}

/// Deletes up to `limit` finished tasks kept past their status's retention whose name is no
/// longer reserved at `now`, with their attempts. Returns how many tasks went.
pub async fn purge_finished(
    db: &Db,
    cutoffs: Cutoffs,
    now: i64,
    limit: i64,
) -> Result<usize, DbError> {
    let latest = cutoffs.succeeded.max(cutoffs.cancelled).max(cutoffs.dead);
    let rows = sqlx::query(
        "SELECT id FROM http_tasks WHERE status <> 'open' AND finished_at < $4 \
         AND ((status = 'succeeded' AND finished_at < $1) \
           OR (status = 'cancelled' AND finished_at < $2) \
           OR (status = 'dead' AND finished_at < $3)) \
         AND (name_reserved_until IS NULL OR name_reserved_until < $5) \
         ORDER BY finished_at LIMIT $6",
    )
    .bind(cutoffs.succeeded)
    .bind(cutoffs.cancelled)
    .bind(cutoffs.dead)
    .bind(latest)
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut tx = db.pool().begin().await?;
    for row in &rows {
        let id: String = row.try_get(0)?;
        sqlx::query("DELETE FROM http_task_attempts WHERE task_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM http_tasks WHERE id = $1 AND status <> 'open'")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}
