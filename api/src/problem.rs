//! Every error the API returns: RFC 9457 `application/problem+json`, one shape, one place.
//!
//! ```json
//! {"type": "/problems/validation-error", "title": "Validation failed", "status": 422,
//!  "detail": "…", "errors": [{"field": "max_attempts", "message": "…"}], "request_id": "…"}
//! ```
//! Domain errors from `longshore-jobs` and poem's own errors (bad JSON, missing auth, unknown
//! route, wrong method, oversized body) are all mapped here. Internal details are logged, never
//! returned.

use std::fmt;

use longshore_jobs::db::DbError;
use longshore_jobs::queue::QueueError;
use longshore_jobs::submit::SubmitError;
use longshore_jobs::validation::{FieldError, Invalid};
use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct ProblemField {
    /// Path of the field, e.g. `payload.ms`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation-error`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// For validation problems: every invalid field.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
}

/// An error response. Build one with the constructors; it renders as problem+json.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Option<Vec<ProblemField>>,
    retry_after: Option<u32>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: None,
            retry_after: None,
        }
    }

    /// 400: the body is not JSON, or the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }
    /// 401: missing, malformed, unknown or revoked API key.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "a valid API key is required: `Authorization: Bearer lsk_…`",
        )
    }
    /// 401 on `/v1/admin` and the dashboard: no operator key, or not a configured one (a tenant
    /// key never is). `configured` says whether any operator key exists at all.
    pub fn operator_unauthorized(configured: bool) -> Self {
        let detail = if configured {
            "an operator key is required: `Authorization: Bearer <LONGSHORE_ADMIN_KEY>` (a tenant key is not one)"
        } else {
            "the admin API is off: no operator key is configured (set LONGSHORE_ADMIN_KEY)"
        };
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }
    /// 401 on `/metrics` when `LONGSHORE_METRICS_TOKEN` is set and not presented.
    pub fn metrics_unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "this endpoint needs the metrics token: `Authorization: Bearer <LONGSHORE_METRICS_TOKEN>`",
        )
    }
    /// 404: no such resource for this tenant (or no such route).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }
    /// 405: the route exists but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this route does not accept that method",
        )
    }
    /// 409: the resource's state forbids the operation, or an idempotency key conflicts.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }
    /// 413: the body is larger than allowed.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("the request body must be at most {limit} bytes"),
        )
    }
    /// 415: the body is not `application/json`.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }
    /// 422: well-formed JSON that fails validation; lists every invalid field.
    pub fn invalid(Invalid(fields): Invalid) -> Self {
        let detail = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-error",
            "Validation failed",
            detail,
        );
        e.errors = Some(
            fields
                .into_iter()
                .map(|FieldError { field, message }| ProblemField { field, message })
                .collect(),
        );
        e
    }
    /// 429: too many requests; try again after `retry_after` seconds.
    pub fn too_many_requests(retry_after: u32) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            "slow down and try again later",
        );
        e.retry_after = Some(retry_after);
        e
    }
    /// 429: this API key is over its request limit; try again after `retry_after` seconds.
    pub fn rate_limited(per_second: u32, burst: u32, retry_after: u32) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!(
                "this API key is over its limit of {per_second} requests per second \
                 (bursts up to {burst}); retry after {retry_after} s"
            ),
        );
        e.retry_after = Some(retry_after);
        e
    }
    /// 503: a dependency (queue, database, file storage) is unreachable; the client should retry.
    pub fn unavailable(what: &str) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service-unavailable",
            "Service unavailable",
            format!("the {what} is unreachable right now; retry shortly"),
        );
        e.retry_after = Some(1);
        e
    }
    /// 500: a bug. The detail stays generic; the cause is logged.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
            "something went wrong on our side; it has been logged",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("/problems/{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.title,
            self.detail
        )
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }
    fn as_response(&self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut resp = Response::builder()
            .status(self.status)
            .content_type(PROBLEM_JSON)
            .body(body);
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(
                poem::http::header::RETRY_AFTER,
                poem::http::HeaderValue::from(secs),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                poem::http::header::WWW_AUTHENTICATE,
                poem::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.as_response()
    }
}

const DOCUMENTED: [(u16, &str); 10] = [
    (400, "Malformed request (e.g. the body is not valid JSON)"),
    (401, "Missing, unknown or revoked API key"),
    (404, "No such resource for this tenant"),
    (
        409,
        "Conflict with the resource's state or an idempotency key",
    ),
    (413, "Request body too large"),
    (415, "Request body is not application/json"),
    (422, "Validation failed; `errors` lists every invalid field"),
    (429, "Rate limited; see Retry-After"),
    (
        503,
        "The queue, database or file storage is unreachable; retry (see Retry-After)",
    ),
    (500, "Internal error"),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: Problem::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::invalid(e)
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "queue unavailable");
                ApiError::unavailable("queue")
            }
            QueueError::NotFound => ApiError::not_found("no such job"),
            QueueError::InvalidState(state) => {
                ApiError::conflict(format!("the job is {state}, which does not allow this"))
            }
            QueueError::Corrupt(cause) => {
                tracing::error!(error = %cause, "corrupt job record");
                ApiError::internal()
            }
            QueueError::InvalidCursor => {
                ApiError::invalid(Invalid::one("cursor", crate::routes::paging::CURSOR_HINT))
            }
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(_) | DbError::Migration(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::unavailable("database")
            }
            DbError::Conflict(_) => {
                tracing::info!(error = %e, "write refused by a uniqueness constraint");
                ApiError::conflict("the record already exists")
            }
            DbError::Refused(_) => {
                // Validation refuses bad values with their field first; this is the backstop.
                tracing::warn!(error = %e, "value refused by the database");
                ApiError::invalid(Invalid::one(
                    "body",
                    "holds a value the database cannot store",
                ))
            }
            DbError::Internal(_) => {
                tracing::error!(error = %e, "database error");
                ApiError::internal()
            }
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Invalid(i) => i.into(),
            SubmitError::Queue(q) => q.into(),
        }
    }
}

/// Turns any error poem or poem-openapi raised (parse, auth, routing, limits) into a problem.
pub fn from_poem_error(err: poem::Error) -> ApiError {
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParseRequestPayloadError,
    };
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.clone();
    }
    if err.is::<AuthorizationError>() {
        return ApiError::unauthorized();
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return ApiError::invalid(Invalid::one(e.name, e.reason.clone()));
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::bad_request(e.reason.clone());
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        return ApiError::unsupported_media_type(e.to_string());
    }
    match err.status() {
        StatusCode::NOT_FOUND => ApiError::not_found("no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(0),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::unsupported_media_type(err.to_string()),
        StatusCode::UNAUTHORIZED => ApiError::unauthorized(),
        s if s.is_client_error() => ApiError::bad_request(err.to_string()),
        _ => {
            tracing::error!(error = %err, "unhandled error");
            ApiError::internal()
        }
    }
}
