//! Bearer API keys. A key authenticates a tenant; valid keys are cached for a couple of seconds
//! so the hot path (8,000 enqueues/s) does not hit the database on every request. Revocation
//! therefore takes effect within `LONGSHORE_AUTH_CACHE_SECS` (2 s by default).

use std::time::Duration;

use longshore_jobs::db::api_keys::{self, Authenticated};
use longshore_jobs::ids::TenantId;
use moka::sync::Cache;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use sha2::{Digest, Sha256};

use crate::problem::ApiError;
use crate::state::AppState;

/// Authenticated tenant, from `Authorization: Bearer lsk_…`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "lsk_<id>_<secret>",
    checker = "check_api_key"
)]
pub struct ApiKeyAuth(pub TenantId);

/// Recently verified keys, by the SHA-256 of the whole token (never the token itself).
#[derive(Clone)]
pub struct AuthCache(Cache<[u8; 32], Authenticated>);

impl AuthCache {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        AuthCache(
            Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
        )
    }
}

/// What looking up a request's bearer token found (`None`: not a valid key), kept in the
/// request's extensions so one request looks its token up once.
#[derive(Debug, Clone)]
pub struct Verified(pub Option<Authenticated>);

async fn check_api_key(req: &Request, bearer: Bearer) -> poem::Result<TenantId> {
    // Already looked up for this request by the request limits (`crate::request_limits`).
    if let Some(Verified(found)) = req.extensions().get::<Verified>() {
        return match found {
            Some(found) => Ok(found.tenant.clone()),
            None => Err(ApiError::unauthorized().into()),
        };
    }
    let state = req.data::<AppState>().ok_or_else(ApiError::internal)?;
    match authenticate(state, &bearer.token).await? {
        Some(found) => Ok(found.tenant),
        None => Err(ApiError::unauthorized().into()),
    }
}

/// What `token` stands for (`None`: not a valid key of an active tenant), from the cache when
/// it was verified recently. Both the operations' checker and the request limiter ask here, so
/// a request costs at most one lookup.
pub async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<Option<Authenticated>, ApiError> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Some(found) = state.auth_cache.0.get(&digest) {
        return Ok(Some(found));
    }
    let found = api_keys::authenticate(&state.services.db, token).await?;
    if let Some(found) = &found {
        state.auth_cache.0.insert(digest, found.clone());
    }
    Ok(found)
}
