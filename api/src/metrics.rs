//! `/metrics` on the API port, and the middleware that counts requests for it.
//!
//! Requests are labelled with the matched route *template* (`/v1/jobs/:id`), never the raw
//! path, so ids and tokens in paths cannot grow the label set; unmatched paths share one label.
//! The template is only known inside the router, while the final status is only known outside
//! `catch_all_error` (which turns errors into problem responses): [`RouteCapture`] sits on the
//! router and hands the template out through a slot that [`HttpMetrics`] puts on the request.
//!
//! `/metrics` is not part of the client OpenAPI document. It is open unless
//! `LONGSHORE_METRICS_TOKEN` is set, then it wants `Authorization: Bearer <token>`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use longshore_jobs::metrics as m;
use poem::PathPattern;
use poem::http::{Method, header};
use poem::web::Data;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, handler};

use crate::problem::ApiError;
use crate::state::AppState;

/// Serves the Prometheus text of this process.
#[handler]
pub fn metrics_endpoint(req: &Request, state: Data<&AppState>) -> poem::Result<Response> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !m::scrape_allowed(&state.services.config, authorization) {
        return Err(ApiError::metrics_unauthorized().into());
    }
    Ok(scrape())
}

/// The Prometheus text response (shared with the admin port).
pub fn scrape() -> Response {
    Response::builder()
        .content_type(m::CONTENT_TYPE)
        .body(m::render())
}

/// Where [`RouteCapture`] leaves the matched route template for [`HttpMetrics`].
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<Arc<str>>>);

/// Outermost middleware: counts every request by method, route template and status class, and
/// records its latency.
pub struct HttpMetrics;

impl<E: Endpoint> Middleware<E> for HttpMetrics {
    type Output = HttpMetricsEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        HttpMetricsEndpoint(ep)
    }
}

/// See [`HttpMetrics`].
pub struct HttpMetricsEndpoint<E>(E);

impl<E: Endpoint> Endpoint for HttpMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        longshore_jobs::memory::note_activity();
        let method = method_label(req.method());
        let slot = RouteSlot::default();
        req.set_data(slot.clone());
        let resp = match self.0.call(req).await {
            Ok(out) => out.into_response(),
            Err(err) => err.into_response(),
        };
        let route = slot
            .0
            .get()
            .map(|r| &**r)
            .filter(|r| !r.is_empty())
            .unwrap_or("unmatched");
        let status = status_class(resp.status().as_u16());
        m::http_request(method, route, status, started.elapsed());
        Ok(resp)
    }
}

/// Innermost middleware, on the router: passes the matched route template to [`HttpMetrics`].
pub struct RouteCapture;

impl<E: Endpoint> Middleware<E> for RouteCapture {
    type Output = RouteCaptureEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        RouteCaptureEndpoint(ep)
    }
}

/// See [`RouteCapture`].
pub struct RouteCaptureEndpoint<E>(E);

impl<E: Endpoint> Endpoint for RouteCaptureEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let slot = req.data::<RouteSlot>().cloned();
        let result = self.0.call(req).await.map(IntoResponse::into_response);
        if let Some(slot) = slot {
            let pattern = match &result {
                Ok(resp) => resp.data::<PathPattern>(),
                Err(err) => err.data::<PathPattern>(),
            };
            if let Some(p) = pattern {
                let _ = slot.0.set(p.0.clone());
            }
        }
        result
    }
}

/// The method as a label; anything unusual is `other` (methods are client-chosen tokens).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `2xx`, `4xx`, …
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").expect("a token")),
            "other"
        );
    }
}
