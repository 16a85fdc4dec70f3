//! Tenants: every resource belongs to one, and another tenant's ids answer 404.

use sqlx::Row;

use super::{Db, DbError};
use crate::clock::now_ms;
use crate::ids::TenantId;

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: i64,
}

/// Creates a tenant.
pub async fn create(db: &Db, name: &str) -> Result<Tenant, DbError> {
    let tenant = Tenant {
        id: TenantId::new(),
        name: name.to_owned(),
        created_at: now_ms(),
    };
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(tenant.id.as_str())
        .bind(&tenant.name)
        .bind(tenant.created_at)
        .execute(db.pool())
        .await?;
    Ok(tenant)
}

/// Finds a tenant by name (the embedded launcher reuses its development tenant).
pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<Tenant>, DbError> {
    let row = sqlx::query(
        "SELECT id, name, created_at FROM tenants WHERE name = $1 ORDER BY created_at LIMIT 1",
    )
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| Tenant {
        id: TenantId::from_trusted(r.get::<String, _>(0)),
        name: r.get(1),
        created_at: r.get(2),
    }))
}

/// Every tenant, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Tenant>, DbError> {
    let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at")
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Tenant {
            id: TenantId::from_trusted(r.get::<String, _>(0)),
            name: r.get(1),
            created_at: r.get(2),
        })
        .collect())
}
