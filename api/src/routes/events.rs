//! `/v1/event-endpoints` and `/v1/events`: signed webhooks back to the tenant's app when an
//! email is opened, a document is ready, a payment changes. Handlers call
//! `longshore_jobs::events`.

use longshore_jobs::clock::now_ms;
use longshore_jobs::events::{EventType, deliveries, endpoints, service};
use longshore_jobs::ids::{EventEndpointId, EventId};
use longshore_jobs::secret_box::{SealError, Sealer};
use longshore_jobs::validation::Invalid;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::event_views::{
    AppEventList, AppEventView, AttemptOutcome, EventAttemptList, EventAttemptView,
    EventEndpointBody, EventEndpointList, EventEndpointPatch, EventEndpointView, ReplayEventBody,
    ReplayFailedBody, ReplayedView,
};
use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::problem::ApiError;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum EventsTag {
    /// Events back to your app: Longshore POSTs a signed JSON body (Standard Webhooks) to your
    /// endpoints when an email is sent or opened, a document is ready, a payment changes, a job
    /// dies.
    Events,
}

#[derive(ApiResponse)]
enum EndpointCreated {
    /// Created; `secret` is shown this once.
    #[oai(status = 201)]
    Endpoint(Json<EventEndpointView>),
}

#[derive(ApiResponse)]
enum EndpointFound {
    /// The endpoint.
    #[oai(status = 200)]
    Endpoint(Json<EventEndpointView>),
}

#[derive(ApiResponse)]
enum EndpointsListed {
    /// A page of endpoints, newest first.
    #[oai(status = 200)]
    Endpoints(Json<EventEndpointList>),
}

#[derive(ApiResponse)]
enum EndpointDeleted {
    /// Deleted, with its deliveries and attempt log.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum AttemptsListed {
    /// A page of attempts, newest first.
    #[oai(status = 200)]
    Attempts(Json<EventAttemptList>),
}

#[derive(ApiResponse)]
enum Replayed {
    /// How many deliveries were scheduled again.
    #[oai(status = 200)]
    Count(Json<ReplayedView>),
}

#[derive(ApiResponse)]
enum EventsListed {
    /// A page of events, newest first.
    #[oai(status = 200)]
    Events(Json<AppEventList>),
}

#[derive(ApiResponse)]
enum EventFound {
    /// The event and its deliveries.
    #[oai(status = 200)]
    Event(Json<AppEventView>),
}

fn endpoint_id(raw: &str) -> Result<EventEndpointId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such event endpoint"))
}

fn event_id(raw: &str) -> Result<EventId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such event"))
}

fn seal_error(e: SealError) -> ApiError {
    tracing::error!(error = %e, "the secrets key cannot be loaded");
    ApiError::unavailable("secrets key")
}

/// The events API.
pub struct EventsApi {
    pub sealer: Sealer,
}

#[OpenApi(prefix_path = "/v1", tag = "EventsTag::Events")]
impl EventsApi {
    /// Create an event endpoint.
    ///
    /// Longshore POSTs each event its `event_types` name (all by default) to `url`, signed
    /// with the endpoint's secret (`webhook-id` = the event id, `webhook-timestamp`,
    /// `webhook-signature: v1,<base64 HMAC-SHA256>`), until it answers 2xx, on the retry
    /// schedule `LONGSHORE_EVENT_RETRY_SCHEDULE` (by default at once, 5 s, 5 min, 30 min, 2 h,
    /// 5 h, 10 h, 10 h), at the time of its `Retry-After` when it gives one. `410 Gone`
    /// disables the endpoint, as does failing continuously for
    /// `LONGSHORE_EVENT_DISABLE_AFTER_SECS` (5 days by default).
    #[oai(path = "/event-endpoints", method = "post")]
    async fn create_endpoint(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: JsonBody<EventEndpointBody>,
    ) -> Result<EndpointCreated, ApiError> {
        let s = &state.services;
        let sealer = self.sealer.get().map_err(seal_error)?;
        let (endpoint, secret) = endpoints::create(
            &s.db,
            &sealer,
            s.outbound.destinations(),
            &auth.0,
            body.value.into(),
        )
        .await?;
        Ok(EndpointCreated::Endpoint(Json(EventEndpointView::new(
            endpoint,
            Some(secret.expose().to_owned()),
        ))))
    }

    /// List event endpoints, newest first.
    #[oai(path = "/event-endpoints", method = "get")]
    async fn list_endpoints(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<EndpointsListed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor: Option<EventEndpointId> = id_cursor(cursor.0)?;
        let (found, next) = endpoints::list(
            &state.services.db,
            &auth.0,
            cursor.as_ref().map(EventEndpointId::as_str),
            limit,
        )
        .await?;
        Ok(EndpointsListed::Endpoints(Json(EventEndpointList {
            data: found
                .into_iter()
                .map(|e| EventEndpointView::new(e, None))
                .collect(),
            has_more: next.is_some(),
            next_cursor: next,
        })))
    }

    /// Get an event endpoint (never its secret).
    #[oai(path = "/event-endpoints/:id", method = "get")]
    async fn get_endpoint(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<EndpointFound, ApiError> {
        let endpoint = endpoints::get(&state.services.db, &auth.0, &endpoint_id(&id.0)?).await?;
        Ok(EndpointFound::Endpoint(Json(EventEndpointView::new(
            endpoint, None,
        ))))
    }

    /// Change an event endpoint: send only what changes. Workers apply it within a second.
    #[oai(path = "/event-endpoints/:id", method = "patch")]
    async fn update_endpoint(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: JsonBody<EventEndpointPatch>,
    ) -> Result<EndpointFound, ApiError> {
        let s = &state.services;
        let endpoint = endpoints::update(
            &s.db,
            s.outbound.destinations(),
            &auth.0,
            &endpoint_id(&id.0)?,
            body.value.into(),
        )
        .await?;
        Ok(EndpointFound::Endpoint(Json(EventEndpointView::new(
            endpoint, None,
        ))))
    }

    /// Delete an event endpoint, with its deliveries and attempt log.
    #[oai(path = "/event-endpoints/:id", method = "delete")]
    async fn delete_endpoint(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<EndpointDeleted, ApiError> {
        endpoints::delete(&state.services.db, &auth.0, &endpoint_id(&id.0)?).await?;
        Ok(EndpointDeleted::Done)
    }

    /// Rotate an endpoint's signing secret.
    ///
    /// The answer carries the new secret (shown this once). The previous secret keeps signing
    /// for `LONGSHORE_WEBHOOK_SECRET_OVERLAP_SECS` (a day by default): meanwhile every request
    /// carries both signatures, so the app can switch its verifier at any moment.
    #[oai(path = "/event-endpoints/:id/secret", method = "post")]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<EndpointFound, ApiError> {
        let s = &state.services;
        let sealer = self.sealer.get().map_err(seal_error)?;
        let overlap =
            i64::try_from(s.config.webhook_secret_overlap_secs.saturating_mul(1000)).unwrap_or(0);
        let (endpoint, secret) =
            endpoints::rotate_secret(&s.db, &sealer, &auth.0, &endpoint_id(&id.0)?, overlap)
                .await?;
        Ok(EndpointFound::Endpoint(Json(EventEndpointView::new(
            endpoint,
            Some(secret.expose().to_owned()),
        ))))
    }

    /// An endpoint's delivery attempts, newest first: time, status, latency, error and the
    /// start of each answer.
    #[oai(path = "/event-endpoints/:id/attempts", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list_attempts(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        /// Only the attempts of this event.
        event_id: Query<Option<String>>,
        /// Only attempts that ended so.
        status: Query<Option<AttemptOutcome>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<AttemptsListed, ApiError> {
        let s = &state.services;
        let limit = page_limit(limit.0)?;
        let endpoint = endpoint_id(&id.0)?;
        endpoints::get(&s.db, &auth.0, &endpoint).await?;
        let event = event_id_filter(event_id.0)?;
        let cursor = match cursor.0 {
            Some(c) if !c.starts_with("att_") || c.len() > 40 => {
                return Err(Invalid::one("cursor", super::paging::CURSOR_HINT).into());
            }
            c => c,
        };
        let (found, next) = deliveries::attempts(
            &s.db,
            &auth.0,
            &endpoint,
            event.as_ref(),
            status.0.map(|o| o == AttemptOutcome::Succeeded),
            cursor.as_deref(),
            limit,
        )
        .await?;
        Ok(AttemptsListed::Attempts(Json(EventAttemptList {
            data: found.into_iter().map(EventAttemptView::from).collect(),
            has_more: next.is_some(),
            next_cursor: next,
        })))
    }

    /// Send again every failed delivery of this endpoint whose event came at or after `since`
    /// (after fixing the endpoint, for example). Each starts the retry schedule afresh.
    #[oai(path = "/event-endpoints/:id/replay", method = "post")]
    async fn replay_failed(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: JsonBody<ReplayFailedBody>,
    ) -> Result<Replayed, ApiError> {
        let s = &state.services;
        let endpoint = endpoint_id(&id.0)?;
        endpoints::get(&s.db, &auth.0, &endpoint).await?;
        let since = body.value.since.timestamp_millis();
        let count = deliveries::replay_failed(&s.db, &auth.0, &endpoint, since, now_ms()).await?;
        longshore_jobs::events::courier::wake();
        Ok(Replayed::Count(Json(ReplayedView { replayed: count })))
    }

    /// List events, newest first.
    #[oai(path = "/events", method = "get")]
    async fn list_events(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only events of this type.
        #[oai(name = "type")]
        kind: Query<Option<EventType>>,
        /// Only events about this resource (`em_…`, `doc_…`, `pay_…`).
        resource_id: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<EventsListed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor: Option<EventId> = id_cursor(cursor.0)?;
        let (found, next) = service::list(
            &state.services.db,
            &auth.0,
            kind.0,
            resource_id.0.as_deref(),
            cursor.as_ref(),
            limit,
        )
        .await?;
        Ok(EventsListed::Events(Json(AppEventList {
            data: found
                .into_iter()
                .filter_map(|e| AppEventView::new(e, None))
                .collect(),
            has_more: next.is_some(),
            next_cursor: next,
        })))
    }

    /// Get an event, with its delivery to each endpoint.
    #[oai(path = "/events/:id", method = "get")]
    async fn get_event(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<EventFound, ApiError> {
        let (event, deliveries) = service::get(&state.services.db, &auth.0, &event_id(&id.0)?)
            .await?
            .ok_or_else(|| ApiError::not_found("no such event"))?;
        let view = AppEventView::new(event, Some(deliveries)).ok_or_else(ApiError::internal)?;
        Ok(EventFound::Event(Json(view)))
    }

    /// Send an event again: to every endpoint it went to, or to one (which then gets it even if
    /// it did not before). The retry schedule starts afresh; the `webhook-id` stays the same.
    #[oai(path = "/events/:id/replay", method = "post")]
    async fn replay_event(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: JsonBody<ReplayEventBody>,
    ) -> Result<Replayed, ApiError> {
        let s = &state.services;
        let event = event_id(&id.0)?;
        if service::get(&s.db, &auth.0, &event).await?.is_none() {
            return Err(ApiError::not_found("no such event"));
        }
        let endpoint = match body.value.endpoint_id {
            Some(raw) => {
                let id: EventEndpointId = raw
                    .parse()
                    .map_err(|_| Invalid::one("endpoint_id", "no such event endpoint"))?;
                match endpoints::get(&s.db, &auth.0, &id).await {
                    Err(endpoints::EndpointError::NotFound) => {
                        return Err(Invalid::one("endpoint_id", "no such event endpoint").into());
                    }
                    other => other?,
                };
                Some(id)
            }
            None => None,
        };
        let count =
            deliveries::replay_event(&s.db, &auth.0, &event, endpoint.as_ref(), now_ms()).await?;
        longshore_jobs::events::courier::wake();
        Ok(Replayed::Count(Json(ReplayedView { replayed: count })))
    }
}

fn event_id_filter(raw: Option<String>) -> Result<Option<EventId>, ApiError> {
    raw.map(|r| {
        r.parse()
            .map_err(|_| Invalid::one("event_id", "not an event id (msg_…)").into())
    })
    .transpose()
}
