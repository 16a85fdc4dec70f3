//! The public tracking endpoints, no API key (the signed token is the credential):
//!
//! - `GET /t/o/{token}`: a 1×1 GIF, `Cache-Control: no-store, private`; records an open (a `HEAD`
//!   answers the same headers and records nothing);
//! - `GET /t/c/{token}`: records a click and answers `302` to the link signed into the token;
//! - `GET /t/u/{token}`: a confirmation page that changes nothing;
//! - `POST /t/u/{token}`: RFC 8058 one-click unsubscribe (form-encoded or multipart body, whose
//!   content does not matter): `200` with a page, no redirect, idempotent.
//!
//! A forged, altered or unknown token records nothing and answers `404`; query parameters are
//! never read, so `?url=` cannot redirect anywhere. Opens and clicks are verified without a
//! database read and written in batches (see `email::event_writer`).

use longshore_jobs::email::tracking::{self, Visitor};
use poem::http::{Method, StatusCode};
use poem::web::{Data, Path};
use poem::{Body, IntoResponse, Request, Response, Route, handler};

use crate::client_ip::ClientIp;
use crate::problem::ApiError;
use crate::state::AppState;

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Largest unsubscribe body read (the content is not needed).
const MAX_UNSUBSCRIBE_BODY: usize = 64 * 1024;

/// The tracking routes, to nest under `/t`.
pub fn routes() -> Route {
    Route::new()
        .at("/o/:token", poem::get(open).head(open))
        .at("/c/:token", poem::get(click).head(click))
        .at("/u/:token", poem::get(unsubscribe_page).post(unsubscribe))
}

fn visitor(req: &Request) -> Visitor {
    Visitor {
        user_agent: req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        ip: ClientIp::find(req)
            .map(|ip| ip.to_string())
            .unwrap_or_default(),
    }
}

fn not_found() -> Response {
    ApiError::not_found("no such tracking link").into_response()
}

#[handler]
async fn open(req: &Request, Path(token): Path<String>, state: Data<&AppState>) -> Response {
    let count = req.method() != Method::HEAD;
    if !tracking::open(&tracker(&state), &token, &visitor(req), count).await {
        return not_found();
    }
    Response::builder()
        .content_type("image/gif")
        .header("Cache-Control", "no-store, private")
        .header("Pragma", "no-cache")
        .body(if count {
            Body::from(PIXEL)
        } else {
            Body::empty()
        })
}

#[handler]
async fn click(req: &Request, Path(token): Path<String>, state: Data<&AppState>) -> Response {
    let link = if req.method() == Method::HEAD {
        // A link checker's HEAD: answer where it goes, record nothing.
        longshore_jobs::email::tracking::peek_link(&tracker(&state), &token)
    } else {
        tracking::click(&tracker(&state), &token, &visitor(req)).await
    };
    match link {
        Some(link) => Response::builder()
            .status(StatusCode::FOUND)
            .header("Location", tracking::location(&link))
            .header("Cache-Control", "no-store, private")
            .header("Referrer-Policy", "no-referrer")
            .finish(),
        None => not_found(),
    }
}

/// A page of `public/unsubscribe.html` in `state` (`confirm`, `done`, `invalid`).
fn page(status: StatusCode, title: &str, state: &str) -> Response {
    let html = match crate::html::render(
        "public/unsubscribe.html",
        minijinja::context! { title, state },
    ) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe page did not render");
            return ApiError::internal().into_response();
        }
    };
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("Cache-Control", "no-store, private")
        .header("Referrer-Policy", "no-referrer")
        .body(html)
}

fn unknown_link() -> Response {
    page(StatusCode::NOT_FOUND, "Link not recognised", "invalid")
}

#[handler]
async fn unsubscribe_page(Path(token): Path<String>, state: Data<&AppState>) -> Response {
    if tracking::unsubscribe_token(&tracker(&state), &token).is_none() {
        return unknown_link();
    }
    // Changes nothing: mail scanners follow GET links; only the POST below unsubscribes.
    page(StatusCode::OK, "Unsubscribe", "confirm")
}

#[handler]
async fn unsubscribe(
    req: &Request,
    body: Body,
    Path(token): Path<String>,
    state: Data<&AppState>,
) -> Response {
    // RFC 8058: the body is `List-Unsubscribe=One-Click`, form-encoded or multipart; the signed
    // URL is what identifies the recipient, so the body is read (bounded) and not interpreted.
    if let Err(e) = crate::body::read_limited(body, MAX_UNSUBSCRIBE_BODY).await {
        return e.into_response();
    }
    match tracking::unsubscribe(&tracker(&state), &token, &visitor(req)).await {
        Ok(Some(_)) => page(StatusCode::OK, "You are unsubscribed", "done"),
        Ok(None) => unknown_link(),
        Err(e) => {
            tracing::warn!(error = %e, "unsubscribe could not be recorded");
            ApiError::unavailable("database").into_response()
        }
    }
}

/// What recording an open, click or unsubscribe uses.
fn tracker(state: &AppState) -> tracking::Tracker<'_> {
    tracking::Tracker {
        db: &state.services.db,
        config: &state.services.config,
        mail: &state.services.mail,
    }
}
