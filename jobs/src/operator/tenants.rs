//! Operators' actions on tenants and keys, each in one transaction with its audit entry.

use serde_json::json;

use super::audit::{self, Actor, AuditAction};
use crate::clock::now_ms;
use crate::db::api_keys::{self, ApiKey, IssuedKey};
use crate::db::tenants::{self, RateLimit, Tenant};
use crate::db::{Db, DbError};
use crate::ids::{ApiKeyId, TenantId};

fn limit_detail(limit: Option<RateLimit>) -> serde_json::Value {
    match limit {
        Some(l) => json!({"rate_limit": {"per_second": l.per_second, "burst": l.burst}}),
        None => json!({"rate_limit": null}),
    }
}

/// Creates a tenant.
pub async fn create(
    db: &Db,
    actor: &Actor,
    name: &str,
    rate_limit: Option<RateLimit>,
) -> Result<Tenant, DbError> {
    let mut tx = db.begin_write().await?;
    let tenant = tenants::create(&mut *tx, name, rate_limit).await?;
    let mut detail = limit_detail(rate_limit);
    detail["name"] = json!(name);
    let target = Some(tenant.id.as_str());
    audit::record(&mut tx, actor, AuditAction::TenantCreated, target, detail).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// Disables or enables a tenant. `None` when there is no such tenant; an action that changes
/// nothing (disabling a disabled tenant) answers the tenant as it is and is not logged.
pub async fn set_disabled(
    db: &Db,
    actor: &Actor,
    id: &TenantId,
    disabled: bool,
) -> Result<Option<Tenant>, DbError> {
    let mut tx = db.begin_write().await?;
    let at = disabled.then(now_ms);
    let Some(tenant) = tenants::set_disabled(&mut *tx, id, at).await? else {
        let current = tenants::get(&mut *tx, id).await?;
        tx.commit().await?;
        return Ok(current);
    };
    let action = if disabled {
        AuditAction::TenantDisabled
    } else {
        AuditAction::TenantEnabled
    };
    audit::record(&mut tx, actor, action, Some(id.as_str()), json!({})).await?;
    tx.commit().await?;
    Ok(Some(tenant))
}

/// Sets a tenant's request limit (`None`: back to the deployment's default).
pub async fn set_rate_limit(
    db: &Db,
    actor: &Actor,
    id: &TenantId,
    rate_limit: Option<RateLimit>,
) -> Result<Option<Tenant>, DbError> {
    let mut tx = db.begin_write().await?;
    let Some(tenant) = tenants::set_rate_limit(&mut *tx, id, rate_limit).await? else {
        return Ok(None);
    };
    let detail = limit_detail(rate_limit);
    audit::record(
        &mut tx,
        actor,
        AuditAction::TenantLimitsSet,
        Some(id.as_str()),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(tenant))
}

/// Creates a key for a tenant (`None` when there is no such tenant). The token is in the
/// answer only, never in the log.
pub async fn create_key(
    db: &Db,
    actor: &Actor,
    tenant: &TenantId,
    name: &str,
) -> Result<Option<IssuedKey>, DbError> {
    let mut tx = db.begin_write().await?;
    if tenants::get(&mut *tx, tenant).await?.is_none() {
        return Ok(None);
    }
    let issued = api_keys::create(&mut *tx, tenant, name).await?;
    let detail = json!({"tenant_id": tenant.as_str(), "name": name});
    let target = Some(issued.key.id.as_str());
    audit::record(&mut tx, actor, AuditAction::KeyCreated, target, detail).await?;
    tx.commit().await?;
    Ok(Some(issued))
}

/// Revokes a key; the key as revoked, or `None` if there was no such active key.
pub async fn revoke_key(db: &Db, actor: &Actor, id: &ApiKeyId) -> Result<Option<ApiKey>, DbError> {
    let mut tx = db.begin_write().await?;
    let Some(key) = api_keys::revoke(&mut *tx, id).await? else {
        return Ok(None);
    };
    let detail = json!({"tenant_id": key.tenant.as_str(), "name": key.name});
    audit::record(
        &mut tx,
        actor,
        AuditAction::KeyRevoked,
        Some(id.as_str()),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(key))
}
