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
//!
//! A request that dies while it holds its claim (its API process killed) neither completes nor
//! abandons it. As Stripe does, a claim carries the time it was taken (`locked_at`, by the
//! database's clock), and a retry of the same request may take over a claim older than a lock
//! timeout ([`claim`]'s `take_over_after`), again with the same `claimed_at`. Only work that
//! derives its ids from the claim may allow it: the dead request may have done its work, and a
//! retry must then find it rather than do it again.

use std::time::Duration;

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
    /// The same key is being processed right now (or was, by a request that died, less than
    /// the lock timeout ago).
    InProgress,
}

/// Claims `key` for a request whose body hashes to `request_hash`. With `take_over_after`, a
/// claim of the same request still in progress but taken longer ago than that (its request
/// died) is taken over (see the module documentation); without it, such a claim stays
/// [`Claim::InProgress`] until the key expires.
pub async fn claim(
    db: &Db,
    tenant: &TenantId,
    key: &str,
    request_hash: &str,
    take_over_after: Option<Duration>,
) -> Result<Claim, DbError> {
    let now = now_ms();
    let db_now = db.dialect().now_sql();
    // Forget this key if it has outlived its 24 hours.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at < $3",
    )
    .bind(tenant.as_str())
    .bind(key)
    .bind(now - KEY_TTL_MS)
    .execute(db.pool())
    .await?;
    let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at, locked_at) \
         VALUES ($1, $2, $3, $4, {db_now}) ON CONFLICT DO NOTHING"
    )))
    .bind(tenant.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh { claimed_at: now });
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT request_hash, response_status, response_body, created_at, \
         {db_now} - COALESCE(locked_at, created_at) FROM idempotency_keys \
         WHERE tenant_id = $1 AND key = $2"
    )))
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
    let held_ms: i64 = row.get(4);
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
        _ => match take_over_after {
            Some(lock) if held_ms > millis(lock) => {
                take_over(db, tenant, key, request_hash, claimed_at, lock).await?
            }
            _ => Claim::InProgress,
        },
    })
}

/// Takes over a claim in progress for longer than `lock` (its request died); only one of
/// several concurrent retries wins.
async fn take_over(
    db: &Db,
    tenant: &TenantId,
    key: &str,
    request_hash: &str,
    claimed_at: i64,
    lock: Duration,
) -> Result<Claim, DbError> {
    let db_now = db.dialect().now_sql();
    let taken = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE idempotency_keys SET locked_at = {db_now} \
         WHERE tenant_id = $1 AND key = $2 AND request_hash = $3 AND created_at = $4 \
         AND response_status IS NULL AND COALESCE(locked_at, created_at) < {db_now} - $5"
    )))
    .bind(tenant.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(claimed_at)
    .bind(millis(lock))
    .execute(db.pool())
    .await?;
    Ok(if taken.rows_affected() == 1 {
        tracing::warn!(tenant = %tenant, "took over an Idempotency-Key whose request stopped without an outcome");
        Claim::Fresh { claimed_at }
    } else {
        Claim::InProgress
    })
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
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
    let taken = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, request_hash = $1, \
         locked_at = {} WHERE tenant_id = $2 AND key = $3 AND response_status = $4 AND created_at = $5",
        db.dialect().now_sql()
    )))
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
            let Claim::Fresh { claimed_at } = claim(&db, &tenant, "k", "h1", None).await.unwrap()
            else {
                panic!("a new key is fresh");
            };
            assert_eq!(
                claim(&db, &tenant, "k", "h1", None).await.unwrap(),
                Claim::InProgress
            );
            assert_eq!(
                claim(&db, &tenant, "k", "h2", None).await.unwrap(),
                Claim::Mismatch
            );
            // The attempt failed (say its enqueue's reply was lost): a retry gets the same claim.
            abandon(&db, &tenant, "k").await.unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h1", None).await.unwrap(),
                Claim::Fresh { claimed_at }
            );
            assert_eq!(
                claim(&db, &tenant, "k", "h1", None).await.unwrap(),
                Claim::InProgress,
                "only one retry wins the claim"
            );
            // A corrected body may take over an abandoned key, too.
            abandon(&db, &tenant, "k").await.unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h2", None).await.unwrap(),
                Claim::Fresh { claimed_at }
            );
            complete(&db, &tenant, "k", 202, "{}").await.unwrap();
            abandon(&db, &tenant, "k").await.unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h2", None).await.unwrap(),
                Claim::Replay {
                    status: 202,
                    body: "{}".into()
                },
                "a completed key is never abandoned"
            );
            assert_eq!(
                claim(&db, &tenant, "k", "h1", None).await.unwrap(),
                Claim::Mismatch
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_whose_request_died_is_taken_over_after_the_lock_timeout() {
        let lock = Some(Duration::from_secs(60));
        for (db, _dir) in crate::db::test_databases().await {
            let tenant = TenantId::new();
            let Claim::Fresh { claimed_at } = claim(&db, &tenant, "k", "h1", lock).await.unwrap()
            else {
                panic!("a new key is fresh");
            };
            assert_eq!(
                claim(&db, &tenant, "k", "h1", lock).await.unwrap(),
                Claim::InProgress,
                "a live claim is not taken over"
            );
            // Its request died a while ago, holding the claim.
            sqlx::query(
                "UPDATE idempotency_keys SET locked_at = locked_at - 61000 WHERE tenant_id = $1",
            )
            .bind(tenant.as_str())
            .execute(db.pool())
            .await
            .unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h2", lock).await.unwrap(),
                Claim::Mismatch,
                "another request never takes it over"
            );
            assert_eq!(
                claim(&db, &tenant, "k", "h1", None).await.unwrap(),
                Claim::InProgress,
                "work that may not run twice never takes it over"
            );
            let (a, b) = tokio::join!(
                claim(&db, &tenant, "k", "h1", lock),
                claim(&db, &tenant, "k", "h1", lock)
            );
            let mut got = [a.unwrap(), b.unwrap()];
            got.sort_by_key(|c| matches!(c, Claim::InProgress));
            assert_eq!(
                got,
                [Claim::Fresh { claimed_at }, Claim::InProgress],
                "one retry takes it over, with the first claim's time"
            );
            complete(&db, &tenant, "k", 202, "{}").await.unwrap();
            assert_eq!(
                claim(&db, &tenant, "k", "h1", lock).await.unwrap(),
                Claim::Replay {
                    status: 202,
                    body: "{}".into()
                }
            );
        }
    }
}
