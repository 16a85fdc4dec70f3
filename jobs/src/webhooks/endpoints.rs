//! Gateway endpoints and their signing secrets.
//!
//! A secret is `whsec_` + base64 of 32 random bytes, which suits both schemes (Stripe keys the
//! HMAC with the whole string, Standard Webhooks with the decoded base64). Verifying an HMAC needs
//! the key itself, so it is stored sealed with a master key ([`crate::secret_box`]) rather than
//! hashed; it is returned only by the creation and rotation calls and never logged ([`Secret`]
//! does not print). Rotation keeps the previous secret valid until the overlap ends, so the
//! tenant can update the gateway without losing events.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Provider;
use crate::clock::now_ms;
use crate::config::Secret;
use crate::db::{Db, DbError};
use crate::ids::{TenantId, WebhookEndpointId};
use crate::secret_box::{SealError, SecretBox};

/// Why an endpoint's secrets could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The master key is missing or wrong: an operator's problem, not the caller's.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// The associated data a secret of endpoint `id` is sealed with.
fn context(id: &WebhookEndpointId) -> String {
    format!("longshore/webhook-endpoint/{id}")
}

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

/// A fresh secret, the same kind every Longshore signing secret is.
fn new_secret() -> Secret {
    Secret::new(crate::outbound::signing::generate_secret())
}

/// Creates an endpoint; returns it with its secret (the only time the secret is handed out).
pub async fn create(
    db: &Db,
    sealer: &SecretBox,
    tenant: &TenantId,
    provider: Provider,
) -> Result<(Endpoint, Secret), EndpointError> {
    let id = WebhookEndpointId::new();
    let secret = new_secret();
    let sealed = sealer.seal(&secret, &context(&id))?;
    let now = now_ms();
    sqlx::query("INSERT INTO webhook_endpoints (id, tenant_id, provider, secret, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(provider.as_str())
        .bind(sealed)
        .bind(now)
        .execute(db.pool())
        .await
        .map_err(DbError::from)?;
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
    sealer: &SecretBox,
    tenant: &TenantId,
    id: &WebhookEndpointId,
    overlap_ms: i64,
) -> Result<Option<(Endpoint, Secret)>, EndpointError> {
    let secret = new_secret();
    let sealed = sealer.seal(&secret, &context(id))?;
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_valid_until = $1, secret = $2, rotated_at = $3 WHERE tenant_id = $4 AND id = $5",
    )
    .bind(now + overlap_ms)
    .bind(sealed)
    .bind(now)
    .bind(tenant.as_str())
    .bind(id.as_str())
    .execute(db.pool())
    .await
    .map_err(DbError::from)?;
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
/// Secrets stored in plaintext (from before sealing) or sealed under a retired master key are
/// re-sealed under the current one on the way (best effort: a failure only means next time).
pub async fn keys(
    db: &Db,
    sealer: &SecretBox,
    id: &WebhookEndpointId,
) -> Result<Option<EndpointKeys>, EndpointError> {
    let row = sqlx::query(
        "SELECT id, tenant_id, provider, secret, previous_secret, previous_valid_until FROM webhook_endpoints WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await
    .map_err(DbError::from)?;
    let Some(r) = row else { return Ok(None) };
    let get = |i| r.try_get::<Option<String>, _>(i).map_err(DbError::from);
    let stored = get(3)?.unwrap_or_default();
    let previous = get(4)?;
    let until: Option<i64> = r.try_get(5).map_err(DbError::from)?;
    let ctx = context(id);
    let secret = sealer.open(&stored, &ctx)?;
    let previous_secret = previous
        .as_deref()
        .map(|p| sealer.open(p, &ctx))
        .transpose()?;
    for (column, old, plain) in [
        ("secret", Some(&stored), Some(&secret)),
        (
            "previous_secret",
            previous.as_ref(),
            previous_secret.as_ref(),
        ),
    ] {
        if let (Some(old), Some(plain)) = (old, plain)
            && !sealer.is_current(old)
        {
            reseal(db, sealer, id, column, old, plain).await;
        }
    }
    Ok(Some(EndpointKeys {
        id: WebhookEndpointId::from_trusted(r.try_get::<String, _>(0).map_err(DbError::from)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1).map_err(DbError::from)?),
        provider: parse_provider(&r.try_get::<String, _>(2).map_err(DbError::from)?)?,
        secret,
        previous: previous_secret.zip(until),
    }))
}

/// Replaces one stored value by its seal under the current key, if it has not changed since.
async fn reseal(
    db: &Db,
    sealer: &SecretBox,
    id: &WebhookEndpointId,
    column: &str,
    old: &str,
    plain: &Secret,
) {
    let Ok(sealed) = sealer.seal(plain, &context(id)) else {
        return;
    };
    let sql = match column {
        "secret" => "UPDATE webhook_endpoints SET secret = $1 WHERE id = $2 AND secret = $3",
        _ => {
            "UPDATE webhook_endpoints SET previous_secret = $1 WHERE id = $2 AND previous_secret = $3"
        }
    };
    if let Err(e) = sqlx::query(sql)
        .bind(sealed)
        .bind(id.as_str())
        .bind(old)
        .execute(db.pool())
        .await
    {
        tracing::warn!(endpoint = %id, error = %e, "re-sealing a webhook secret failed; next read retries");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn secrets_suit_both_schemes_and_never_print() {
        let s = new_secret();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(
            crate::signature::standard_key(s.expose()).map(|k| k.len()),
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

    fn key_ring(spec: &[(&str, u8)]) -> SecretBox {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        let raw: Vec<String> = spec
            .iter()
            .map(|(kid, b)| format!("{kid}:{}", STANDARD.encode([*b; 32])))
            .collect();
        SecretBox::parse(&raw.join(",")).expect("keys")
    }

    async fn stored(db: &Db, id: &WebhookEndpointId) -> (String, Option<String>) {
        let r = sqlx::query("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1")
            .bind(id.as_str())
            .fetch_one(db.pool())
            .await
            .expect("row");
        (r.get(0), r.get(1))
    }

    #[tokio::test]
    async fn secrets_are_sealed_at_rest_and_follow_master_key_rotation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let urls = [
            format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
            longshore_testkit::TestPostgres::shared().fresh_database(),
        ];
        for url in urls {
            let db = Db::connect(&url).await.expect("db");
            let tenant = TenantId::new();
            let old = key_ring(&[("k1", 1)]);
            let (e, secret) = create(&db, &old, &tenant, Provider::Stripe)
                .await
                .expect("create");
            let (at_rest, _) = stored(&db, &e.id).await;
            assert!(at_rest.starts_with("lsenc1:k1:"), "sealed at rest");
            assert!(!at_rest.contains(secret.expose()));
            let k = keys(&db, &old, &e.id)
                .await
                .expect("keys")
                .expect("endpoint");
            assert_eq!(k.valid_secrets(now_ms()), vec![secret.expose()]);

            // Rotating the endpoint's secret keeps the old one (still sealed) for the overlap.
            let (_, newer) = rotate(&db, &old, &tenant, &e.id, 60_000)
                .await
                .expect("rotate")
                .expect("endpoint");
            let (_, prev) = stored(&db, &e.id).await;
            assert!(prev.is_some_and(|p| p.starts_with("lsenc1:k1:")));
            let k = keys(&db, &old, &e.id)
                .await
                .expect("keys")
                .expect("endpoint");
            assert_eq!(
                k.valid_secrets(now_ms()),
                vec![newer.expose(), secret.expose()]
            );

            // A new master key first: values still open, and are re-sealed under it on read.
            let only_new = key_ring(&[("k2", 2)]);
            assert!(matches!(
                keys(&db, &only_new, &e.id).await,
                Err(EndpointError::Seal(_))
            ));
            let rotated = key_ring(&[("k2", 2), ("k1", 1)]);
            keys(&db, &rotated, &e.id)
                .await
                .expect("keys")
                .expect("endpoint");
            let (cur, prev) = stored(&db, &e.id).await;
            assert!(
                cur.starts_with("lsenc1:k2:") && prev.is_some_and(|p| p.starts_with("lsenc1:k2:"))
            );
            let k = keys(&db, &only_new, &e.id)
                .await
                .expect("keys")
                .expect("endpoint");
            assert_eq!(
                k.valid_secrets(now_ms()),
                vec![newer.expose(), secret.expose()]
            );

            // A plaintext secret from before sealing still verifies, and gets sealed.
            sqlx::query("UPDATE webhook_endpoints SET secret = 'whsec_legacy', previous_secret = NULL WHERE id = $1")
                .bind(e.id.as_str())
                .execute(db.pool())
                .await
                .expect("legacy");
            let k = keys(&db, &only_new, &e.id)
                .await
                .expect("keys")
                .expect("endpoint");
            assert_eq!(k.valid_secrets(now_ms()), vec!["whsec_legacy"]);
            assert!(stored(&db, &e.id).await.0.starts_with("lsenc1:k2:"));
        }
    }
}
