//! A tenant's suppression list: addresses that must not be mailed again, because they bounced
//! (a 5xx reply), unsubscribed (RFC 8058 one-click), or were added by hand. Keyed by the
//! normalised address ([`super::address::normalise`]); the first reason recorded is kept.

use sqlx::{AnyConnection, Row};

use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::{EmailId, TenantId};

/// Why an address is suppressed.
pub const BOUNCED: &str = "bounced";
/// The recipient unsubscribed.
pub const UNSUBSCRIBED: &str = "unsubscribed";
/// Added through the API.
pub const MANUAL: &str = "manual";

/// A suppressed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub address: String,
    pub reason: String,
    /// The email that caused it (a bounce or an unsubscribe link).
    pub email: Option<EmailId>,
    /// The server's reply for a bounce.
    pub detail: Option<String>,
    pub created_at: i64,
}

/// Suppresses each of `addresses` (normalised already); existing entries are kept as they are.
pub async fn add(
    db: &Db,
    tenant: &TenantId,
    addresses: &[String],
    reason: &str,
    email: Option<&EmailId>,
    detail: Option<&str>,
) -> Result<(), DbError> {
    let mut conn = db.pool().acquire().await?;
    add_on(&mut conn, tenant, addresses, reason, email, detail).await?;
    Ok(())
}

/// [`add`] on `conn` (inside the caller's transaction, so the suppression commits with what
/// it causes); returns the addresses that were not suppressed before.
pub async fn add_on(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    addresses: &[String],
    reason: &str,
    email: Option<&EmailId>,
    detail: Option<&str>,
) -> Result<Vec<String>, DbError> {
    let now = now_ms();
    let mut added = Vec::new();
    for address in addresses {
        let done = sqlx::query("INSERT INTO email_suppressions (tenant_id, address, reason, email_id, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, address) DO NOTHING")
            .bind(tenant.as_str())
            .bind(address)
            .bind(reason)
            .bind(email.map(|e| e.as_str().to_owned()))
            .bind(detail)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() == 1 {
            added.push(address.clone());
        }
    }
    Ok(added)
}

/// One suppressed address of the tenant.
pub async fn get(
    db: &Db,
    tenant: &TenantId,
    address: &str,
) -> Result<Option<Suppression>, DbError> {
    let row = sqlx::query("SELECT address, reason, email_id, detail, created_at FROM email_suppressions WHERE tenant_id = $1 AND address = $2")
        .bind(tenant.as_str())
        .bind(address)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| {
        Ok(Suppression {
            address: r.try_get(0)?,
            reason: r.try_get(1)?,
            email: r
                .try_get::<Option<String>, _>(2)?
                .map(EmailId::from_trusted),
            detail: r.try_get(3)?,
            created_at: r.try_get(4)?,
        })
    })
    .transpose()
}

/// Lifts a suppression; false if the address was not suppressed.
pub async fn remove(db: &Db, tenant: &TenantId, address: &str) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM email_suppressions WHERE tenant_id = $1 AND address = $2")
        .bind(tenant.as_str())
        .bind(address)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Which of `addresses` (normalised) the tenant suppresses.
pub async fn which(
    db: &Db,
    tenant: &TenantId,
    addresses: &[String],
) -> Result<Vec<String>, DbError> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (2..addresses.len() + 2).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT address FROM email_suppressions WHERE tenant_id = $1 AND address IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str());
    for a in addresses {
        q = q.bind(a);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// The suppressed ones of `addresses` (normalised) with the reason each was suppressed for.
pub async fn reasons(
    db: &Db,
    tenant: &TenantId,
    addresses: &[String],
) -> Result<Vec<(String, String)>, DbError> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (2..addresses.len() + 2).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT address, reason FROM email_suppressions WHERE tenant_id = $1 AND address IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str());
    for a in addresses {
        q = q.bind(a);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
