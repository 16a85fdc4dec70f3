//! The queue's writes, each a function of the writer's connection (inside its batch
//! transaction) and owned arguments, so [`super::writer::Writer::run`] can carry it.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::row::{decode, decode_state, unavailable};
use super::sql;
use crate::queue::{
    AckStatus, JobRecord, JobState, LeaseRef, LeaseStatus, LeaseToken, Leased, NewJob, QueueError,
};

/// Inserts `job` unless its id exists; returns the stored record and whether it was created.
pub(super) async fn insert(
    conn: &mut SqliteConnection,
    job: NewJob,
    state: JobState,
    run_at: i64,
    now: i64,
) -> Result<(JobRecord, bool), QueueError> {
    let inserted = sqlx::query(sql::INSERT)
        .bind(job.id.as_str())
        .bind(job.tenant.as_str())
        .bind(&job.job_type)
        .bind(&job.queue)
        .bind(job.payload.to_string())
        .bind(state.as_str())
        .bind(i64::from(job.max_attempts))
        .bind(run_at)
        .bind(now)
        .bind(&job.request_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)?;
    if let Some(row) = inserted {
        return Ok((decode(&row)?, true));
    }
    let existing = sqlx::query(sql::BY_ID)
        .bind(job.id.as_str())
        .fetch_one(conn)
        .await
        .map_err(unavailable)?;
    Ok((decode(&existing)?, false))
}

/// What one fetch asks for.
pub(super) struct LeaseRequest {
    pub(super) queue: String,
    pub(super) worker: String,
    pub(super) max: i64,
    pub(super) now: i64,
    pub(super) until: i64,
    pub(super) dead_expire_at: Option<i64>,
    pub(super) cancelled_expire_at: Option<i64>,
}

/// Reclaims the queue's lapsed leases, leases those on their last attempt for burial, then
/// leases due jobs (see [`sql::RECLAIM`], [`sql::LEASE_LAPSED`], [`sql::TAKE`]); burials
/// count towards `max`.
pub(super) async fn lease(
    conn: &mut SqliteConnection,
    ask: LeaseRequest,
) -> Result<Vec<Leased>, QueueError> {
    sqlx::query(sql::RECLAIM_CANCELLING)
        .bind(&ask.queue)
        .bind(ask.now)
        .bind(ask.cancelled_expire_at)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    sqlx::query(sql::RECLAIM)
        .bind(&ask.queue)
        .bind(ask.now)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    let lapsed = sqlx::query(sql::LEASE_LAPSED)
        .bind(&ask.queue)
        .bind(ask.now)
        .bind(ask.max)
        .bind(&ask.worker)
        .bind(ask.until)
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable)?;
    let mut buried = Vec::with_capacity(lapsed.len());
    for row in &lapsed {
        match decode_leased(row, &ask.queue) {
            Ok(mut one) => {
                one.bury = Some(format!(
                    "{} (attempt {} of {})",
                    crate::queue::LEASE_EXPIRED,
                    one.job.attempts,
                    one.job.max_attempts
                ));
                buried.push(one);
            }
            Err(error) => bury(conn, row, &error.to_string(), &ask).await?,
        }
    }
    let room = ask.max - i64::try_from(lapsed.len()).unwrap_or(i64::MAX);
    let rows = if room > 0 {
        sqlx::query(sql::TAKE)
            .bind(&ask.queue)
            .bind(ask.now)
            .bind(room)
            .bind(&ask.worker)
            .bind(ask.until)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable)?
    } else {
        Vec::new()
    };
    let mut leased = Vec::with_capacity(rows.len());
    for row in &rows {
        match decode_leased(row, &ask.queue) {
            Ok(one) => leased.push(one),
            Err(error) => bury(conn, row, &error.to_string(), &ask).await?,
        }
    }
    // RETURNING order is unspecified; hand jobs out in the order they were chosen.
    leased.sort_by(|a, b| (a.job.run_at, &a.job.id).cmp(&(b.job.run_at, &b.job.id)));
    buried.append(&mut leased);
    Ok(buried)
}

fn decode_leased(row: &SqliteRow, queue: &str) -> Result<Leased, QueueError> {
    let job = decode(row)?;
    let token: String = row
        .try_get("lease_token")
        .map_err(|e| QueueError::Corrupt(format!("lease_token: {e}")))?;
    let lease = LeaseRef {
        queue: queue.to_owned(),
        id: job.id.clone(),
        token: LeaseToken(token),
    };
    Ok(Leased {
        job,
        lease,
        bury: None,
    })
}

/// Sends a just-leased job that cannot be decoded to `dead`, in the fetch's transaction, rather
/// than failing every fetch of its queue on it (a poison record).
async fn bury(
    conn: &mut SqliteConnection,
    row: &SqliteRow,
    error: &str,
    ask: &LeaseRequest,
) -> Result<(), QueueError> {
    let id: String = row.try_get("id").map_err(unavailable)?;
    tracing::warn!(job_id = %id, %error, "undecodable job sent to dead");
    sqlx::query(sql::BURY)
        .bind(&id)
        .bind(error)
        .bind(ask.now)
        .bind(ask.dead_expire_at)
        .execute(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Runs a tenant-scoped transition (`sql` binds ?1 id, ?2 tenant, ?3 now, ?4 expire_at and
/// returns the row); when it matches nothing, says why: unknown job, or the wrong state.
pub(super) async fn transition(
    conn: &mut SqliteConnection,
    sql: &'static str,
    (id, tenant): (String, String),
    now: i64,
    expire_at: Option<i64>,
) -> Result<JobRecord, QueueError> {
    let changed = sqlx::query(sql)
        .bind(&id)
        .bind(&tenant)
        .bind(now)
        .bind(expire_at)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)?;
    if let Some(row) = changed {
        return decode(&row);
    }
    let found = sqlx::query(sql::STATE)
        .bind(&id)
        .bind(&tenant)
        .fetch_optional(conn)
        .await
        .map_err(unavailable)?;
    match found {
        Some(row) => Err(QueueError::InvalidState(decode_state(&row)?)),
        None => Err(QueueError::NotFound),
    }
}

/// A fenced completion: the statement (binding ?1 id, ?2 queue, ?3 token, ?4 now, then the
/// outcome's ?5 time and ?6 error) and, for an outcome that would run the job again, what to do
/// instead when a cancel was requested while it ran.
pub(super) struct Completion {
    pub(super) sql: &'static str,
    pub(super) at: Option<i64>,
    pub(super) error: Option<String>,
    /// `(cancelled expire_at, attempt given back)`: tried first, with [`sql::CANCEL_INSTEAD`].
    pub(super) unless_cancelling: Option<(Option<i64>, bool)>,
}

/// Runs a completion fenced by the lease; `Applied` when it matched the running lease,
/// `Cancelled` when a requested cancel ended the job instead.
pub(super) async fn fenced(
    conn: &mut SqliteConnection,
    lease: LeaseRef,
    now: i64,
    done: Completion,
) -> Result<AckStatus, QueueError> {
    if let Some((expire_at, give_back)) = done.unless_cancelling {
        let cancelled = sqlx::query(sql::CANCEL_INSTEAD)
            .bind(lease.id.as_str())
            .bind(&lease.queue)
            .bind(&lease.token.0)
            .bind(now)
            .bind(expire_at)
            .bind(&done.error)
            .bind(i64::from(give_back))
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
        if cancelled.rows_affected() > 0 {
            return Ok(AckStatus::Cancelled);
        }
    }
    let applied = sqlx::query(done.sql)
        .bind(lease.id.as_str())
        .bind(lease.queue)
        .bind(lease.token.0)
        .bind(now)
        .bind(done.at)
        .bind(done.error)
        .execute(conn)
        .await
        .map_err(unavailable)?;
    Ok(match applied.rows_affected() {
        0 => AckStatus::Stale,
        _ => AckStatus::Applied,
    })
}

/// Extends to `until` each lease of `wanted` (`[id, token, queue]`) still held, in one
/// statement whatever their number; returns the `(id, token)` pairs that were, each with what
/// the renewal found.
pub(super) async fn renew(
    conn: &mut SqliteConnection,
    wanted: Vec<[String; 3]>,
    until: i64,
) -> Result<HashMap<(String, String), LeaseStatus>, QueueError> {
    let wanted = serde_json::Value::from(
        wanted
            .into_iter()
            .map(|triple| serde_json::Value::from(triple.to_vec()))
            .collect::<Vec<_>>(),
    );
    let held: Vec<(String, String, bool)> = sqlx::query_as(sql::RENEW)
        .bind(wanted.to_string())
        .bind(until)
        .fetch_all(conn)
        .await
        .map_err(unavailable)?;
    Ok(held
        .into_iter()
        .map(|(id, token, cancelling)| {
            let status = if cancelling {
                LeaseStatus::CancelRequested
            } else {
                LeaseStatus::Held
            };
            ((id, token), status)
        })
        .collect())
}

/// Deletes up to `max` jobs of `queue` whose retention passed by `now`; returns how many.
pub(super) async fn purge(
    conn: &mut SqliteConnection,
    queue: String,
    now: i64,
    max: i64,
) -> Result<usize, QueueError> {
    let purged = sqlx::query(sql::PURGE)
        .bind(queue)
        .bind(now)
        .bind(max)
        .execute(conn)
        .await
        .map_err(unavailable)?;
    Ok(usize::try_from(purged.rows_affected()).unwrap_or(usize::MAX))
}
