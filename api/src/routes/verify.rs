//! `GET /v/{code}`: public certificate verification, no API key. JSON for
//! `Accept: application/json`, a small readable HTML page otherwise. Unknown, malformed (bad
//! check symbol), revoked and not-yet-rendered codes all get the same `404` answer, and every
//! lookup is rate-limited per client before the code is even parsed.

use longshore_jobs::documents::certificate::format_credits;
use longshore_jobs::documents::service::{self, Verification};
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, handler};
use serde_json::json;

use super::rate_limit::RateLimiter;
use crate::problem::ApiError;
use crate::state::AppState;

/// The verification endpoint with its rate limiter (`LONGSHORE_VERIFY_RATE_PER_MINUTE`).
pub fn endpoint(per_minute: u32) -> impl Endpoint {
    verify.data(RateLimiter::new(per_minute))
}

fn wants_json(req: &Request) -> bool {
    req.headers()
        .get(poem::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") || a.contains("+json"))
}

#[handler]
async fn verify(
    req: &Request,
    Path(code): Path<String>,
    state: Data<&AppState>,
    limiter: Data<&RateLimiter>,
) -> Response {
    let json = wants_json(req);
    let client = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if let Err(wait) = limiter.check(client) {
        if json {
            return ApiError::too_many_requests(wait).into_response();
        }
        let body = page(
            "Too many requests",
            "<p>Too many verification requests from your address. Please wait a moment and try again.</p>",
        );
        return html(StatusCode::TOO_MANY_REQUESTS, body)
            .with_header("Retry-After", wait.to_string())
            .into_response();
    }
    match service::verify(&state.services, &code).await {
        Ok(Some(v)) if json => poem::web::Json(valid_json(&v))
            .with_header("Cache-Control", "no-store")
            .into_response(),
        Ok(Some(v)) => html(StatusCode::OK, valid_page(&v)),
        Ok(None) if json => {
            let body = json!({"valid": false, "type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "no valid certificate has this code"});
            poem::web::Json(body)
                .with_status(StatusCode::NOT_FOUND)
                .into_response()
        }
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            page(
                "Certificate not valid",
                "<h1>Not valid</h1><p>No valid certificate has this code. Check the code for typing mistakes; a revoked certificate is no longer valid.</p>",
            ),
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn valid_json(v: &Verification) -> serde_json::Value {
    let mut body = json!({
        "valid": true,
        "kind": v.kind.as_str(),
        "recipient_name": v.recipient_name,
        "title": v.title,
        "issued_on": v.issued_on.to_string(),
        "issuer": v.issuer,
        "sha256": v.sha256,
    });
    if let Some(c) = v.credits {
        body["credits"] = json!(c);
    }
    body
}

fn html(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("Cache-Control", "no-store")
        .body(body)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn valid_page(v: &Verification) -> String {
    let credits = v
        .credits
        .map(|c| format!("<dt>Credits</dt><dd>{}</dd>", format_credits(c)))
        .unwrap_or_default();
    let sha = v
        .sha256
        .as_deref()
        .map(|s| format!("<dt>PDF SHA-256</dt><dd><code>{}</code></dd>", escape(s)))
        .unwrap_or_default();
    let body = format!(
        "<h1>&#10003; Valid certificate</h1><dl><dt>Awarded to</dt><dd>{}</dd><dt>For</dt><dd>{}</dd><dt>Issued on</dt><dd>{}</dd><dt>Issued by</dt><dd>{}</dd>{credits}{sha}</dl>",
        escape(&v.recipient_name),
        escape(&v.title),
        v.issued_on.format("%-d %B %Y"),
        escape(&v.issuer),
    );
    page("Valid certificate", &body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2937}}h1{{color:#1d4e89}}dt{{color:#5b6573;margin-top:.8rem}}dd{{margin:0;font-size:1.1rem}}code{{font-size:.8rem;word-break:break-all}}</style></head><body>{body}<footer><p><small>Certificate verification by Longshore</small></p></footer></body></html>"
    )
}
