//! The operators' dashboard at `/dashboard`: server-rendered pages over the same domain
//! functions as `/v1/admin` and the jobs API (queues, jobs and bulk operations on them,
//! tenants, schedules, payment webhooks, events to tenants' apps, the audit log), with htmx
//! only for live refresh. Not part of the OpenAPI document.
//!
//! Security, in one place ([`guard`] and [`secure_headers`]):
//! - a login with an operator key (`LONGSHORE_ADMIN_KEY`) opens a server-side session
//!   ([`session`]); every page but the login form and the assets wants one (303 to the login
//!   page otherwise);
//! - every POST must come from this origin (an `Origin` header, when sent, must match) and
//!   carry the session's CSRF token ([`csrf`]), read here before any handler runs;
//! - every response carries a strict Content-Security-Policy (no inline script or style),
//!   `nosniff`, `no-referrer`, and pages are `no-store`;
//! - templates escape every value ([`crate::html`]).

mod assets;
mod csrf;
mod error;
mod events;
mod jobs;
mod operations;
mod pages;
mod picker;
mod schedules;
mod session;
mod tenants;
mod view;
mod webhooks;

use std::sync::Arc;

use poem::http::{Method, StatusCode};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, post};

pub use error::PageError;

/// The Content-Security-Policy of every dashboard response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// Largest form body read (the dashboard's forms hold a token and a few ids).
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The dashboard, to nest under `/dashboard`.
pub fn routes() -> impl Endpoint<Output = Response> {
    Route::new()
        .at("/", get(pages::overview))
        .at("/fragments/queues", get(pages::queues_fragment))
        .at("/login", get(session::login_form).post(session::login))
        .at("/logout", post(session::logout))
        .at("/jobs", get(jobs::list))
        .at("/jobs/find", get(jobs::find))
        .at("/jobs/:tenant/:id", get(jobs::detail))
        .at("/jobs/:tenant/:id/retry", post(jobs::retry))
        .at("/jobs/:tenant/:id/cancel", post(jobs::cancel))
        .at("/tenants", get(tenants::list))
        .at("/tenants/:id", get(tenants::detail))
        .at("/tenants/:id/disable", post(tenants::disable))
        .at("/tenants/:id/enable", post(tenants::enable))
        .at("/operations", get(operations::list).post(operations::start))
        .at("/operations/:id", get(operations::detail))
        .at("/operations/:id/progress", get(operations::progress))
        .at("/schedules", get(schedules::list))
        .at("/webhooks", get(webhooks::list))
        .at("/events", get(events::list))
        .at("/audit", get(pages::audit))
        .at("/assets/:name", get(assets::serve))
        .data(session::LoginLimiter::new())
        .around(guard)
        .catch_all_error(|err| async move { error::page_of(err) })
        .around(secure_headers)
}

/// Paths open without a session: the login form and the static assets.
fn is_public(path: &str) -> bool {
    path == "/login" || path.starts_with("/assets/")
}

/// Checks the origin of every POST, and the session (and, for a POST, its CSRF token) of
/// every request but [`is_public`] ones, before the handler runs.
async fn guard<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let post = req.method() == Method::POST;
    if post && !csrf::same_origin(&req) {
        return Err(PageError::Forbidden("this request did not come from the dashboard").into());
    }
    if is_public(req.uri().path()) {
        return Ok(ep.call(req).await?.into_response());
    }
    let session = session::Session::find(&req).await?;
    if post {
        let body = crate::body::read_limited(req.take_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| PageError::BadRequest("the form is too large".into()))?;
        let form = view::Form::parse(&body);
        let presented = req
            .headers()
            .get(csrf::HEADER)
            .and_then(|v| v.to_str().ok())
            .or_else(|| form.get("csrf"));
        if !csrf::matches(&session, presented) {
            return Err(PageError::Forbidden(
                "the form's security token is missing or out of date: reload the page and try again",
            )
            .into());
        }
        req.set_body(body);
        req.extensions_mut().insert(form);
    }
    req.extensions_mut().insert(session);
    Ok(ep.call(req).await?.into_response())
}

/// Adds the security headers to every dashboard response (pages, fragments, assets, errors).
async fn secure_headers<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let asset = req.uri().path().starts_with("/assets/");
    let mut resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => error::page_of(e),
    };
    let headers = resp.headers_mut();
    let set = |h: &mut poem::http::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, poem::http::HeaderValue::from_static(value));
    };
    set(headers, "content-security-policy", CSP);
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    if !asset || resp.status() != StatusCode::OK {
        set(resp.headers_mut(), "cache-control", "no-store");
    }
    Ok(resp)
}
