//! Gateway endpoints and their signing secrets.
//!
//! A secret is `whsec_` + base64 of 32 random bytes, which suits both schemes (Stripe keys the
//! HMAC with the whole string, Standard Webhooks with the decoded base64). It must be stored
//! readable, since verifying an HMAC needs the key itself; it is returned only by the creation and
//! rotation calls and never logged ([`Secret`] does not print). Rotation keeps the previous secret
//! valid until the overlap ends, so the tenant can update the gateway without losing events.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Provider;
use crate::clock::now_ms;
use crate::config::Secret;
use crate::db::{Db, DbError};
use crate::ids::{TenantId, WebhookEndpointId};

/// An endpoint as listed (never with its secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub id: WebhookEndpointId,
    pub tenant: TenantId,
    pub provider: Provider,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
    /// Until when the previous secret is still accepted, after a rotation.
    pub previous_secret_valid_until: Option<i64>,
}

/// What intake needs to verify a delivery.
#[derive(Debug, Clone)]
pub struct EndpointKeys {
    pub id: WebhookEndpointId,
    pub tenant: TenantId,
    pub provider: Provider,
    secret: Secret,
    previous: Option<(Secret, i64)>,
}

impl EndpointKeys {
    /// The secrets that verify a delivery at `now_ms`: the current one, and the previous one
    /// during its overlap.
    pub fn valid_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut out = vec![self.secret.expose()];
        if let Some((s, until)) = &self.previous
            && now_ms < *until
        {
            out.push(s.expose());
        }
        out
    }
}

fn new_secret() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(format!("whsec_{}", BASE64.encode(bytes)))
}

/// Creates an endpoint; returns it with its secret (the only time the secret is handed out).
pub async fn create(
    db: &Db,
    tenant: &TenantId,
    provider: Provider,
) -> Result<(Endpoint, Secret), DbError> {
    let id = WebhookEndpointId::new();
    let secret = new_secret();
    let now = now_ms();
    sqlx::query("INSERT INTO webhook_endpoints (id, tenant_id, provider, secret, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(provider.as_str())
        .bind(secret.expose())
        .bind(now)
        .execute(db.pool())
        .await?;
    let endpoint = Endpoint {
        id,
        tenant: tenant.clone(),
        provider,
        created_at: now,
        rotated_at: None,
        previous_secret_valid_until: None,
    };
    Ok((endpoint, secret))
}

/// Replaces the secret; the old one stays valid for `overlap_ms`. Returns the new secret, or
/// `None` if `tenant` has no such endpoint. A second rotation within the overlap retires the
/// oldest secret at once (only two are ever valid).
pub async fn rotate(
    db: &Db,
    tenant: &TenantId,
    id: &WebhookEndpointId,
    overlap_ms: i64,
) -> Result<Option<(Endpoint, Secret)>, DbError> {
    let secret = new_secret();
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_valid_until = $1, secret = $2, rotated_at = $3 WHERE tenant_id = $4 AND id = $5",
    )
    .bind(now + overlap_ms)
    .bind(secret.expose())
    .bind(now)
    .bind(tenant.as_str())
    .bind(id.as_str())
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    Ok(get(db, tenant, id).await?.map(|e| (e, secret)))
}

const COLUMNS: &str = "id, tenant_id, provider, created_at, rotated_at, previous_valid_until";

/// One endpoint of `tenant`.
pub async fn get(
    db: &Db,
    tenant: &TenantId,
    id: &WebhookEndpointId,
) -> Result<Option<Endpoint>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(decode).transpose()
}

/// `tenant`'s endpoints, newest first.
pub async fn list(db: &Db, tenant: &TenantId) -> Result<Vec<Endpoint>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id DESC");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(decode).collect()
}

fn decode(r: &AnyRow) -> Result<Endpoint, DbError> {
    Ok(Endpoint {
        id: WebhookEndpointId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        provider: parse_provider(&r.try_get::<String, _>(2)?)?,
        created_at: r.try_get(3)?,
        rotated_at: r.try_get(4)?,
        previous_secret_valid_until: r.try_get(5)?,
    })
}

fn parse_provider(s: &str) -> Result<Provider, DbError> {
    s.parse().map_err(DbError::Unavailable)
}

/// The keys of an endpoint, by id alone (intake is public: the signature authenticates).
pub async fn keys(db: &Db, id: &WebhookEndpointId) -> Result<Option<EndpointKeys>, DbError> {
    let row = sqlx::query(
        "SELECT id, tenant_id, provider, secret, previous_secret, previous_valid_until FROM webhook_endpoints WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let previous: Option<String> = r.try_get(4)?;
    let until: Option<i64> = r.try_get(5)?;
    Ok(Some(EndpointKeys {
        id: WebhookEndpointId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        provider: parse_provider(&r.try_get::<String, _>(2)?)?,
        secret: Secret::new(r.try_get::<String, _>(3)?),
        previous: previous.zip(until).map(|(s, u)| (Secret::new(s), u)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_suit_both_schemes_and_never_print() {
        let s = new_secret();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(
            super::super::signature::standard_key(s.expose()).map(|k| k.len()),
            Some(32)
        );
        let keys = EndpointKeys {
            id: WebhookEndpointId::new(),
            tenant: TenantId::new(),
            provider: Provider::Stripe,
            secret: s.clone(),
            previous: Some((Secret::new("whsec_old"), 1000)),
        };
        assert!(!format!("{keys:?}").contains(s.expose()));
        assert_eq!(keys.valid_secrets(999).len(), 2);
        assert_eq!(keys.valid_secrets(1000), vec![s.expose()]);
    }
}
