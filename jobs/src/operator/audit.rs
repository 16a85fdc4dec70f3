//! The audit log: who did what to the deployment, when, and from where. Each entry is written
//! in the transaction of the change it describes ([`record`]), so a change is never made
//! without its entry, and an entry never describes a change that rolled back.

use serde_json::Value;
use sqlx::Row;

use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::AuditId;
use crate::payments::repo::Tx;
use crate::words::word_enum;

word_enum!(
    /// What an operator did.
    AuditAction {
        TenantCreated => "tenant.created",
        TenantDisabled => "tenant.disabled",
        TenantEnabled => "tenant.enabled",
        TenantLimitsSet => "tenant.limits_set",
        KeyCreated => "key.created",
        KeyRevoked => "key.revoked",
        DashboardLogin => "dashboard.login",
        DashboardLoginFailed => "dashboard.login_failed",
        DashboardLogout => "dashboard.logout",
        JobRetried => "job.retry",
        JobCancelled => "job.cancel",
        BulkStarted => "bulk.started",
        BulkFinished => "bulk.finished",
    }
);

/// Who acts, and from where: the operator key's label, the client address and the request id
/// the logs carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub operator: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
}

/// One entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditId,
    /// Ms since the Unix epoch.
    pub at: i64,
    pub actor: Actor,
    pub action: AuditAction,
    /// The id of what was acted on (a tenant, a key).
    pub target: Option<String>,
    /// What else matters about the action (a name, the limits set); never a secret.
    pub detail: Value,
}

/// Records `action` on `target` by `actor` in `tx`.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: AuditAction,
    target: Option<&str>,
    detail: Value,
) -> Result<AuditId, DbError> {
    let at = now_ms();
    let id = AuditId::new();
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, target, detail, client_ip, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.as_str())
    .bind(at)
    .bind(&actor.operator)
    .bind(action.as_str())
    .bind(target)
    .bind(detail.to_string())
    .bind(actor.client_ip.as_deref())
    .bind(actor.request_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Entries newest first, `limit` of them, older than the entry `before` when given.
pub async fn list(
    db: &Db,
    before: Option<&AuditId>,
    limit: usize,
) -> Result<Vec<AuditEntry>, DbError> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, detail, client_ip, request_id FROM audit_log \
         WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(before.map_or("", |b| b.as_str()))
    .bind(limit as i64)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let action: String = r.try_get(3)?;
            let detail: String = r.try_get(5)?;
            Ok(AuditEntry {
                id: AuditId::from_trusted(r.try_get::<String, _>(0)?),
                at: r.try_get(1)?,
                actor: Actor {
                    operator: r.try_get(2)?,
                    client_ip: r.try_get(6)?,
                    request_id: r.try_get(7)?,
                },
                action: action
                    .parse()
                    .map_err(|e: String| DbError::Internal(format!("corrupt audit row: {e}")))?,
                target: r.try_get(4)?,
                detail: serde_json::from_str(&detail)
                    .map_err(|e| DbError::Internal(format!("corrupt audit row: {e}")))?,
            })
        })
        .collect()
}
