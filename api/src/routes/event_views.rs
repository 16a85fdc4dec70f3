//! The JSON shapes of the event-endpoint and event APIs, and the one mapping of their errors.

use chrono::{DateTime, Utc};
use longshore_jobs::events::EventType;
use longshore_jobs::events::endpoints::{EndpointError, EndpointInput};
use longshore_jobs::events::model::{Delivery, DeliveryStatus, Endpoint, Event, EventAttempt};
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::event_payloads::SentBody;
use crate::problem::ApiError;

impl From<EndpointError> for ApiError {
    fn from(e: EndpointError) -> Self {
        match e {
            EndpointError::NotFound => ApiError::not_found("no such event endpoint"),
            EndpointError::Invalid(i) => i.into(),
            EndpointError::Seal(e) => {
                tracing::error!(error = %e, "the secrets key cannot be loaded");
                ApiError::unavailable("secrets key")
            }
            EndpointError::Db(db) => db.into(),
        }
    }
}

/// A new event endpoint.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEndpointBody {
    /// Where events are POSTed (http or https; non-public addresses only when the operator
    /// allows them in `LONGSHORE_OUTBOUND_ALLOW`).
    pub url: String,
    /// For the tenant's own records.
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// The event types it receives (`email.opened`), or whole groups (`email.*`). Absent or
    /// empty: every type.
    #[oai(skip_serializing_if_is_none)]
    pub event_types: Option<Vec<String>>,
    /// False creates it disabled (default true).
    #[oai(skip_serializing_if_is_none)]
    pub enabled: Option<bool>,
    /// Deliveries to it in flight at once, across workers (1 to 1000, default 50).
    #[oai(skip_serializing_if_is_none)]
    pub max_concurrent: Option<u32>,
    /// Deliveries per second at most (0.1 to 10000); 0 or absent: no limit.
    #[oai(skip_serializing_if_is_none)]
    pub rate_per_second: Option<f64>,
}

impl From<EventEndpointBody> for EndpointInput {
    fn from(b: EventEndpointBody) -> Self {
        EndpointInput {
            url: Some(b.url),
            description: b.description,
            event_types: b.event_types,
            enabled: b.enabled,
            max_concurrent: b.max_concurrent,
            rate_per_second: b.rate_per_second,
        }
    }
}

/// Changes to an event endpoint: send only what changes. Enabling a disabled endpoint clears
/// its failure record; disabling it ends its pending deliveries as `failed` (replay sends them).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEndpointPatch {
    #[oai(skip_serializing_if_is_none)]
    pub url: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// Empty: every type.
    #[oai(skip_serializing_if_is_none)]
    pub event_types: Option<Vec<String>>,
    #[oai(skip_serializing_if_is_none)]
    pub enabled: Option<bool>,
    #[oai(skip_serializing_if_is_none)]
    pub max_concurrent: Option<u32>,
    /// 0: no limit.
    #[oai(skip_serializing_if_is_none)]
    pub rate_per_second: Option<f64>,
}

impl From<EventEndpointPatch> for EndpointInput {
    fn from(b: EventEndpointPatch) -> Self {
        EndpointInput {
            url: b.url,
            description: b.description,
            event_types: b.event_types,
            enabled: b.enabled,
            max_concurrent: b.max_concurrent,
            rate_per_second: b.rate_per_second,
        }
    }
}

/// An event endpoint. `secret` is present only in the answers that created it or rotated its
/// secret: keep it then.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct EventEndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled: `failing` (every attempt failed for the configured time), `gone`
    /// (it answered 410 Gone) or `by request`.
    #[oai(skip_serializing_if_is_none)]
    pub disabled_reason: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed; absent while the last one succeeded.
    #[oai(skip_serializing_if_is_none)]
    pub failing_since: Option<DateTime<Utc>>,
    pub max_concurrent: u32,
    #[oai(skip_serializing_if_is_none)]
    pub rate_per_second: Option<f64>,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
    /// Until when the secret before the last rotation still signs (requests carry both
    /// signatures meanwhile).
    #[oai(skip_serializing_if_is_none)]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventEndpointView {
    pub fn new(e: Endpoint, secret: Option<String>) -> Self {
        EventEndpointView {
            id: e.id.to_string(),
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            disabled_at: e.disabled_at,
            failing_since: e.failing_since,
            max_concurrent: e.max_concurrent,
            rate_per_second: e.rate_per_second,
            secret,
            previous_secret_valid_until: e.previous_secret_valid_until,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A page of event endpoints, newest first.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct EventEndpointList {
    pub data: Vec<EventEndpointView>,
    pub has_more: bool,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// One attempt at delivering an event to an endpoint.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct EventAttemptView {
    pub event_id: String,
    pub endpoint_id: String,
    /// The delivery's attempt number (replays continue the count).
    pub attempt: i64,
    pub started_at: DateTime<Utc>,
    pub latency_ms: i64,
    /// `succeeded` (2xx) or `failed`.
    pub status: AttemptOutcome,
    /// The endpoint's HTTP status, when it answered.
    #[oai(skip_serializing_if_is_none)]
    pub response_status: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// The start of the answer's body.
    #[oai(skip_serializing_if_is_none)]
    pub response_excerpt: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Succeeded,
    Failed,
}

impl From<EventAttempt> for EventAttemptView {
    fn from(a: EventAttempt) -> Self {
        EventAttemptView {
            event_id: a.event.to_string(),
            endpoint_id: a.endpoint.to_string(),
            attempt: a.attempt,
            started_at: a.started_at,
            latency_ms: a.latency_ms,
            status: if a.succeeded {
                AttemptOutcome::Succeeded
            } else {
                AttemptOutcome::Failed
            },
            response_status: a.status,
            error: a.error,
            response_excerpt: a.excerpt,
        }
    }
}

/// A page of attempts, newest first.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct EventAttemptList {
    pub data: Vec<EventAttemptView>,
    pub has_more: bool,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct DeliveryView {
    pub endpoint_id: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_response_status: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            endpoint_id: d.endpoint.to_string(),
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_response_status: d.last_status,
            last_error: d.last_error,
        }
    }
}

/// An event: what happened, the body every endpoint receives, and (on `GET
/// /v1/events/{id}`) its deliveries.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Event")]
pub struct AppEventView {
    /// Also the `webhook-id` header of every delivery: receivers de-duplicate on it.
    pub id: String,
    #[oai(rename = "type")]
    pub kind: EventType,
    /// The resource it is about (`em_…`, `doc_…`, `pay_…`).
    #[oai(skip_serializing_if_is_none)]
    pub resource_id: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    pub payload: SentBody,
    #[oai(skip_serializing_if_is_none)]
    pub deliveries: Option<Vec<DeliveryView>>,
}

impl AppEventView {
    /// The view of `e`; `None` when its stored body has no documented shape.
    pub fn new(e: Event, deliveries: Option<Vec<Delivery>>) -> Option<Self> {
        let Some(payload) = SentBody::read(&e.body) else {
            tracing::error!(event = %e.id, "a stored event body has no documented shape");
            return None;
        };
        Some(AppEventView {
            id: e.id.to_string(),
            kind: e.kind,
            resource_id: e.resource_id,
            occurred_at: e.occurred_at,
            created_at: e.created_at,
            payload,
            deliveries: deliveries.map(|d| d.into_iter().map(DeliveryView::from).collect()),
        })
    }
}

/// A page of events, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "EventList")]
pub struct AppEventList {
    pub data: Vec<AppEventView>,
    pub has_more: bool,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// Which failed deliveries to send again.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayFailedBody {
    /// Every failed delivery of an event that came at or after this time.
    pub since: DateTime<Utc>,
}

/// Where to send an event again.
#[derive(Debug, Clone, Default, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayEventBody {
    /// Only this endpoint (which then gets the event even if it had not before); absent: every
    /// endpoint it was delivered to.
    #[oai(skip_serializing_if_is_none)]
    pub endpoint_id: Option<String>,
}

/// How many deliveries were scheduled.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct ReplayedView {
    pub replayed: u64,
}
