//! `X-Request-Id`: taken from the client when sane, generated otherwise, echoed in the response,
//! put on the request's log span, and stored on jobs the request creates.
//!
//! The span carries the method and the path, never the query string, with the credential part
//! of public paths redacted ([`loggable_path`]): tracking tokens and verification codes.

use std::borrow::Cow;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware that assigns request ids.
pub struct RequestIds;

impl<E: Endpoint> Middleware<E> for RequestIds {
    type Output = RequestIdEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        RequestIdEndpoint(ep)
    }
}

/// See [`RequestIds`].
pub struct RequestIdEndpoint<E>(E);

fn sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Path prefixes whose remainder is a credential: a tracking token (`/t/o/`, `/t/c/`, `/t/u/`)
/// or a certificate's verification code (`/v/`).
const SECRET_TAILS: [&str; 4] = ["/t/o/", "/t/c/", "/t/u/", "/v/"];

/// `path` as it may be logged: everything after a [`SECRET_TAILS`] prefix, wherever it appears,
/// becomes `…redacted` (`/t/c/…redacted`). Other paths are kept.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    let cut = SECRET_TAILS
        .iter()
        .filter_map(|p| path.find(p).map(|at| at + p.len()))
        .min();
    match cut {
        Some(end) if end < path.len() => Cow::Owned(format!("{}…redacted", &path[..end])),
        _ => Cow::Borrowed(path),
    }
}

impl<E: Endpoint> Endpoint for RequestIdEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| sane(v))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("req_{}", ulid::Ulid::new()));
        req.extensions_mut().insert(RequestId(id.clone()));
        let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req.uri().path()));
        let result = self.0.call(req).instrument(span).await;
        let mut resp = match result {
            Ok(out) => out.into_response(),
            Err(err) => err.into_response(),
        };
        if let Ok(value) = poem::http::HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-request-id", value);
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_codes_are_redacted_from_logged_paths() {
        for (path, logged) in [
            ("/t/o/v1.k1.abcdef", "/t/o/…redacted"),
            ("/t/c/v1.k1.abcdef", "/t/c/…redacted"),
            ("/t/u/v1.k1.abcdef", "/t/u/…redacted"),
            ("/v/7KQ2MX-H4RT9B-0VZ3PE", "/v/…redacted"),
            ("//t/c/secret/more", "//t/c/…redacted"),
            ("/x/v/secret", "/x/v/…redacted"),
            ("/t/o/", "/t/o/"),
            ("/v1/jobs/job_01", "/v1/jobs/job_01"),
            ("/hooks/whe_01", "/hooks/whe_01"),
            ("/t/x/abc", "/t/x/abc"),
        ] {
            assert_eq!(loggable_path(path), logged, "{path}");
        }
    }
}
