//! `GET /v/{code}`: public certificate verification, no API key. JSON for
//! `Accept: application/json`, a small readable HTML page otherwise (`templates/public/verify.html`). Unknown, malformed (bad
//! check symbol), revoked and not-yet-rendered codes all get the same `404` answer, and every
//! lookup is rate-limited per client before the code is even parsed.
//!
//! An operation of the OpenAPI service like every other route, so the spec documents both media
//! types of each answer; the answers themselves are built here (content negotiation is ours,
//! not poem-openapi's), and [`Verified`]'s `ApiResponse` describes exactly what is sent.

use chrono::NaiveDate;
use longshore_jobs::documents::service::{self, Verification};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::Path;
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use serde::Serialize;

use super::rate_limit::RateLimiter;
use crate::client_ip::ClientIp;
use crate::problem::{ApiError, PROBLEM_JSON, Problem};
use crate::state::AppState;

#[derive(Tags)]
enum VerifyTag {
    /// Public certificate verification (no API key).
    Verification,
}

/// A valid certificate, as a verifier sees it.
#[derive(Debug, Clone, Object, Serialize)]
pub struct ValidCertificate {
    /// Always `true`.
    pub valid: bool,
    /// Always `certificate`.
    pub kind: String,
    pub recipient_name: String,
    /// The course title.
    pub title: String,
    pub issued_on: NaiveDate,
    pub issuer: String,
    /// CPD credits, when the certificate carries them.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<f64>,
    /// Hex SHA-256 of the certificate's PDF: a holder's copy must hash to this.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The one answer for unknown, malformed and revoked codes: an RFC 9457 problem with `valid`.
#[derive(Debug, Clone, Object, Serialize)]
pub struct NotValid {
    /// Always `false`.
    pub valid: bool,
    /// `/problems/not-found`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// 404.
    pub status: u16,
    pub detail: String,
}

/// The verification API; holds its rate limiter (`LONGSHORE_VERIFY_RATE_PER_MINUTE`).
pub struct VerifyApi {
    limiter: RateLimiter,
}

impl VerifyApi {
    /// The API allowing `per_minute` lookups a minute per client IP.
    pub fn new(per_minute: u32) -> Self {
        VerifyApi {
            limiter: RateLimiter::new(per_minute),
        }
    }
}

#[OpenApi(tag = "VerifyTag::Verification")]
impl VerifyApi {
    /// Verify a certificate.
    ///
    /// The code printed on a certificate (and in its QR code), with or without hyphens, in any
    /// case. JSON for `Accept: application/json`, a small HTML page otherwise. Unknown,
    /// mistyped (the check symbol catches typing mistakes), revoked and not-yet-rendered codes
    /// all get the same 404. Lookups are rate-limited per client IP.
    #[oai(path = "/v/:code", method = "get")]
    async fn verify(
        &self,
        req: &Request,
        /// The verification code, e.g. `7KQ2MX-H4RT9B-0VZ3PE`.
        code: Path<String>,
        state: Data<&AppState>,
    ) -> Verified {
        Verified(answer(req, &code.0, &state, &self.limiter).await)
    }
}

/// The answer to a lookup, already negotiated (JSON or HTML); see [`ApiResponse`] below for
/// what the spec says about it.
pub struct Verified(Response);

impl IntoResponse for Verified {
    fn into_response(self) -> Response {
        self.0
    }
}

fn html_type() -> MetaMediaType {
    MetaMediaType {
        content_type: "text/html; charset=utf-8",
        schema: String::schema_ref(),
    }
}

fn header(name: &str, description: &str, schema: MetaSchemaRef) -> MetaHeader {
    MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: true,
        deprecated: false,
        schema,
    }
}

impl ApiResponse for Verified {
    fn meta() -> MetaResponses {
        let no_store = || header("Cache-Control", "`no-store`", String::schema_ref());
        let json = |schema| MetaMediaType {
            content_type: "application/json; charset=utf-8",
            schema,
        };
        let problem = || MetaMediaType {
            content_type: PROBLEM_JSON,
            schema: Problem::schema_ref(),
        };
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "A valid certificate: JSON for `Accept: application/json`, an HTML page otherwise",
                    status: Some(200),
                    status_range: None,
                    content: vec![json(ValidCertificate::schema_ref()), html_type()],
                    headers: vec![no_store()],
                },
                MetaResponse {
                    description: "No valid certificate has this code (unknown, mistyped, revoked or not yet rendered): `{\"valid\": false, …}` or a page saying so",
                    status: Some(404),
                    status_range: None,
                    content: vec![json(NotValid::schema_ref()), html_type()],
                    headers: vec![no_store()],
                },
                MetaResponse {
                    description: "Too many lookups from this client; see Retry-After",
                    status: Some(429),
                    status_range: None,
                    content: vec![problem(), html_type()],
                    headers: vec![header(
                        "Retry-After",
                        "Seconds until the next lookup is allowed",
                        u32::schema_ref(),
                    )],
                },
                MetaResponse {
                    description: "The database is unreachable; retry (see Retry-After)",
                    status: Some(503),
                    status_range: None,
                    content: vec![problem()],
                    headers: vec![],
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        ValidCertificate::register(registry);
        NotValid::register(registry);
        Problem::register(registry);
    }
}

fn wants_json(req: &Request) -> bool {
    req.headers()
        .get(poem::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") || a.contains("+json"))
}

async fn answer(req: &Request, code: &str, state: &AppState, limiter: &RateLimiter) -> Response {
    let json = wants_json(req);
    if let Err(wait) = limiter.check(ClientIp::of(req)) {
        longshore_jobs::metrics::rate_limited("verify");
        if json {
            return ApiError::too_many_requests(wait).into_response();
        }
        let body = page("Too many requests", "too_many", None);
        return html(StatusCode::TOO_MANY_REQUESTS, body)
            .with_header("Retry-After", wait.to_string())
            .into_response();
    }
    match service::verify(&state.services.db, code).await {
        Ok(Some(v)) if json => poem::web::Json(valid_json(&v))
            .with_header("Cache-Control", "no-store")
            .into_response(),
        Ok(Some(v)) => html(StatusCode::OK, page("Valid certificate", "valid", Some(&v))),
        Ok(None) if json => {
            let body = NotValid {
                valid: false,
                kind: "/problems/not-found".into(),
                title: "Not found".into(),
                status: 404,
                detail: "no valid certificate has this code".into(),
            };
            poem::web::Json(body)
                .with_status(StatusCode::NOT_FOUND)
                .with_header("Cache-Control", "no-store")
                .into_response()
        }
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            page("Certificate not valid", "not_valid", None),
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn valid_json(v: &Verification) -> ValidCertificate {
    ValidCertificate {
        valid: true,
        kind: v.kind.as_str().to_owned(),
        recipient_name: v.recipient_name.clone(),
        title: v.title.clone(),
        issued_on: v.issued_on,
        issuer: v.issuer.clone(),
        credits: v.credits,
        sha256: v.sha256.clone(),
    }
}

fn html(status: StatusCode, page: Result<String, crate::html::RenderError>) -> Response {
    match page {
        Ok(body) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "verification page did not render");
            ApiError::internal().into_response()
        }
    }
}

/// The page for `state` (`valid`, `not_valid`, `too_many`), from `public/verify.html`.
fn page(
    title: &str,
    state: &str,
    cert: Option<&Verification>,
) -> Result<String, crate::html::RenderError> {
    page_context::render(title, state, cert)
}

/// Apart from the module's imports: poem-openapi's `Type` trait, in scope above, has methods
/// named like those minijinja's `context!` calls.
mod page_context {
    use longshore_jobs::documents::certificate::format_credits;
    use longshore_jobs::documents::service::Verification;

    pub fn render(
        title: &str,
        state: &str,
        cert: Option<&Verification>,
    ) -> Result<String, crate::html::RenderError> {
        let cert = cert.map(|v| {
            minijinja::context! {
                recipient_name => v.recipient_name.as_str(),
                title => v.title.as_str(),
                issued_on => v.issued_on.format("%-d %B %Y").to_string(),
                issuer => v.issuer.as_str(),
                credits => v.credits.map(format_credits),
                sha256 => v.sha256.as_deref(),
            }
        });
        crate::html::render(
            "public/verify.html",
            minijinja::context! { title, state, cert },
        )
    }
}
