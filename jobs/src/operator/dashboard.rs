//! The operators' dashboard (`/dashboard` of the API): its sessions, and the job actions it
//! offers (retry a dead job, cancel one that has not started), each written to the audit log.
//!
//! A session is opened by logging in with an operator key; the browser keeps a random token in
//! a cookie and the database keeps only its SHA-256 digest, the operator's label and when it
//! expires ([`SESSION_TTL_MS`], 8 hours), so logout and expiry end it at once and a copy of
//! the table opens nothing. A job action runs on the queue (Redis or SQLite, not the business
//! database), so its audit entry is written right after the queue accepted it.

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::audit::{self, Actor, AuditAction};
use crate::cancel;
use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::{JobId, TenantId};
use crate::queue::{JobRecord, JobState, QueueError};
use crate::services::Services;
use crate::tasks::model::task_of_job;
use crate::tasks::service::{self as tasks, TasksError};

/// How long a dashboard session lasts: 8 hours from login.
pub const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;

/// A session token as the operator's browser holds it: 32 random bytes, hex. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// The token as it goes into the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    /// The operator key's label.
    pub operator: String,
    /// Ms since the Unix epoch.
    pub expires_at: i64,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session for `actor` (whose key was just verified): stores the token's digest and
/// the login's audit entry in one transaction, and forgets sessions that have expired.
pub async fn open_session(db: &Db, actor: &Actor) -> Result<SessionToken, DbError> {
    let secret: [u8; 32] = rand::random();
    let token = SessionToken(hex::encode(secret));
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO dashboard_sessions (token_sha256, operator, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(digest(&token.0))
    .bind(&actor.operator)
    .bind(now)
    .bind(now + SESSION_TTL_MS)
    .execute(&mut *tx)
    .await?;
    let detail = json!({"expires_at": now + SESSION_TTL_MS});
    audit::record(&mut tx, actor, AuditAction::DashboardLogin, None, detail).await?;
    tx.commit().await?;
    Ok(token)
}

/// Records a refused login (`reason` says which kind of key was presented, never the key).
pub async fn record_failed_login(db: &Db, actor: &Actor, reason: &str) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    let detail = json!({"reason": reason});
    audit::record(
        &mut tx,
        actor,
        AuditAction::DashboardLoginFailed,
        None,
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The live session whose token is `token`, if any.
pub async fn find_session(db: &Db, token: &str) -> Result<Option<DashboardSession>, DbError> {
    let row = sqlx::query(
        "SELECT operator, expires_at FROM dashboard_sessions \
         WHERE token_sha256 = $1 AND expires_at > $2",
    )
    .bind(digest(token))
    .bind(now_ms())
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        Ok(DashboardSession {
            operator: r.try_get(0)?,
            expires_at: r.try_get(1)?,
        })
    })
    .transpose()
}

/// Ends the session whose token is `token` (logout); `false` when there was none.
pub async fn close_session(db: &Db, actor: &Actor, token: &str) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let gone = sqlx::query("DELETE FROM dashboard_sessions WHERE token_sha256 = $1")
        .bind(digest(token))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        tx.commit().await?;
        return Ok(false);
    }
    audit::record(
        &mut tx,
        actor,
        AuditAction::DashboardLogout,
        None,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Why a job action was not done.
#[derive(Debug, thiserror::Error)]
pub enum JobActionError {
    #[error("no such job")]
    NotFound,
    /// The job is not in a state (or not of a kind) the action applies to.
    #[error("{0}")]
    Refused(String),
    /// The queue or the database could not be reached; try again.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<QueueError> for JobActionError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::NotFound => JobActionError::NotFound,
            QueueError::InvalidState(state) => {
                JobActionError::Refused(format!("the job is {state}"))
            }
            QueueError::Unavailable(m) => JobActionError::Unavailable(m),
            other => JobActionError::Internal(other.to_string()),
        }
    }
}

impl From<DbError> for JobActionError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(m) => JobActionError::Unavailable(m),
            other => JobActionError::Internal(other.to_string()),
        }
    }
}

impl From<TasksError> for JobActionError {
    fn from(e: TasksError) -> Self {
        match e {
            TasksError::Queue(q) => q.into(),
            TasksError::Db(d) => d.into(),
            TasksError::NoSuchTask | TasksError::NoSuchQueue => JobActionError::NotFound,
            other => JobActionError::Refused(other.to_string()),
        }
    }
}

/// Why `job` cannot be cancelled from the dashboard, or `None` when it can: the jobs API's
/// rule ([`cancel::refusal`]), where an HTTP task's job is cancelled with its task.
pub fn cancel_refusal(job: &JobRecord) -> Option<String> {
    if !job.state.is_cancellable() {
        return Some(format!("the job is {}", job.state));
    }
    if task_of_job(&job.id).is_some() {
        return None;
    }
    cancel::refusal(crate::job_types::registry(), job)
}

/// Whether the dashboard offers to retry `job`.
pub fn can_retry(job: &JobRecord) -> bool {
    job.state == JobState::Dead
}

async fn record_job_action(
    db: &Db,
    actor: &Actor,
    action: AuditAction,
    job: &JobRecord,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    let detail = json!({"tenant_id": job.tenant.as_str(), "type": job.job_type});
    audit::record(&mut tx, actor, action, Some(job.id.as_str()), detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Retries a dead job of `tenant` (an HTTP task's job with its task, as the jobs API does),
/// then records it in the audit log.
pub async fn retry_job(
    services: &Services,
    actor: &Actor,
    tenant: &TenantId,
    id: &JobId,
) -> Result<JobRecord, JobActionError> {
    let job = retry_unaudited(services, tenant, id).await?;
    record_job_action(&services.db, actor, AuditAction::JobRetried, &job).await?;
    Ok(job)
}

/// Retries a dead job of `tenant` (an HTTP task's job with its task), without an audit entry:
/// for a caller that records the action itself (a bulk operation's one entry).
pub async fn retry_unaudited(
    services: &Services,
    tenant: &TenantId,
    id: &JobId,
) -> Result<JobRecord, JobActionError> {
    let queue = services.queue.as_ref();
    Ok(match task_of_job(id) {
        Some(task) => tasks::retry_task(&services.db, queue, tenant, &task).await?,
        None => queue.retry_dead(tenant, id).await?,
    })
}

/// Cancels a job of `tenant` that has not started, under the jobs API's rule of which jobs
/// may be cancelled, then records it in the audit log.
pub async fn cancel_job(
    services: &Services,
    actor: &Actor,
    tenant: &TenantId,
    id: &JobId,
) -> Result<JobRecord, JobActionError> {
    let queue = services.queue.as_ref();
    let found = queue
        .get(tenant, id)
        .await?
        .ok_or(JobActionError::NotFound)?;
    let job = cancel_unaudited(services, &found).await?;
    record_job_action(&services.db, actor, AuditAction::JobCancelled, &job).await?;
    Ok(job)
}

/// Cancels `found` (as just read from the queue) under the jobs API's rule, without an audit
/// entry: for a caller that records the action itself (a bulk operation's one entry). A job
/// whose state changed since it was read is `NotFound` or `Refused`, from the queue.
pub async fn cancel_unaudited(
    services: &Services,
    found: &JobRecord,
) -> Result<JobRecord, JobActionError> {
    if let Some(why) = cancel_refusal(found) {
        return Err(JobActionError::Refused(why));
    }
    let queue = services.queue.as_ref();
    let (tenant, id) = (&found.tenant, &found.id);
    Ok(match task_of_job(id) {
        Some(task) => {
            let keep = services.couriers.keep_name();
            tasks::cancel_task(&services.db, queue, tenant, &task, keep).await?
        }
        None => queue.cancel(tenant, id).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        (dir, Db::connect(&url).await.unwrap())
    }

    fn actor() -> Actor {
        Actor {
            operator: "alice".into(),
            client_ip: Some("127.0.0.1".into()),
            request_id: None,
        }
    }

    #[test]
    fn a_token_is_never_printed() {
        let token = SessionToken("ab".repeat(32));
        assert_eq!(format!("{token:?}"), "SessionToken(…)");
    }

    #[tokio::test]
    async fn sessions_open_end_at_logout_and_expire() {
        let (_dir, db) = db().await;
        let token = open_session(&db, &actor()).await.unwrap();
        assert_eq!(token.expose().len(), 64);
        let found = find_session(&db, token.expose()).await.unwrap().unwrap();
        assert_eq!(found.operator, "alice");
        assert!(found.expires_at > now_ms() + SESSION_TTL_MS - 60_000);

        // Only the digest is stored.
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_sha256 FROM dashboard_sessions")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(stored, vec![digest(token.expose())]);
        assert!(
            find_session(&db, &digest(token.expose()))
                .await
                .unwrap()
                .is_none()
        );

        assert!(close_session(&db, &actor(), token.expose()).await.unwrap());
        assert!(find_session(&db, token.expose()).await.unwrap().is_none());
        assert!(!close_session(&db, &actor(), token.expose()).await.unwrap());

        // An expired session opens nothing, and the next login clears it away.
        let old = open_session(&db, &actor()).await.unwrap();
        sqlx::query("UPDATE dashboard_sessions SET expires_at = $1")
            .bind(now_ms() - 1)
            .execute(db.pool())
            .await
            .unwrap();
        assert!(find_session(&db, old.expose()).await.unwrap().is_none());
        open_session(&db, &actor()).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dashboard_sessions")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(left, 1);

        let log = audit::list(&db, None, 10).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "dashboard.login",
                "dashboard.login",
                "dashboard.logout",
                "dashboard.login"
            ]
        );
    }
}
