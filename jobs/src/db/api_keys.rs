//! API keys: `lsk_<id>_<secret>`, shown once, stored as a SHA-256 of the secret, revocable.
//!
//! The secret has 256 bits of entropy, so a fast hash is the right tool (a slow password hash
//! would only slow every request); the id part finds the row, and the hash is compared in
//! constant time.

use sqlx::{Any, Executor, Row};
use subtle::ConstantTimeEq;

use super::tenants::{RateLimit, rate_limit_of};
use super::{Db, DbError};
use crate::clock::now_ms;
use crate::ids::{ApiKeyId, TenantId};

/// The recognisable prefix of every Longshore API key (secret scanners can match it).
pub const KEY_PREFIX: &str = "lsk_";

/// A key as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant: TenantId,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A newly created key: the only moment the full token exists.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: ApiKey,
    /// The bearer token to hand to the client.
    pub token: String,
}

/// What a valid token stands for: its key, the key's tenant, and that tenant's own request
/// limit (`None`: the deployment's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub key: ApiKeyId,
    pub tenant: TenantId,
    pub rate_limit: Option<RateLimit>,
}

/// Creates a key for a tenant.
pub async fn create<'e>(
    exec: impl Executor<'e, Database = Any>,
    tenant: &TenantId,
    name: &str,
) -> Result<IssuedKey, DbError> {
    let id = ApiKeyId::new();
    let secret: [u8; 32] = rand::random();
    let secret = hex::encode(secret);
    let ulid = id.as_str().trim_start_matches("key_");
    let token = format!("{KEY_PREFIX}{ulid}_{secret}");
    let created_at = now_ms();
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.as_str())
    .bind(tenant.as_str())
    .bind(name)
    .bind(hash_secret(&secret))
    .bind(created_at)
    .execute(exec)
    .await?;
    Ok(IssuedKey {
        key: ApiKey {
            id,
            tenant: tenant.clone(),
            name: name.to_owned(),
            created_at,
            revoked_at: None,
        },
        token,
    })
}

/// What a bearer token stands for, if it is well-formed, known, not revoked, and its tenant
/// is not disabled.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Authenticated>, DbError> {
    let Some((id, secret)) = split_token(token) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT k.tenant_id, k.secret_hash, t.rate_limit_per_second, t.rate_limit_burst \
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
         WHERE k.id = $1 AND k.revoked_at IS NULL AND t.disabled_at IS NULL",
    )
    .bind(&id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: String = row.try_get(1)?;
    let given = hash_secret(secret);
    if !bool::from(stored.as_bytes().ct_eq(given.as_bytes())) {
        return Ok(None);
    }
    Ok(Some(Authenticated {
        key: ApiKeyId::from_trusted(id),
        tenant: TenantId::from_trusted(row.try_get::<String, _>(0)?),
        rate_limit: rate_limit_of(row.try_get(2)?, row.try_get(3)?),
    }))
}

/// A tenant's keys, newest first.
pub async fn list(db: &Db, tenant: &TenantId) -> Result<Vec<ApiKey>, DbError> {
    let rows = sqlx::query(
        "SELECT id, tenant_id, name, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC",
    )
    .bind(tenant.as_str())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(key_of).collect()
}

/// A key by id, revoked or not.
pub async fn get(db: &Db, id: &ApiKeyId) -> Result<Option<ApiKey>, DbError> {
    let row = sqlx::query(
        "SELECT id, tenant_id, name, created_at, revoked_at FROM api_keys WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(key_of).transpose()
}

/// A key from `id, tenant_id, name, created_at, revoked_at`.
fn key_of(r: &sqlx::any::AnyRow) -> Result<ApiKey, DbError> {
    Ok(ApiKey {
        id: ApiKeyId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        name: r.try_get(2)?,
        created_at: r.try_get(3)?,
        revoked_at: r.try_get(4)?,
    })
}

/// Revokes a key; the key as revoked if it existed and was active.
pub async fn revoke<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: &ApiKeyId,
) -> Result<Option<ApiKey>, DbError> {
    let row = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
         RETURNING id, tenant_id, name, created_at, revoked_at",
    )
    .bind(now_ms())
    .bind(id.as_str())
    .fetch_optional(exec)
    .await?;
    row.as_ref().map(key_of).transpose()
}

fn hash_secret(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `lsk_<ulid>_<secret>` into the key id and the secret.
fn split_token(token: &str) -> Option<(String, &str)> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let (ulid, secret) = rest.split_once('_')?;
    let valid = ulid.len() == 26
        && ulid.bytes().all(|b| b.is_ascii_alphanumeric())
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| (format!("key_{ulid}"), secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_into_id_and_secret() {
        let secret = "a".repeat(64);
        let token = format!("lsk_01HZZZZZZZZZZZZZZZZZZZZZZZ_{secret}");
        let (id, s) = split_token(&token).unwrap();
        assert_eq!(id, "key_01HZZZZZZZZZZZZZZZZZZZZZZZ");
        assert_eq!(s, secret);
        assert!(split_token("lsk_short_abc").is_none());
        assert!(split_token("Bearer nonsense").is_none());
    }
}
