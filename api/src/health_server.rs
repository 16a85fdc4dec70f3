//! The small admin server of the worker and scheduler processes (`/healthz`, `/readyz`,
//! `/metrics`), so orchestrators probe and Prometheus scrapes every process the same way.
//! It serves `/metrics` openly: the admin port is meant for the private network.

use std::future::Future;

use longshore_jobs::platform::Services;
use poem::listener::TcpAcceptor;
use poem::web::Json;
use poem::{EndpointExt, IntoResponse, Route, Server, get, handler};
use serde_json::json;

#[handler]
fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[handler]
async fn readyz(services: poem::web::Data<&Services>) -> poem::Response {
    let (db, queue) = tokio::join!(services.db.ping(), services.queue.ping());
    let ok = db.is_ok() && queue.is_ok();
    let word = |r: bool| if r { "ok" } else { "unavailable" };
    let body = Json(json!({
        "status": word(ok),
        "database": word(db.is_ok()),
        "queue": word(queue.is_ok()),
    }));
    let status = if ok {
        poem::http::StatusCode::OK
    } else {
        poem::http::StatusCode::SERVICE_UNAVAILABLE
    };
    body.with_status(status).into_response()
}

#[handler]
fn metrics() -> poem::Response {
    crate::metrics::scrape()
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve_health(
    services: Services,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let acceptor = TcpAcceptor::from_tokio(tokio::net::TcpListener::from_std(listener)?)?;
    let app = Route::new()
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/metrics", get(metrics))
        .data(services);
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, None)
        .await
}
