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
    /// The tenant this process's previous fetch of the queue served last: this one starts with
    /// the next (round robin).
    pub(super) after_tenant: String,
    /// Most jobs of one tenant running at once in the queue (0: no cap).
    pub(super) tenant_cap: i64,
}

/// Tenants one fetch looks at, at most: each gets at least one job when the fetch has room.
const TENANTS_PER_FETCH: i64 = 64;

/// Reclaims the queue's lapsed leases, leases those on their last attempt for burial, then
/// leases due jobs fairly between tenants ([`take_fairly`]); burials count towards `max`.
/// Returns the leases and the last tenant served (for the next fetch's turn).
pub(super) async fn lease(
    conn: &mut SqliteConnection,
    ask: LeaseRequest,
) -> Result<(Vec<Leased>, Option<String>), QueueError> {
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
    let (taken, last) = take_fairly(conn, &ask, room).await?;
    let mut leased = Vec::with_capacity(taken.iter().map(Vec::len).sum());
    for rows in &taken {
        let mut mine = Vec::with_capacity(rows.len());
        for row in rows {
            match decode_leased(row, &ask.queue) {
                Ok(one) => mine.push(one),
                Err(error) => bury(conn, row, &error.to_string(), &ask).await?,
            }
        }
        // RETURNING order is unspecified; each tenant's jobs go out oldest first.
        mine.sort_by(|a, b| (a.job.run_at, &a.job.id).cmp(&(b.job.run_at, &b.job.id)));
        leased.push(mine.into_iter());
    }
    // Handed out in turn, one job of each tenant after the other.
    while leased.iter().any(|l| l.len() > 0) {
        for mine in leased.iter_mut() {
            buried.extend(mine.next());
        }
    }
    Ok((buried, last))
}

/// Leases up to `room` due jobs, shared between the tenants that have some: round robin, from
/// the tenant after the one the previous fetch served last, each tenant's share its oldest due
/// jobs. One tenant's burst (50,000 emails) thus waits its turn with the others instead of
/// holding every worker until it drains, and a lone tenant still gets the whole fetch. Returns
/// each served tenant's rows, in turn order, and the last tenant served.
///
/// Hand-written rather than a queue library's: the fairness has to hold in this table's fenced
/// claims (SQLite's `UPDATE … RETURNING` in the writer's transaction), which no crate offers;
/// it costs one index seek per tenant looked at.
async fn take_fairly(
    conn: &mut SqliteConnection,
    ask: &LeaseRequest,
    room: i64,
) -> Result<(Vec<Vec<SqliteRow>>, Option<String>), QueueError> {
    if room <= 0 {
        return Ok((Vec::new(), None));
    }
    let wanted = room.min(TENANTS_PER_FETCH);
    let tenants_between = |after: String, upto: Option<String>, n: i64| {
        sqlx::query_scalar::<_, String>(sql::TENANTS)
            .bind(ask.queue.clone())
            .bind(after)
            .bind(upto)
            .bind(n)
    };
    let mut tenants = tenants_between(ask.after_tenant.clone(), None, wanted)
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable)?;
    let short = wanted - i64::try_from(tenants.len()).unwrap_or(wanted);
    if short > 0 && !ask.after_tenant.is_empty() {
        // Around the ring: the tenants up to the previous fetch's last one.
        let wrapped = tenants_between(String::new(), Some(ask.after_tenant.clone()), short)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable)?;
        tenants.extend(wrapped);
    }
    let count = i64::try_from(tenants.len()).unwrap_or(1).max(1);
    let share = (room + count - 1) / count;
    let (mut taken, mut left, mut last) = (Vec::new(), room, None);
    for tenant in tenants {
        if left == 0 {
            break;
        }
        let mut allowed = share.min(left);
        if ask.tenant_cap > 0 {
            let running: i64 = sqlx::query_scalar(sql::RUNNING_OF_TENANT)
                .bind(&ask.queue)
                .bind(&tenant)
                .fetch_one(&mut *conn)
                .await
                .map_err(unavailable)?;
            allowed = allowed.min(ask.tenant_cap - running);
            if allowed <= 0 {
                continue;
            }
        }
        let rows = sqlx::query(sql::TAKE)
            .bind(&ask.queue)
            .bind(ask.now)
            .bind(allowed)
            .bind(&ask.worker)
            .bind(ask.until)
            .bind(&tenant)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable)?;
        left -= i64::try_from(rows.len()).unwrap_or(left);
        last = Some(tenant);
        if !rows.is_empty() {
            taken.push(rows);
        }
    }
    Ok((taken, last))
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
