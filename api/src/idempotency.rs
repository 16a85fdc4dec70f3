//! `Idempotency-Key` on POSTs that create work: the same key and body within 24 h answers with
//! the first response again; the same key with another body (or another endpoint) is a 409.

use std::future::Future;

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

/// Runs `work` at most once per (tenant, key). Without a key, just runs it.
///
/// `route` and `body_sha256` identify the request: a replay must match both.
pub async fn once<T, F, Fut>(
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
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let Some(key) = key else {
        return work().await;
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
    match idempotency::claim(db, tenant, key, &request_hash).await? {
        Claim::Fresh => {}
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
    }
    match work().await {
        Ok(value) => {
            let body = serde_json::to_string(&value).map_err(|_| ApiError::internal())?;
            idempotency::complete(db, tenant, key, status, &body).await?;
            Ok(value)
        }
        Err(e) => {
            // Failed requests are not remembered: the client may retry with the same key.
            if let Err(db_err) = idempotency::abandon(db, tenant, key).await {
                tracing::warn!(error = %db_err, "could not release idempotency key");
            }
            Err(e)
        }
    }
}
