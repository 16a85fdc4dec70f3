//! `Idempotency-Key` on POSTs that create work: the same key and body within 24 h answers with
//! the first response again; the same key with another body (or another endpoint) is a 409.
//!
//! Every route runs its work through [`once_keyed`], which hands it the request's [`WorkKey`];
//! the work derives the ids of what it creates from it, and creating under an id that exists
//! returns what is there. So a request that died holding its key (its API process killed) is
//! taken over by a retry after `LONGSHORE_IDEMPOTENCY_LOCK_SECS`, and the retry finds what the
//! dead request made instead of making a second one.

use std::future::Future;
use std::time::Duration;

use longshore_jobs::db::idempotency::{self, Claim};
use longshore_jobs::ids::TenantId;
use longshore_jobs::validation::Invalid;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::problem::ApiError;
use crate::state::AppState;

/// Longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// Identifies the work of one claimed (tenant, key, request): the same on every retry of that
/// request after a failed attempt, different for another key, tenant or body. Work whose outcome
/// may be unknown (an enqueue whose reply was lost) derives its ids from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkKey {
    key: String,
    claimed_at: i64,
}

impl WorkKey {
    fn new(tenant: &TenantId, key: &str, request_hash: &str, claimed_at: i64) -> Self {
        let digest = Sha256::digest(
            format!("{}\n{key}\n{request_hash}\n{claimed_at}", tenant.as_str()).as_bytes(),
        );
        // 128 bits: letters and digits only, so it fits in any derived id.
        WorkKey {
            key: hex::encode(&digest[..16]),
            claimed_at,
        }
    }

    /// The key as text (32 lowercase hex digits).
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The id of a record the work creates, as `derive` (an id type's `derived`) makes it from
    /// the time of the key's first claim and this key: a ULID of that time, so it sorts with
    /// the ids minted when the request first came, and the same on every retry.
    pub fn id<I>(&self, derive: fn(i64, &str) -> I) -> I {
        derive(self.claimed_at, &self.key)
    }
}

/// Runs `work` at most once per (tenant, key), handing it the request's [`WorkKey`] (`None`
/// without an `Idempotency-Key`, when it just runs), from which `work` derives the ids of what
/// it creates. `route` and `body_sha256` identify the request: a replay must match both.
/// Because doing it again finds what a first run made, a key whose request died while holding
/// it (its API process killed) is taken over by a retry of the same request after
/// `LONGSHORE_IDEMPOTENCY_LOCK_SECS`, with the same work key, instead of answering 409 until
/// the key expires.
pub async fn once_keyed<T, F, Fut>(
    state: &AppState,
    tenant: &TenantId,
    key: Option<&str>,
    route: &str,
    body_sha256: &str,
    status: u16,
    work: F,
) -> Result<T, ApiError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce(Option<WorkKey>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let lock = Duration::from_secs(state.services.config.idempotency_lock_secs);
    let request = Request {
        key,
        route,
        body_sha256,
        status,
    };
    run(state, tenant, request, Some(lock), work).await
}

/// What identifies a request for [`run`], and its success status.
struct Request<'a> {
    key: Option<&'a str>,
    route: &'a str,
    body_sha256: &'a str,
    status: u16,
}

/// [`once_keyed`], taking over a claim held longer than `take_over_after` if given.
async fn run<T, F, Fut>(
    state: &AppState,
    tenant: &TenantId,
    request: Request<'_>,
    take_over_after: Option<Duration>,
    work: F,
) -> Result<T, ApiError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce(Option<WorkKey>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let Request {
        key,
        route,
        body_sha256,
        status,
    } = request;
    let Some(key) = key else {
        return work(None).await;
    };
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Invalid::one(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        )
        .into());
    }
    let request_hash = hex::encode(Sha256::digest(format!("{route}\n{body_sha256}").as_bytes()));
    let db = &state.services.db;
    let claimed = idempotency::claim(db, tenant, key, &request_hash, take_over_after).await?;
    let work_key = match claimed {
        Claim::Fresh { claimed_at } => WorkKey::new(tenant, key, &request_hash, claimed_at),
        Claim::Replay { body, .. } => {
            return serde_json::from_str(&body).map_err(|e| {
                tracing::error!(error = %e, "stored idempotent response does not decode");
                ApiError::internal()
            });
        }
        Claim::Mismatch => {
            return Err(ApiError::conflict(
                "this Idempotency-Key was already used with a different request",
            ));
        }
        Claim::InProgress => {
            return Err(ApiError::conflict(
                "a request with this Idempotency-Key is still in progress; retry later",
            ));
        }
    };
    match work(Some(work_key)).await {
        Ok(value) => {
            let body = serde_json::to_string(&value).map_err(|_| ApiError::internal())?;
            idempotency::complete(db, tenant, key, status, &body).await?;
            Ok(value)
        }
        Err(e) => {
            // Failed requests are not remembered: the client may retry with the same key, and
            // the retry gets the same work key (the work may have happened, its answer lost).
            if let Err(db_err) = idempotency::abandon(db, tenant, key).await {
                tracing::warn!(error = %db_err, "could not release idempotency key");
            }
            Err(e)
        }
    }
}
