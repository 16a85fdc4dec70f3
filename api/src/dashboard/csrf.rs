//! Cross-site request forgery defences for the dashboard's POSTs: the session's CSRF token
//! (a hidden `csrf` form field, or the `X-CSRF-Token` header htmx sends from `hx-headers`),
//! compared in constant time; and the `Origin` header, which when present must name this
//! site. The session cookie is `SameSite=Strict` on top of both.

use poem::Request;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::session::Session;
use crate::state::AppState;

/// The header htmx requests carry the token in.
pub const HEADER: &str = "x-csrf-token";

/// The CSRF token of the session whose cookie token is `session_token`: a digest of it under
/// a label of its own, so it is fixed for the session, unguessable without the cookie, and
/// different from the digest the database keeps.
pub fn token_for(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"longshore-dashboard-csrf\0");
    h.update(session_token.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `presented` is `session`'s CSRF token (constant time).
pub fn matches(session: &Session, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(session.csrf.as_bytes())))
}

/// False when the request says it comes from another site:
/// - `Sec-Fetch-Site` (sent by current browsers whatever the referrer policy), when present,
///   must be `same-origin`;
/// - `Origin`, when present, must be the `Host` the request was sent to or the origin of
///   `LONGSHORE_PUBLIC_URL`. The dashboard's `Referrer-Policy: no-referrer` makes browsers
///   send `Origin: null` on its own form posts, so `null` passes only with
///   `Sec-Fetch-Site: same-origin`.
///
/// A request with neither header passes (older browsers); the CSRF token still has to match.
pub fn same_origin(req: &Request) -> bool {
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or(""));
    if fetch_site.is_some_and(|site| site != "same-origin") {
        return false;
    }
    let Some(origin) = req.headers().get(poem::http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == "null" {
        return fetch_site == Some("same-origin");
    }
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let host_header = req
        .headers()
        .get(poem::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    if host_header.is_some_and(|h| h.eq_ignore_ascii_case(&authority)) {
        return true;
    }
    let public = req
        .data::<AppState>()
        .and_then(|s| s.services.config.public_url.as_deref())
        .and_then(|u| url::Url::parse(u).ok());
    public.is_some_and(|p| p.origin() == url.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(origin: Option<&str>, site: Option<&str>) -> Request {
        let mut b = Request::builder().header("host", "127.0.0.1:8080");
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        if let Some(s) = site {
            b = b.header("sec-fetch-site", s);
        }
        b.finish()
    }

    #[test]
    fn only_this_origin_may_post() {
        assert!(same_origin(&req(None, None)));
        assert!(same_origin(&req(Some("http://127.0.0.1:8080"), None)));
        assert!(same_origin(&req(
            Some("http://127.0.0.1:8080"),
            Some("same-origin")
        )));
        assert!(!same_origin(&req(Some("http://evil.example"), None)));
        assert!(!same_origin(&req(Some("http://127.0.0.1:9999"), None)));
        assert!(!same_origin(&req(
            Some("http://127.0.0.1:8080"),
            Some("cross-site")
        )));
        assert!(!same_origin(&req(None, Some("same-site"))));
        // What a browser sends for the dashboard's own forms under `no-referrer`.
        assert!(same_origin(&req(Some("null"), Some("same-origin"))));
        assert!(!same_origin(&req(Some("null"), None)));
        assert!(!same_origin(&req(Some("null"), Some("cross-site"))));
    }

    #[test]
    fn the_token_is_fixed_per_session_and_not_the_stored_digest() {
        let a = token_for("one");
        assert_eq!(a, token_for("one"));
        assert_ne!(a, token_for("two"));
        assert_ne!(a, hex::encode(Sha256::digest(b"one")));
    }
}
