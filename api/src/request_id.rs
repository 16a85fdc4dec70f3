//! `X-Request-Id`: taken from the client when sane, generated otherwise, echoed in the response,
//! put on the request's log span, and stored on jobs the request creates.

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
        let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
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
