//! API keys: `lsk_<id>_<secret>`, shown once, stored as a SHA-256 of the secret, revocable.
//!
//! The secret has 256 bits of entropy, so a fast hash is the right tool (a slow password hash
//! would only slow every request); the id part finds the row, and the hash is compared in
//! constant time.

use sqlx::Row;
use subtle::ConstantTimeEq;

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

/// Creates a key for a tenant.
pub async fn create(db: &Db, tenant: &TenantId, name: &str) -> Result<IssuedKey, DbError> {
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
    .execute(db.pool())
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

/// The tenant a bearer token belongs to, if the token is well-formed, known and not revoked.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<TenantId>, DbError> {
    let Some((id, secret)) = split_token(token) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT tenant_id, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(&id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: String = row.get(1);
    let given = hash_secret(secret);
    if bool::from(stored.as_bytes().ct_eq(given.as_bytes())) {
        Ok(Some(TenantId::from_trusted(row.get::<String, _>(0))))
    } else {
        Ok(None)
    }
}

/// A tenant's keys, newest first.
pub async fn list(db: &Db, tenant: &TenantId) -> Result<Vec<ApiKey>, DbError> {
    let rows = sqlx::query(
        "SELECT id, tenant_id, name, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC",
    )
    .bind(tenant.as_str())
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ApiKey {
            id: ApiKeyId::from_trusted(r.get::<String, _>(0)),
            tenant: TenantId::from_trusted(r.get::<String, _>(1)),
            name: r.get(2),
            created_at: r.get(3),
            revoked_at: r.get(4),
        })
        .collect())
}

/// Revokes a key; true if it existed and was active.
pub async fn revoke(db: &Db, id: &ApiKeyId) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id.as_str())
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected() == 1)
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
