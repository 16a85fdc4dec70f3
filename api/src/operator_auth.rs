//! Operator authentication for `/v1/admin`: `Authorization: Bearer <operator key>`, checked
//! against `LONGSHORE_ADMIN_KEY` ([`OperatorKeys`]). A tenant key is never an operator key.
//! The checker also notes where the request came from, for the audit log.

use longshore_jobs::operator::Actor;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::client_ip::ClientIp;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

/// An authenticated operator, and where its request came from.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "operator key (LONGSHORE_ADMIN_KEY)",
    checker = "check_operator_key"
)]
pub struct OperatorAuth(pub Actor);

async fn check_operator_key(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let state = req.data::<AppState>().ok_or_else(ApiError::internal)?;
    let keys = &state.operator_keys;
    let operator = keys
        .verify(&bearer.token)
        .ok_or_else(|| ApiError::operator_unauthorized(!keys.is_empty()))?;
    Ok(Actor {
        operator: operator.label,
        client_ip: Some(ClientIp::of(req).to_string()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
    })
}

/// Answers a request to `/v1/admin` without a bearer token with the operator's 401 (what to
/// present) rather than the tenant routes' one; `configured` says whether any key exists.
pub fn require_bearer_on_admin(
    req: Request,
    configured: bool,
) -> std::future::Ready<poem::Result<Request>> {
    let admin = req.uri().path().starts_with("/v1/admin");
    let has_bearer = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    let verdict = if admin && !has_bearer {
        Err(ApiError::operator_unauthorized(configured).into())
    } else {
        Ok(req)
    };
    std::future::ready(verdict)
}
