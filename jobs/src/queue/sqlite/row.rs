//! Between `queue_jobs` rows and [`JobRecord`]s: the column list, decoding, list cursors, and the
//! error mapping every statement shares.

use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::ids::{JobId, TenantId};
use crate::queue::{JobRecord, JobState, QueueError};

/// The `JobRecord` columns, in one place so every `SELECT` and `RETURNING` decodes the same way.
macro_rules! job_columns {
    () => {
        "id, tenant, job_type, queue, payload, state, attempts, max_attempts, run_at, created_at, \
         updated_at, started_at, finished_at, last_error, request_id, worker, cancel_requested_at"
    };
}
pub(super) use job_columns;

/// A driver or I/O failure: the caller may retry.
pub(super) fn unavailable(e: sqlx::Error) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

/// Milliseconds in `d`, saturated, for adding to epoch-ms times.
pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn corrupt(row: &SqliteRow, what: impl std::fmt::Display) -> QueueError {
    let id: Option<String> = row.try_get("id").ok();
    QueueError::Corrupt(format!("job {}: {what}", id.as_deref().unwrap_or("?")))
}

fn col<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T, QueueError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(name)
        .map_err(|e| corrupt(row, format_args!("column {name}: {e}")))
}

fn count(row: &SqliteRow, name: &str) -> Result<u32, QueueError> {
    let n: i64 = col(row, name)?;
    u32::try_from(n).map_err(|_| corrupt(row, format_args!("{name} out of range: {n}")))
}

/// Decodes a row selected with [`job_columns!`]; bad JSON or an unknown state is `Corrupt`.
pub(super) fn decode(row: &SqliteRow) -> Result<JobRecord, QueueError> {
    let payload: String = col(row, "payload")?;
    let state: String = col(row, "state")?;
    Ok(JobRecord {
        id: JobId::from_trusted(col::<String>(row, "id")?),
        tenant: TenantId::from_trusted(col::<String>(row, "tenant")?),
        job_type: col(row, "job_type")?,
        queue: col(row, "queue")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| corrupt(row, format_args!("payload: {e}")))?,
        state: state.parse().map_err(|e| corrupt(row, e))?,
        attempts: count(row, "attempts")?,
        max_attempts: count(row, "max_attempts")?,
        run_at: col(row, "run_at")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        started_at: col(row, "started_at")?,
        finished_at: col(row, "finished_at")?,
        last_error: col(row, "last_error")?,
        request_id: col(row, "request_id")?,
        worker: col(row, "worker")?,
        cancel_requested_at: col(row, "cancel_requested_at")?,
    })
}

/// Decodes the `state` column alone (for explaining why an update matched nothing).
pub(super) fn decode_state(row: &SqliteRow) -> Result<JobState, QueueError> {
    let state: String = col(row, "state")?;
    state.parse().map_err(|e| corrupt(row, e))
}

/// The listing position after `job`: hex of `created_at:id`, opaque to callers.
pub(super) fn encode_cursor(job: &JobRecord) -> String {
    hex::encode(format!("{}:{}", job.created_at, job.id))
}

/// Reads a cursor made by [`encode_cursor`]; anything else is `InvalidCursor` (the caller's
/// input, not a fault of the store), rather than silently restarting the listing.
pub fn decode_cursor(cursor: &str) -> Result<(i64, String), QueueError> {
    let bad = || QueueError::InvalidCursor;
    let text = String::from_utf8(hex::decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (created_at, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((created_at.parse().map_err(|_| bad())?, id.to_owned()))
}
