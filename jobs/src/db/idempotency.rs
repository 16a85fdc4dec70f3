//! `Idempotency-Key` records: the same key and body within 24 h replays the first response;
//! the same key with another body is a conflict. As in Stripe's API.
//!
//! A request first *claims* the key (an insert that only one request can win), does its work,
//! then *completes* the record with the response. A concurrent request with the same key sees a
//! claim without a response and is told to retry (409).
//!
//! A request that fails *abandons* its claim: the record stays, marked abandoned, so a retry
//! claims it again with the same [`Claim::Fresh`] `claimed_at`. Work whose outcome is unknown
//! (an enqueue whose reply was lost) derives its ids from that claim, so the retry acts on the
//! same records instead of creating second ones.

use sqlx::Row;

use super::{Db, DbError};
use crate::clock::now_ms;
use crate::ids::TenantId;

/// How long a key is remembered.
pub const KEY_TTL_MS: i64 = 24 * 3600 * 1000;

/// `response_status` of a claim whose request failed: anyone may claim it again.
const ABANDONED: i32 = 0;

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: do the work, then [`complete`]. `claimed_at` is the time of the first
    /// claim of this key (kept when a failed attempt abandoned it): with the key and the
    /// request, it identifies the work, so ids derived from it are the same on a retry.
    Fresh { claimed_at: i64 },
    /// A finished request with the same key and body: replay its response.
    Replay { status: u16, body: String },
    /// The same key was used with a different body.
    Mismatch,
    /// The same key is being processed right now.
    InProgress,
}

/// Claims `key` for a request whose body hashes to `request_hash`.
pub async fn claim(
    db: &Db,
    tenant: &TenantId,
    key: &str,
    request_hash: &str,
) -> Result<Claim, DbError> {
    let now = now_ms();
    // Forget this key if it has outlived its 24 hours.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at < $3",
    )
    .bind(tenant.as_str())
    .bind(key)
    .bind(now - KEY_TTL_MS)
    .execute(db.pool())
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh { claimed_at: now });
    }
    let row = sqlx::query(
        "SELECT request_hash, response_status, response_body, created_at FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tenant.as_str())
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        // Deleted between our statements: treat as a concurrent request.
        return Ok(Claim::InProgress);
    };
    let stored_hash: String = row.get(0);
    let status: Option<i32> = row.get(1);
    let body: Option<String> = row.get(2);
    let claimed_at: i64 = row.get(3);
    if status == Some(ABANDONED) {
        return reclaim(db, tenant, key, request_hash, claimed_at).await;
    }
    if stored_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    Ok(match (status, body) {
        (Some(status), Some(body)) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
        },
        _ => Claim::InProgress,
    })
}

/// Takes over an abandoned claim (for this request's body, which may differ from the failed
/// one's); only one of several concurrent retries wins.
async fn reclaim(
    db: &Db,
    tenant: &TenantId,
    key: &str,
    request_hash: &str,
    claimed_at: i64,
) -> Result<Claim, DbError> {
    let taken = sqlx::query(
        "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, request_hash = $1 \
         WHERE tenant_id = $2 AND key = $3 AND response_status = $4 AND created_at = $5",
    )
    .bind(request_hash)
    .bind(tenant.as_str())
    .bind(key)
    .bind(ABANDONED)
    .bind(claimed_at)
    .execute(db.pool())
    .await?;
    Ok(if taken.rows_affected() == 1 {
        Claim::Fresh { claimed_at }
    } else {
        Claim::InProgress
    })
}

/// Stores the response of a claimed request so repeats replay it.
pub async fn complete(
    db: &Db,
    tenant: &TenantId,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE idempotency_keys SET response_status = $1, response_body = $2 WHERE tenant_id = $3 AND key = $4")
        .bind(i32::from(status))
        .bind(body)
        .bind(tenant.as_str())
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Releases a claim whose request failed, so the client may try again with the same key (and
/// the same or another body). The record stays, marked abandoned, so that the retry's claim
/// keeps its `claimed_at` (see the module documentation).
pub async fn abandon(db: &Db, tenant: &TenantId, key: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE idempotency_keys SET response_status = $1 WHERE tenant_id = $2 AND key = $3 AND response_status IS NULL")
        .bind(ABANDONED)
        .bind(tenant.as_str())
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes expired records, at most `max` (called periodically).
pub async fn purge_expired(db: &Db, max: i64) -> Result<u64, DbError> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN (SELECT tenant_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
    )
    .bind(now_ms() - KEY_TTL_MS)
    .bind(max)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_request_leaves_the_key_claimable_with_its_first_claim_time() {
        for (db, _dir) in crate::db::test_databases().await {
            let tenant = TenantId::new();
            let Claim::Fresh { claimed_at } = claim(&db, &tenant, "k", "h1").await.unwrap() else {
                panic!("a new key is fresh");
            };
            assert_eq!(
                claim(&db, &tenant, "k", "h1").await.unwrap(),
                Claim::InProgress
            );
            assert_eq!(
                claim(&db, &tenant, "k", "h2").await.unwrap(),
                Claim::Mismatch
            );
            // The attempt failed (say its enqueue's reply was lost): a retry gets the same claim.
            abandon(&db, &tenant, "k").await.unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h1").await.unwrap(),
                Claim::Fresh { claimed_at }
            );
            assert_eq!(
                claim(&db, &tenant, "k", "h1").await.unwrap(),
                Claim::InProgress,
                "only one retry wins the claim"
            );
            // A corrected body may take over an abandoned key, too.
            abandon(&db, &tenant, "k").await.unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h2").await.unwrap(),
                Claim::Fresh { claimed_at }
            );
            complete(&db, &tenant, "k", 202, "{}").await.unwrap();
            abandon(&db, &tenant, "k").await.unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h2").await.unwrap(),
                Claim::Replay {
                    status: 202,
                    body: "{}".into()
                },
                "a completed key is never abandoned"
            );
            assert_eq!(
                claim(&db, &tenant, "k", "h1").await.unwrap(),
                Claim::Mismatch
            );
        }
    }
}
