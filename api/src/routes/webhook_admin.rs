//! `/v1/webhook-endpoints` (gateway endpoints and their secrets) and `/v1/webhook-events` (the
//! inbox: what arrived, how it was handled, replay).

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::config::Secret;
use longshore_jobs::ids::{WebhookEndpointId, WebhookEventId};
use longshore_jobs::payments::ListQuery;
use longshore_jobs::secret_box::{SealError, Sealer};
use longshore_jobs::validation::Invalid;
use longshore_jobs::webhooks::Provider;
use longshore_jobs::webhooks::endpoints::{self, Endpoint, EndpointError};
use longshore_jobs::webhooks::inbox::{self, InboxEvent, InboxStatus, Reopened};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use serde::Deserialize;

use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::paging::{id_cursor, page_limit};
use crate::routes::webhooks::EndpointCache;
use crate::state::AppState;

/// Longest rotation overlap a client may ask for (7 days).
const MAX_OVERLAP_SECS: u64 = 7 * 24 * 3600;

#[derive(Tags)]
enum WebhookAdminTag {
    /// Gateway endpoints, their signing secrets, and the events they received.
    Webhooks,
}

/// The signature scheme and event format of a gateway.
#[derive(Debug, Clone, Copy, Enum, Deserialize, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ProviderView {
    Stripe,
    Standard,
}

/// An endpoint to create.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    pub provider: ProviderView,
}

/// A secret rotation.
#[derive(Debug, Clone, Object, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// Seconds the old secret keeps verifying (default `LONGSHORE_WEBHOOK_SECRET_OVERLAP_SECS`,
    /// 24 h; at most 7 days; 0 retires it at once).
    #[oai(skip_serializing_if_is_none)]
    pub overlap_secs: Option<u64>,
}

/// A gateway endpoint.
#[derive(Debug, Clone, Object)]
pub struct EndpointView {
    /// `whe_…`
    pub id: String,
    /// `stripe` or `standard`.
    pub provider: String,
    /// Give this URL to the gateway.
    pub url: String,
    /// The signing secret: present only in the response that created or rotated it.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the previous secret still verifies.
    #[oai(skip_serializing_if_is_none)]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

fn endpoint_view(state: &AppState, e: Endpoint, secret: Option<Secret>) -> EndpointView {
    let config = &state.services.config;
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", config.host, config.port));
    EndpointView {
        url: format!("{}/hooks/{}", base.trim_end_matches('/'), e.id),
        id: e.id.to_string(),
        provider: e.provider.as_str().to_owned(),
        secret: secret.map(|s| s.expose().to_owned()),
        created_at: from_ms(e.created_at),
        rotated_at: e.rotated_at.map(from_ms),
        previous_secret_valid_until: e.previous_secret_valid_until.map(from_ms),
    }
}

/// A stored webhook event.
#[derive(Debug, Clone, Object)]
pub struct WebhookEventView {
    /// `evt_…` (Longshore's id of the inbox row).
    pub id: String,
    pub endpoint_id: String,
    pub provider: String,
    /// The gateway's own event id.
    pub event_id: String,
    pub event_type: String,
    pub status: InboxStatus,
    /// Why it was ignored, deferred or failed.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub payment_id: Option<String>,
    /// The event's creation time at the gateway.
    #[oai(skip_serializing_if_is_none)]
    pub occurred_at: Option<DateTime<Utc>>,
    pub replays: i64,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<InboxEvent> for WebhookEventView {
    fn from(e: InboxEvent) -> Self {
        WebhookEventView {
            id: e.id.to_string(),
            endpoint_id: e.endpoint.to_string(),
            provider: e.provider,
            event_id: e.event_id,
            event_type: e.event_type,
            status: e.status,
            reason: e.reason,
            payment_id: e.payment.map(|p| p.to_string()),
            occurred_at: e.occurred_at.map(from_ms),
            replays: e.replays,
            received_at: from_ms(e.received_at),
            updated_at: from_ms(e.updated_at),
        }
    }
}

/// A list of endpoints.
#[derive(Debug, Object)]
pub struct EndpointList {
    pub data: Vec<EndpointView>,
}

/// A page of webhook events, newest first.
#[derive(Debug, Object)]
pub struct WebhookEventList {
    pub data: Vec<WebhookEventView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

// One response type per operation: a status documented by several variants of one enum shows
// only one of their schemas in the OpenAPI document, and the others' bodies contradict it.
#[derive(ApiResponse)]
enum EndpointCreated {
    /// Created; the secret is shown this once.
    #[oai(status = 201)]
    Created(Json<EndpointView>),
}

#[derive(ApiResponse)]
enum EndpointFound {
    /// The endpoint (with its new secret after a rotation).
    #[oai(status = 200)]
    Endpoint(Json<EndpointView>),
}

#[derive(ApiResponse)]
enum EndpointsListed {
    /// The endpoints.
    #[oai(status = 200)]
    Endpoints(Json<EndpointList>),
}

#[derive(ApiResponse)]
enum EventFound {
    /// The event.
    #[oai(status = 200)]
    Event(Json<WebhookEventView>),
}

#[derive(ApiResponse)]
enum EventsListed {
    /// A page of events.
    #[oai(status = 200)]
    Events(Json<WebhookEventList>),
}

#[derive(ApiResponse)]
enum Replaying {
    /// Replay accepted: the event will be applied again.
    #[oai(status = 202)]
    Replaying(Json<WebhookEventView>),
}

/// The webhook endpoints and events API.
pub struct WebhookAdminApi {
    pub cache: EndpointCache,
    /// Seals new and rotated secrets at rest.
    pub sealer: Sealer,
}

fn endpoint_id(raw: &str) -> Result<WebhookEndpointId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such webhook endpoint"))
}

/// The master key is missing or wrong: logged for the operator (no secret in it), 500 to the
/// caller.
pub(crate) fn seal_error(e: SealError) -> ApiError {
    tracing::error!(error = %e, "webhook secrets key problem");
    ApiError::internal()
}

/// Maps an endpoint storage error: the database is 503, the master key 500.
pub(crate) fn endpoint_error(e: EndpointError) -> ApiError {
    match e {
        EndpointError::Db(db) => ApiError::from(db),
        EndpointError::Seal(s) => seal_error(s),
    }
}

fn event_id(raw: &str) -> Result<WebhookEventId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such webhook event"))
}

#[OpenApi(prefix_path = "/v1", tag = "WebhookAdminTag::Webhooks")]
impl WebhookAdminApi {
    /// Create a gateway endpoint: returns the URL and the signing secret (shown once).
    #[oai(path = "/webhook-endpoints", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: JsonBody<CreateEndpoint>,
    ) -> Result<EndpointCreated, ApiError> {
        let provider = match body.value.provider {
            ProviderView::Stripe => Provider::Stripe,
            ProviderView::Standard => Provider::Standard,
        };
        let sealer = self.sealer.get().map_err(seal_error)?;
        let (endpoint, secret) = endpoints::create(&state.services.db, &sealer, &auth.0, provider)
            .await
            .map_err(endpoint_error)?;
        Ok(EndpointCreated::Created(Json(endpoint_view(
            &state,
            endpoint,
            Some(secret),
        ))))
    }

    /// List gateway endpoints (never their secrets).
    #[oai(path = "/webhook-endpoints", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
    ) -> Result<EndpointsListed, ApiError> {
        let list = endpoints::list(&state.services.db, &auth.0).await?;
        let data = list
            .into_iter()
            .map(|e| endpoint_view(&state, e, None))
            .collect();
        Ok(EndpointsListed::Endpoints(Json(EndpointList { data })))
    }

    /// Get a gateway endpoint (never its secret).
    #[oai(path = "/webhook-endpoints/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<EndpointFound, ApiError> {
        let id = endpoint_id(&id.0)?;
        let e = endpoints::get(&state.services.db, &auth.0, &id).await?;
        let e = e.ok_or_else(|| ApiError::not_found("no such webhook endpoint"))?;
        Ok(EndpointFound::Endpoint(Json(endpoint_view(
            &state, e, None,
        ))))
    }

    /// Rotate the signing secret; the old one keeps verifying during the overlap.
    #[oai(path = "/webhook-endpoints/:id/rotate-secret", method = "post")]
    async fn rotate(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: JsonBody<RotateSecret>,
    ) -> Result<EndpointFound, ApiError> {
        let id = endpoint_id(&id.0)?;
        let overlap = body
            .value
            .overlap_secs
            .unwrap_or(state.services.config.webhook_secret_overlap_secs);
        if overlap > MAX_OVERLAP_SECS {
            return Err(Invalid::one(
                "overlap_secs",
                format!("must be at most {MAX_OVERLAP_SECS}"),
            )
            .into());
        }
        let overlap_ms = i64::try_from(overlap * 1000).unwrap_or(i64::MAX);
        let sealer = self.sealer.get().map_err(seal_error)?;
        let rotated = endpoints::rotate(&state.services.db, &sealer, &auth.0, &id, overlap_ms)
            .await
            .map_err(endpoint_error)?;
        let (endpoint, secret) =
            rotated.ok_or_else(|| ApiError::not_found("no such webhook endpoint"))?;
        self.cache.forget(&id);
        Ok(EndpointFound::Endpoint(Json(endpoint_view(
            &state,
            endpoint,
            Some(secret),
        ))))
    }

    /// List received webhook events, newest first.
    #[oai(path = "/webhook-events", method = "get")]
    async fn events(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// `received`, `processed`, `ignored`, `deferred` or `failed`.
        status: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<EventsListed, ApiError> {
        if let Some(s) = &status.0
            && s.parse::<InboxStatus>().is_err()
        {
            let known: Vec<&str> = InboxStatus::ALL.iter().map(|s| s.as_str()).collect();
            return Err(
                Invalid::one("status", format!("must be one of {}", known.join(", "))).into(),
            );
        }
        let q = ListQuery {
            status: status.0,
            cursor: id_cursor::<WebhookEventId>(cursor.0)?.map(|c| c.to_string()),
            limit: page_limit(limit.0)? as i64,
        };
        let page = inbox::list(&state.services.db, &auth.0, &q).await?;
        Ok(EventsListed::Events(Json(WebhookEventList {
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor,
            data: page.items.into_iter().map(Into::into).collect(),
        })))
    }

    /// Get a received webhook event.
    #[oai(path = "/webhook-events/:id", method = "get")]
    async fn event(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<EventFound, ApiError> {
        let id = event_id(&id.0)?;
        let e = inbox::get(&state.services.db, &auth.0, &id).await?;
        Ok(EventFound::Event(Json(
            e.ok_or_else(|| ApiError::not_found("no such webhook event"))?
                .into(),
        )))
    }

    /// Replay an `ignored`, `deferred` or `failed` event (e.g. once its payment exists).
    ///
    /// A `processed` event is refused (409): its effect happened, and applying it again would
    /// double it. So is a `received` one, which is still on its way.
    #[oai(path = "/webhook-events/:id/replay", method = "post")]
    async fn replay(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        id: Path<String>,
    ) -> Result<Replaying, ApiError> {
        let id = event_id(&id.0)?;
        let db = &state.services.db;
        let replays = match inbox::reopen(db, &auth.0, &id).await? {
            Reopened::Yes { replays } => replays,
            Reopened::NotFound => return Err(ApiError::not_found("no such webhook event")),
            Reopened::NotReplayable(status) => {
                return Err(ApiError::conflict(format!(
                    "the event is {status}; only ignored, deferred or failed events can be replayed"
                )));
            }
        };
        let replay = inbox::apply_intent(&auth.0, &id, replays, Some(request_id.0.0.clone()));
        if let Err(e) = state.services.out.dispatch(replay).await {
            // Reopened and stored: the sweeper enqueues it once the queue is back.
            tracing::warn!(event = %id, error = %e, "replay enqueue failed; the sweeper will retry");
        }
        let e = inbox::get(db, &auth.0, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("no such webhook event"))?;
        Ok(Replaying::Replaying(Json(e.into())))
    }
}
