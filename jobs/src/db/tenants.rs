//! Tenants: every resource belongs to one, and another tenant's ids answer 404.
//!
//! A disabled tenant keeps its data and queued work, but its keys are refused. Its own request
//! limit, when set, overrides the deployment's default. Writes take any executor, so the
//! operator's actions run them inside the transaction that records them in the audit log.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Db, DbError};
use crate::clock::now_ms;
use crate::ids::TenantId;

/// A request limit: a token bucket of `burst` tokens refilled at `per_second`; a
/// `per_second` of 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: i64,
    /// When an operator disabled it; `None` while it is active.
    pub disabled_at: Option<i64>,
    /// Its own request limit; `None`: the deployment's default.
    pub rate_limit: Option<RateLimit>,
}

const COLUMNS: &str = "id, name, created_at, disabled_at, rate_limit_per_second, rate_limit_burst";

/// A stored limit column pair as a [`RateLimit`] (both set, or the default).
pub(crate) fn rate_limit_of(per_second: Option<i64>, burst: Option<i64>) -> Option<RateLimit> {
    match (per_second, burst) {
        (Some(p), Some(b)) => Some(RateLimit {
            per_second: u32::try_from(p).unwrap_or(u32::MAX),
            burst: u32::try_from(b).unwrap_or(u32::MAX),
        }),
        _ => None,
    }
}

fn from_row(r: &AnyRow) -> Result<Tenant, DbError> {
    Ok(Tenant {
        id: TenantId::from_trusted(r.try_get::<String, _>(0)?),
        name: r.try_get(1)?,
        created_at: r.try_get(2)?,
        disabled_at: r.try_get(3)?,
        rate_limit: rate_limit_of(r.try_get(4)?, r.try_get(5)?),
    })
}

/// Creates an active tenant.
pub async fn create<'e>(
    exec: impl Executor<'e, Database = Any>,
    name: &str,
    rate_limit: Option<RateLimit>,
) -> Result<Tenant, DbError> {
    let tenant = Tenant {
        id: TenantId::new(),
        name: name.to_owned(),
        created_at: now_ms(),
        disabled_at: None,
        rate_limit,
    };
    sqlx::query(
        "INSERT INTO tenants (id, name, created_at, rate_limit_per_second, rate_limit_burst) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.id.as_str())
    .bind(&tenant.name)
    .bind(tenant.created_at)
    .bind(rate_limit.map(|l| i64::from(l.per_second)))
    .bind(rate_limit.map(|l| i64::from(l.burst)))
    .execute(exec)
    .await?;
    Ok(tenant)
}

/// A tenant by id.
pub async fn get<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: &TenantId,
) -> Result<Option<Tenant>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(exec)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds a tenant by name (the embedded launcher reuses its development tenant).
pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<Tenant>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE name = $1 ORDER BY created_at LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every tenant, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Tenant>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// A page of tenants in id (creation) order, after `after` when given.
pub async fn page(db: &Db, after: Option<&TenantId>, limit: usize) -> Result<Vec<Tenant>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after.map_or("", |t| t.as_str()))
        .bind(limit as i64)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Disables (`Some(at)`) or enables (`None`) a tenant. `None` if there is no such tenant or
/// it already was in that state (the first disabling time is kept).
pub async fn set_disabled<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: &TenantId,
    disabled_at: Option<i64>,
) -> Result<Option<Tenant>, DbError> {
    let condition = if disabled_at.is_some() {
        "disabled_at IS NULL"
    } else {
        "disabled_at IS NOT NULL"
    };
    let sql = format!(
        "UPDATE tenants SET disabled_at = $1 WHERE id = $2 AND {condition} RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(disabled_at)
        .bind(id.as_str())
        .fetch_optional(exec)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Sets (or, with `None`, clears back to the default) a tenant's request limit.
pub async fn set_rate_limit<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: &TenantId,
    rate_limit: Option<RateLimit>,
) -> Result<Option<Tenant>, DbError> {
    let sql = format!(
        "UPDATE tenants SET rate_limit_per_second = $1, rate_limit_burst = $2 WHERE id = $3 \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(rate_limit.map(|l| i64::from(l.per_second)))
        .bind(rate_limit.map(|l| i64::from(l.burst)))
        .bind(id.as_str())
        .fetch_optional(exec)
        .await?;
    row.as_ref().map(from_row).transpose()
}
