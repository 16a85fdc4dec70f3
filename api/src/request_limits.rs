//! Request limits per API key on the tenant routes (`/v1/*` but `/v1/admin`): each key has a
//! token bucket (`longshore_jobs::request_limit`), the deployment's default or its tenant's
//! own. Every limited response carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (draft-ietf-httpapi-ratelimit-headers); a request over the limit is a
//! `429` with `Retry-After`, before its handler runs.
//!
//! Requests without a valid key pass through unlimited here and are refused by their handler
//! (401), so an unknown token cannot drain a real key's bucket. The public routes (`/t/*`,
//! `/v/*`, `/hooks/*`) have their own per-IP limits and never count against a tenant.

use longshore_jobs::db::tenants::RateLimit;
use longshore_jobs::request_limit::Verdict;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::problem::{ApiError, from_poem_error};
use crate::state::AppState;

/// The middleware; see the module documentation.
pub struct RequestLimiting;

impl<E: Endpoint> Middleware<E> for RequestLimiting {
    type Output = RequestLimitingEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestLimitingEndpoint(ep)
    }
}

/// See [`RequestLimiting`].
pub struct RequestLimitingEndpoint<E>(E);

fn bearer(req: &Request) -> Option<&str> {
    let value = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The verdict for `req`, or `None` when it is not limited (not a tenant route, no valid key,
/// a limit of 0, or the limits' store unreachable). A key found valid is left in the request's
/// extensions, where the route's security checker takes it instead of looking it up again.
async fn verdict(req: &mut Request) -> Option<(Verdict, RateLimit)> {
    let path = req.uri().path();
    if !path.starts_with("/v1/") || path.starts_with("/v1/admin") {
        return None;
    }
    let token = bearer(req)?.to_owned();
    let state = req.data::<AppState>()?.clone();
    let found = crate::auth::authenticate(&state, &token).await.ok()?;
    req.extensions_mut()
        .insert(crate::auth::Verified(found.clone()));
    let found = found?;
    let config = &state.services.config;
    let limit = found.rate_limit.unwrap_or(RateLimit {
        per_second: config.rate_limit_per_second,
        burst: config.rate_limit_burst,
    });
    if limit.per_second == 0 {
        return None;
    }
    match state
        .services
        .request_limits
        .take(found.key.as_str(), limit)
        .await
    {
        Ok(v) => Some((v, limit)),
        Err(e) => {
            tracing::warn!(error = %e, "request limit not checked");
            None
        }
    }
}

fn secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

fn with_headers(mut resp: Response, v: &Verdict) -> Response {
    let headers = resp.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", u64::from(v.limit)),
        ("ratelimit-remaining", u64::from(v.remaining)),
        ("ratelimit-reset", secs(v.reset_ms)),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
    resp
}

impl<E: Endpoint> Endpoint for RequestLimitingEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let Some((v, limit)) = verdict(&mut req).await else {
            return self.0.call(req).await.map(IntoResponse::into_response);
        };
        if !v.allowed {
            let wait = u32::try_from(secs(v.retry_after_ms).max(1)).unwrap_or(u32::MAX);
            let refused = ApiError::rate_limited(limit.per_second, limit.burst, wait);
            return Ok(with_headers(refused.into_response(), &v));
        }
        let resp = match self.0.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => from_poem_error(e).into_response(),
        };
        Ok(with_headers(resp, &v))
    }
}
