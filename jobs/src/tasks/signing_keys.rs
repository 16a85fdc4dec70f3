//! Each tenant's secret for the requests Longshore sends it (Standard Webhooks signatures).
//!
//! One secret per tenant, sealed at rest like the gateway secrets (the key must be known to
//! sign, so it cannot be hashed), handed out only by the call that creates or rotates it.
//! Rotation keeps the previous secret signing too until the overlap ends: every request then
//! carries two signatures, so the app can switch its verifier at any moment in between.

use sqlx::Row;

use crate::clock::now_ms;
use crate::config::Secret;
use crate::db::{Db, DbError};
use crate::ids::TenantId;
use crate::secret_box::{SealError, SecretBox};

/// Why a signing secret could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The master key is missing or wrong: an operator's problem, not the caller's.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// What a tenant's signing secret looks like from the outside (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    pub created_at: i64,
    pub rotated_at: Option<i64>,
    /// Until when the previous secret still signs, after a rotation.
    pub previous_valid_until: Option<i64>,
}

fn context(tenant: &TenantId) -> String {
    format!("longshore/task-signing/{tenant}")
}

/// Creates the tenant's secret, or rotates it (the previous one keeps signing for
/// `overlap_ms`; a second rotation within the overlap retires the oldest at once). Returns the
/// new secret: the only time it is handed out.
pub async fn rotate(
    db: &Db,
    sealer: &SecretBox,
    tenant: &TenantId,
    secret: Secret,
    overlap_ms: i64,
) -> Result<(SigningKeyInfo, Secret), SigningKeyError> {
    let sealed = sealer.seal(&secret, &context(tenant))?;
    let now = now_ms();
    let rotated = sqlx::query(
        "UPDATE task_signing_secrets SET previous_secret = secret, previous_valid_until = $2, \
         secret = $3, rotated_at = $4 WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .bind(now.saturating_add(overlap_ms))
    .bind(&sealed)
    .bind(now)
    .execute(db.pool())
    .await
    .map_err(DbError::from)?;
    if rotated.rows_affected() == 0 {
        let created = sqlx::query(
            "INSERT INTO task_signing_secrets (tenant_id, secret, created_at) VALUES ($1, $2, $3)",
        )
        .bind(tenant.as_str())
        .bind(&sealed)
        .bind(now)
        .execute(db.pool())
        .await;
        match created.map_err(DbError::from) {
            Ok(_) => {}
            // Another request created it meanwhile: rotate over it.
            Err(DbError::Conflict(_)) => {
                return Box::pin(rotate(db, sealer, tenant, secret, overlap_ms)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let info = info(db, tenant)
        .await?
        .ok_or_else(|| DbError::Internal("signing secret vanished after being written".into()))?;
    Ok((info, secret))
}

/// The tenant's secret's dates, if it has one.
pub async fn info(db: &Db, tenant: &TenantId) -> Result<Option<SigningKeyInfo>, DbError> {
    let row = sqlx::query(
        "SELECT created_at, rotated_at, previous_valid_until FROM task_signing_secrets \
         WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        Ok(SigningKeyInfo {
            created_at: r.try_get(0)?,
            rotated_at: r.try_get(1)?,
            previous_valid_until: r.try_get(2)?,
        })
    })
    .transpose()
}

/// The secrets that sign the tenant's requests at `now`: the current one, and the previous
/// one during its overlap. Empty when the tenant has none.
pub async fn signing_secrets(
    db: &Db,
    sealer: &SecretBox,
    tenant: &TenantId,
    now: i64,
) -> Result<Vec<Secret>, SigningKeyError> {
    let row = sqlx::query(
        "SELECT secret, previous_secret, previous_valid_until FROM task_signing_secrets \
         WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .fetch_optional(db.pool())
    .await
    .map_err(DbError::from)?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let current: String = row.try_get(0).map_err(DbError::from)?;
    let previous: Option<String> = row.try_get(1).map_err(DbError::from)?;
    let until: Option<i64> = row.try_get(2).map_err(DbError::from)?;
    Ok(sealer.open_signing(&current, previous.as_deref(), until, now, &context(tenant))?)
}
