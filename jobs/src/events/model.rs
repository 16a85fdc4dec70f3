//! Events, endpoints, deliveries and attempts as the rest of Longshore sees them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::kinds::EventType;
use crate::clock::from_ms;
use crate::ids::{EventEndpointId, EventId, TenantId};
use crate::words::word_enum;

/// An event to record with the change that causes it ([`super::record`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: EventId,
    pub tenant: TenantId,
    pub kind: EventType,
    /// The id of the resource it is about (`em_…`, `doc_…`, `pay_…`), for filtering.
    pub resource_id: Option<String>,
    /// When it happened (ms since the epoch).
    pub occurred_at: i64,
    /// The type's data object ([`super::data`]).
    pub data: serde_json::Value,
}

impl NewEvent {
    /// An event about `resource` that happened at `occurred_at`, identified by `key`: the same
    /// change always gives the same id, so a handler that runs twice records it once.
    pub fn of_change(
        tenant: &TenantId,
        kind: EventType,
        resource: &str,
        occurred_at: i64,
        key: &str,
        data: &impl Serialize,
    ) -> NewEvent {
        NewEvent {
            id: EventId::for_change(occurred_at, &format!("{}/{kind}/{key}", tenant.as_str())),
            tenant: tenant.clone(),
            kind,
            resource_id: Some(resource.to_owned()),
            occurred_at,
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
        }
    }

    /// The body every endpoint receives: Standard Webhooks' recommended shape.
    pub fn body(&self) -> String {
        serde_json::json!({
            "id": self.id.as_str(),
            "type": self.kind.as_str(),
            "timestamp": from_ms(self.occurred_at),
            "data": self.data,
        })
        .to_string()
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub kind: EventType,
    pub resource_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The body sent, as JSON text.
    pub body: String,
}

word_enum!(
    /// Where one event's delivery to one endpoint stands.
    DeliveryStatus {
        /// Waiting for its next attempt (or with one out).
        Pending => "pending",
        /// The endpoint answered 2xx.
        Succeeded => "succeeded",
        /// Every scheduled attempt failed, or the endpoint was disabled; replay sends it again.
        Failed => "failed",
    }
);

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub event: EventId,
    pub endpoint: EventEndpointId,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// One attempt at a delivery, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct EventAttempt {
    pub endpoint: EventEndpointId,
    pub event: EventId,
    pub attempt: i64,
    pub started_at: DateTime<Utc>,
    pub latency_ms: i64,
    pub succeeded: bool,
    /// The HTTP status, when an answer came.
    pub status: Option<i64>,
    pub error: Option<String>,
    /// The start of the answer's body.
    pub excerpt: Option<String>,
}

/// An endpoint of a tenant's app, as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: EventEndpointId,
    pub tenant: TenantId,
    pub url: String,
    pub description: String,
    /// Types (or `group.*`) it receives; empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed (none while the last one succeeded).
    pub failing_since: Option<DateTime<Utc>>,
    pub max_concurrent: u32,
    pub rate_per_second: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}
