//! Longshore's HTTP API (poem + poem-openapi): authenticates clients, validates, records and
//! enqueues. Thin by design: handlers call `longshore-jobs`, which the workers share.
//!
//! Start with [`app`], which assembles the routes, the OpenAPI documents and the middleware;
//! [`problem`] is the one place errors become HTTP; [`routes`] has one module per resource;
//! [`dashboard`] is the operators' HTML dashboard, rendered through [`html`].

pub mod auth;
pub mod body;
pub mod client_ip;
pub mod dashboard;
pub mod health_server;
pub mod html;
pub mod idempotency;
pub mod metrics;
pub mod operator_auth;
pub mod problem;
pub mod request_id;
pub mod request_limits;
pub mod routes;
pub mod state;

use std::future::Future;
use std::time::Duration;

use longshore_jobs::platform::Services;
use poem::endpoint::BoxEndpoint;
use poem::listener::TcpAcceptor;
use poem::{EndpointExt, IntoResponse, Route, Server};
use poem_openapi::OpenApiService;

use crate::body::BodyLimit;
use crate::problem::from_poem_error;
use crate::request_id::RequestIds;
use crate::routes::admin::AdminApi;
use crate::routes::documents::{DocumentApis, document_apis};
use crate::routes::emails::{EmailApis, email_apis};
use crate::routes::events::EventsApi;
use crate::routes::health::HealthApi;
use crate::routes::jobs::JobsApi;
use crate::routes::reports::{ReportApis, report_apis};
use crate::routes::tasks::TasksApi;
use crate::routes::verify::VerifyApi;
use crate::routes::webhooks::{PaymentApis, payment_apis};
use crate::state::AppState;

/// Every documented group of routes, in the order the docs list them.
type Apis = (
    JobsApi,
    AdminApi,
    HealthApi,
    PaymentApis,
    DocumentApis,
    ReportApis,
    EmailApis,
    TasksApi,
    EventsApi,
    VerifyApi,
);

/// The OpenAPI service with every documented route.
fn openapi(state: &AppState, server_url: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            JobsApi,
            AdminApi,
            HealthApi {
                state: state.clone(),
            },
            payment_apis(state),
            document_apis(),
            report_apis(),
            email_apis(),
            TasksApi {
                sealer: longshore_jobs::secret_box::Sealer::new(state.services.config.clone()),
            },
            EventsApi {
                sealer: longshore_jobs::secret_box::Sealer::new(state.services.config.clone()),
            },
            VerifyApi::new(state.services.config.verify_rate_per_minute),
        ),
        "Longshore",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Job-queue worker platform: submit background jobs, follow them, retry and cancel them. \
         Authenticate with `Authorization: Bearer lsk_…`. Every error is RFC 9457 \
         `application/problem+json`.",
    )
    .server(server_url)
}

/// The whole API as one endpoint: routes, docs, request ids, body limit and problem errors.
pub fn app(services: Services) -> BoxEndpoint<'static> {
    let state = AppState::new(services);
    let config = state.services.config.clone();
    let server_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", config.host, config.port));
    let api = openapi(&state, &server_url);
    let spec = api.spec_endpoint();
    let swagger = api.swagger_ui();
    let redoc = api.redoc();
    let limit = config.max_body_bytes;
    // Validated when the configuration was loaded.
    let proxies = config.trusted_proxies().unwrap_or_default();
    let operators_configured = !state.operator_keys.is_empty();
    let limits = routes::rate_limit::PublicLimits::new(
        config.tracking_rate_per_minute,
        config.hooks_rate_per_minute,
    );
    Route::new()
        .nest("/", api)
        .at("/openapi.json", spec)
        .nest("/docs", swagger)
        .nest("/redoc", redoc)
        .nest("/t", routes::tracking::routes())
        .nest("/dashboard", dashboard::routes())
        .at("/metrics", poem::get(metrics::metrics_endpoint))
        .with(metrics::RouteCapture)
        .with(request_limits::RequestLimiting)
        .data(state)
        .data(BodyLimit(limit))
        .before(move |req| reject_oversized(req, limit))
        .before(reject_nul_in_query)
        .before(move |req| operator_auth::require_bearer_on_admin(req, operators_configured))
        .before(move |req| within_limits(req, &limits))
        .before(client_ip::resolver(proxies))
        .catch_all_error(|err| async move { from_poem_error(err).into_response() })
        .with(RequestIds)
        .with(metrics::HttpMetrics)
        .boxed()
}

/// Rejects a declared `Content-Length` above the limit without parsing anything; the body is
/// drained (bounded) first so that the client reads the 413 rather than a reset connection.
async fn reject_oversized(mut req: poem::Request, limit: usize) -> poem::Result<poem::Request> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => {
            body::drain_oversized(req.take_body()).await;
            Err(problem::ApiError::payload_too_large(limit).into())
        }
        _ => Ok(req),
    }
}

/// Refuses a request to `/t/*` or `/hooks/*` from a client over its limit, before anything
/// reads the body, parses a token or checks a signature.
fn within_limits(
    req: poem::Request,
    limits: &routes::rate_limit::PublicLimits,
) -> std::future::Ready<poem::Result<poem::Request>> {
    let verdict = limits.check(req.uri().path(), client_ip::ClientIp::of(&req));
    std::future::ready(verdict.map(|()| req).map_err(poem::Error::from))
}

/// Refuses U+0000 in the path or the query string before any route reads them: PostgreSQL's
/// text cannot store or compare it, so it would otherwise come back as a 5xx. A path holding
/// it names nothing (404); a query parameter holding it is a 422 naming the parameter. (In a
/// URI, NUL can only be written `%00`.)
async fn reject_nul_in_query(req: poem::Request) -> poem::Result<poem::Request> {
    if req.uri().path().contains("%00") {
        return Err(problem::ApiError::not_found("no such resource").into());
    }
    let Some(query) = req.uri().query().filter(|q| q.contains("%00")) else {
        return Ok(req);
    };
    let fields: Vec<_> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| {
            let field = name.replace('\0', "\\u0000");
            longshore_jobs::validation::FieldError::new(
                field,
                longshore_jobs::validation::NUL_MESSAGE,
            )
        })
        .collect();
    if fields.is_empty() {
        return Ok(req);
    }
    Err(problem::ApiError::invalid(longshore_jobs::validation::Invalid(fields)).into())
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    services: Services,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let acceptor = TcpAcceptor::from_tokio(listener)?;
    // Tracking events still queued for the batch writer are written before returning.
    let mail = services.mail.clone();
    let app = app(services);
    let trimmer = longshore_jobs::memory::spawn_idle_trimmer();
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(10)))
        .await;
    trimmer.abort();
    mail.events.close().await;
    served
}
