//! Every statement the SQLite queue runs, each a constant so sqlx prepares it once per connection.
//!
//! The runnable states are spelled out literally (never bound) wherever a query should use the
//! partial indexes of `migrations/sqlite/0001_queue.sql`: SQLite matches those by expression.

use super::row::job_columns;

/// Inserts a new job unless its id exists; returns the row only when it was created.
pub(super) const INSERT: &str = concat!(
    "INSERT INTO queue_jobs (id, tenant, job_type, queue, payload, state, attempts, max_attempts, \
     run_at, created_at, updated_at, request_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?9, ?10) \
     ON CONFLICT (id) DO NOTHING RETURNING ",
    job_columns!()
);

/// One job by id, whatever its tenant (for the enqueue no-op answer).
pub(super) const BY_ID: &str = concat!("SELECT ", job_columns!(), " FROM queue_jobs WHERE id = ?1");

/// One job of one tenant.
pub(super) const GET: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM queue_jobs WHERE id = ?1 AND tenant = ?2"
);

/// A tenant's job state, to explain an update that matched nothing.
pub(super) const STATE: &str = "SELECT id, state FROM queue_jobs WHERE id = ?1 AND tenant = ?2";

/// Ends `cancelled` (kept until ?3) the jobs of queue ?1 whose lease lapsed at time ?2 while a
/// cancel was requested: their worker was lost while stopping them, and nobody runs them again.
pub(super) const RECLAIM_CANCELLING: &str = "UPDATE queue_jobs SET state = 'cancelled', \
     last_error = 'cancelled: its worker was lost while stopping', finished_at = ?2, \
     updated_at = ?2, expire_at = ?3, lease_token = NULL, lease_until = NULL \
     WHERE queue = ?1 AND state = 'running' AND lease_until <= ?2 \
       AND cancel_requested_at IS NOT NULL";

/// Reclaims the expired leases of queue ?1 at time ?2 whose job has attempts left: back to
/// queued, the lost attempt recorded as the last error. Those without are [`LEASE_LAPSED`].
pub(super) const RECLAIM: &str = "UPDATE queue_jobs SET state = 'queued', \
     last_error = 'lease expired: worker lost (attempt ' || attempts || ' of ' || max_attempts || ')', \
     updated_at = ?2, lease_token = NULL, lease_until = NULL \
     WHERE queue = ?1 AND state = 'running' AND lease_until <= ?2 AND attempts < max_attempts";

/// Leases up to ?3 jobs of queue ?1 whose lease lapsed at time ?2 on their last attempt to
/// worker ?4 until ?5, for burial (`Leased::bury`): a new token, `attempts` and `started_at`
/// unchanged. A burial whose lease lapses comes back here.
pub(super) const LEASE_LAPSED: &str = concat!(
    "UPDATE queue_jobs SET updated_at = ?2, worker = ?4, \
     lease_token = lower(hex(randomblob(8))), lease_until = ?5 \
     WHERE id IN (SELECT id FROM queue_jobs \
         WHERE queue = ?1 AND state = 'running' AND lease_until <= ?2 \
           AND attempts >= max_attempts ORDER BY lease_until, id LIMIT ?3) \
     RETURNING lease_token, ",
    job_columns!()
);

/// Up to ?4 tenants with runnable jobs (due or not) in queue ?1, in tenant order, strictly
/// after ?2 and (unless NULL) up to ?3: a loose index scan, one seek of `queue_jobs_fair` per
/// tenant however many jobs each has.
pub(super) const TENANTS: &str = "WITH RECURSIVE next(tenant) AS ( \
       SELECT (SELECT tenant FROM queue_jobs \
           WHERE queue = ?1 AND state IN ('queued', 'scheduled', 'retrying') \
             AND tenant > ?2 AND (?3 IS NULL OR tenant <= ?3) ORDER BY tenant LIMIT 1) \
       UNION ALL \
       SELECT (SELECT j.tenant FROM queue_jobs AS j \
           WHERE j.queue = ?1 AND j.state IN ('queued', 'scheduled', 'retrying') \
             AND j.tenant > next.tenant AND (?3 IS NULL OR j.tenant <= ?3) \
           ORDER BY j.tenant LIMIT 1) \
       FROM next WHERE next.tenant IS NOT NULL LIMIT ?4) \
     SELECT tenant FROM next WHERE tenant IS NOT NULL";

/// How many of tenant ?2's jobs of queue ?1 are running (for the per-tenant cap).
pub(super) const RUNNING_OF_TENANT: &str = "SELECT COUNT(*) FROM queue_jobs \
     WHERE queue = ?1 AND tenant = ?2 AND state = 'running'";

/// Leases up to ?3 due jobs of tenant ?6 in queue ?1 at time ?2 to worker ?4 until ?5, oldest
/// `run_at` first. Each lease gets its own random token (16 hex digits, the shape of
/// `LeaseToken::generate`).
pub(super) const TAKE: &str = concat!(
    "UPDATE queue_jobs SET state = 'running', attempts = attempts + 1, started_at = ?2, \
     updated_at = ?2, worker = ?4, lease_token = lower(hex(randomblob(8))), lease_until = ?5 \
     WHERE id IN (SELECT id FROM queue_jobs \
         WHERE queue = ?1 AND tenant = ?6 AND state IN ('queued', 'scheduled', 'retrying') \
           AND run_at <= ?2 \
         ORDER BY run_at, id LIMIT ?3) \
     RETURNING lease_token, ",
    job_columns!()
);

/// Sends a just-leased job whose record cannot be decoded to `dead` instead of to a worker.
pub(super) const BURY: &str = "UPDATE queue_jobs SET state = 'dead', last_error = ?2, \
     finished_at = ?3, updated_at = ?3, expire_at = ?4, lease_token = NULL, lease_until = NULL \
     WHERE id = ?1";

/// Whether queue ?1 has a due job or an expired lease at time ?2 (two index probes).
pub(super) const HAS_WORK: &str = "SELECT EXISTS (SELECT 1 FROM queue_jobs \
         WHERE queue = ?1 AND state IN ('queued', 'scheduled', 'retrying') AND run_at <= ?2) \
     OR EXISTS (SELECT 1 FROM queue_jobs \
         WHERE queue = ?1 AND state = 'running' AND lease_until <= ?2)";

/// Live jobs of queue ?1 at time ?2: runnable, waiting for their time, running.
pub(super) const DEPTH: &str = "SELECT \
     (SELECT COUNT(*) FROM queue_jobs \
         WHERE queue = ?1 AND state IN ('queued', 'scheduled', 'retrying') AND run_at <= ?2), \
     (SELECT COUNT(*) FROM queue_jobs \
         WHERE queue = ?1 AND state IN ('queued', 'scheduled', 'retrying') AND run_at > ?2), \
     (SELECT COUNT(*) FROM queue_jobs WHERE queue = ?1 AND state = 'running'), \
     (SELECT MIN(run_at) FROM queue_jobs \
         WHERE queue = ?1 AND state IN ('queued', 'scheduled', 'retrying') AND run_at <= ?2)";

/// Extends to ?2 every lease of ?1, a JSON array of `[id, token, queue]`; returns those held,
/// each with whether a cancel was requested.
pub(super) const RENEW: &str = "UPDATE queue_jobs SET lease_until = ?2 \
     FROM (SELECT value ->> 0 AS rid, value ->> 1 AS tok, value ->> 2 AS q FROM json_each(?1)) AS r \
     WHERE queue_jobs.id = r.rid AND queue_jobs.lease_token = r.tok AND queue_jobs.queue = r.q \
       AND queue_jobs.state = 'running' \
     RETURNING queue_jobs.id, queue_jobs.lease_token, \
       queue_jobs.cancel_requested_at IS NOT NULL";

/// The fence shared by every completion: ?1 id, ?2 queue, ?3 token, and still running.
macro_rules! fenced {
    () => {
        " WHERE id = ?1 AND queue = ?2 AND lease_token = ?3 AND state = 'running'"
    };
}

/// Success at ?4, kept until ?5.
pub(super) const SUCCEED: &str = concat!(
    "UPDATE queue_jobs SET state = 'succeeded', finished_at = ?4, updated_at = ?4, expire_at = ?5, \
     lease_token = NULL, lease_until = NULL",
    fenced!()
);

/// A failed attempt to run again at ?5, with error ?6.
pub(super) const RETRY: &str = concat!(
    "UPDATE queue_jobs SET state = 'retrying', run_at = ?5, last_error = ?6, updated_at = ?4, \
     lease_token = NULL, lease_until = NULL",
    fenced!()
);

/// A job given up with error ?6 at ?4, kept until ?5.
pub(super) const BURY_FENCED: &str = concat!(
    "UPDATE queue_jobs SET state = 'dead', last_error = ?6, finished_at = ?4, updated_at = ?4, \
     expire_at = ?5, lease_token = NULL, lease_until = NULL",
    fenced!()
);

/// A job stopped at ?4 because a cancel was requested while it ran, kept until ?5, with
/// reason ?6.
pub(super) const CANCEL_FENCED: &str = concat!(
    "UPDATE queue_jobs SET state = 'cancelled', last_error = coalesce(?6, last_error), \
     finished_at = ?4, updated_at = ?4, expire_at = ?5, lease_token = NULL, lease_until = NULL",
    fenced!()
);

/// An outcome that would run the job again (a retry, a deferral, a release), turned into
/// `cancelled` at ?4 (kept until ?5, error ?6 if any) because a cancel was requested while it
/// ran. ?7 is 1 when the attempt is given back (a deferral, a release).
pub(super) const CANCEL_INSTEAD: &str = concat!(
    "UPDATE queue_jobs SET state = 'cancelled', last_error = coalesce(?6, last_error), \
     attempts = max(attempts - ?7, 0), finished_at = ?4, updated_at = ?4, expire_at = ?5, \
     lease_token = NULL, lease_until = NULL",
    fenced!(),
    " AND cancel_requested_at IS NOT NULL"
);

/// A job a limit held back: scheduled again at ?5, its attempt given back.
pub(super) const DEFER: &str = concat!(
    "UPDATE queue_jobs SET state = 'scheduled', run_at = ?5, attempts = max(attempts - 1, 0), \
     updated_at = ?4, lease_token = NULL, lease_until = NULL",
    fenced!()
);

/// An unstarted job handed back: queued again (same `run_at`), its attempt given back.
pub(super) const RELEASE: &str = concat!(
    "UPDATE queue_jobs SET state = 'queued', attempts = max(attempts - 1, 0), updated_at = ?4, \
     lease_token = NULL, lease_until = NULL",
    fenced!()
);

/// A page of tenant ?1's jobs of type ?3 (state ?2, NULL for any) strictly after the position
/// (?4 created_at, ?5 id), newest first: on `queue_jobs_tenant_type`.
pub(super) const LIST_OF_TYPE: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM queue_jobs INDEXED BY queue_jobs_tenant_type WHERE tenant = ?1 AND job_type = ?3 \
     AND (?2 IS NULL OR state = ?2) AND (created_at, id) < (?4, ?5) \
     ORDER BY created_at DESC, id DESC LIMIT ?6"
);

/// A page of tenant ?1's jobs in the uncommon state ?2 (`scheduled`, `retrying`, `dead`,
/// `cancelled`; literal in the query so the partial index applies), strictly after the position
/// (?4 created_at, ?5 id), newest first; ?2 and ?3 are unused. The index's own condition is
/// repeated word for word: SQLite uses a partial index only when the query states it.
macro_rules! list_in_state {
    ($state:literal) => {
        concat!(
            "SELECT ",
            job_columns!(),
            " FROM queue_jobs WHERE tenant = ?1 \
             AND state IN ('scheduled', 'retrying', 'dead', 'cancelled') AND state = '",
            $state,
            "' AND (created_at, id) < (?4, ?5) ORDER BY created_at DESC, id DESC LIMIT ?6"
        )
    };
}

/// [`list_in_state!`] for each uncommon state.
pub(super) const LIST_SCHEDULED: &str = list_in_state!("scheduled");
pub(super) const LIST_RETRYING: &str = list_in_state!("retrying");
pub(super) const LIST_DEAD: &str = list_in_state!("dead");
pub(super) const LIST_CANCELLED: &str = list_in_state!("cancelled");

/// A page of tenant ?1's jobs (state ?2, type ?3, either NULL for any) strictly after the
/// position (?4 created_at, ?5 id), newest first: on the tenant's index (dense states).
pub(super) const LIST: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM queue_jobs WHERE tenant = ?1 AND (?2 IS NULL OR state = ?2) \
     AND (?3 IS NULL OR job_type = ?3) AND (created_at, id) < (?4, ?5) \
     ORDER BY created_at DESC, id DESC LIMIT ?6"
);

/// A dead job back to queued at ?3 with a fresh attempt budget.
pub(super) const RETRY_DEAD: &str = concat!(
    "UPDATE queue_jobs SET state = 'queued', max_attempts = attempts + max_attempts, run_at = ?3, updated_at = ?3, \
     finished_at = NULL, expire_at = NULL, cancel_requested_at = NULL WHERE id = ?1 AND tenant = ?2 AND state = 'dead' \
     RETURNING ",
    job_columns!()
);

/// Cancels at ?3 a job that has not started (kept until ?4); a running one keeps running with
/// the time of the first request in `cancel_requested_at`, for its worker to stop it.
pub(super) const CANCEL: &str = concat!(
    "UPDATE queue_jobs SET \
       state = CASE state WHEN 'running' THEN 'running' ELSE 'cancelled' END, \
       finished_at = CASE state WHEN 'running' THEN finished_at ELSE ?3 END, \
       expire_at = CASE state WHEN 'running' THEN expire_at ELSE ?4 END, \
       cancel_requested_at = CASE state WHEN 'running' \
         THEN coalesce(cancel_requested_at, ?3) ELSE cancel_requested_at END, \
       updated_at = CASE WHEN state = 'running' AND cancel_requested_at IS NOT NULL \
         THEN updated_at ELSE ?3 END \
     WHERE id = ?1 AND tenant = ?2 AND state IN ('queued', 'scheduled', 'retrying', 'running') \
     RETURNING ",
    job_columns!()
);

/// Deletes up to ?3 jobs of queue ?1 whose retention passed by ?2.
pub(super) const PURGE: &str = "DELETE FROM queue_jobs WHERE id IN (SELECT id FROM queue_jobs \
     WHERE queue = ?1 AND expire_at <= ?2 LIMIT ?3)";
