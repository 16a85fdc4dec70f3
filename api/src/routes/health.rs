//! Liveness and readiness: `/healthz` answers while the process runs; `/readyz` only when the
//! database and the queue answer (load balancers stop sending traffic otherwise).

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::state::AppState;

#[derive(Tags)]
enum HealthTag {
    /// Process health for load balancers and orchestrators.
    Health,
}

/// Health status.
#[derive(Object)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `ok` or the failure, for the database.
    #[oai(skip_serializing_if_is_none)]
    pub database: Option<String>,
    /// `ok` or the failure, for the queue.
    #[oai(skip_serializing_if_is_none)]
    pub queue: Option<String>,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// Ready to serve.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// A dependency is unreachable.
    #[oai(status = 503)]
    NotReady(Json<Health>),
}

/// Health endpoints (no authentication).
pub struct HealthApi {
    pub state: AppState,
}

#[OpenApi(tag = "HealthTag::Health")]
impl HealthApi {
    /// Liveness: the process is up.
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
            database: None,
            queue: None,
        })
    }

    /// Readiness: the database and the queue answer.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self) -> ReadyResponse {
        let services = &self.state.services;
        let (db, queue) = tokio::join!(services.db.ping(), services.queue.ping());
        let db = db.err().map(|_| "unavailable".to_string());
        let queue = queue.err().map(|_| "unavailable".to_string());
        let ok = db.is_none() && queue.is_none();
        let health = Health {
            status: if ok { "ok" } else { "unavailable" }.into(),
            database: Some(db.unwrap_or_else(|| "ok".into())),
            queue: Some(queue.unwrap_or_else(|| "ok".into())),
        };
        if ok {
            ReadyResponse::Ready(Json(health))
        } else {
            ReadyResponse::NotReady(Json(health))
        }
    }
}
