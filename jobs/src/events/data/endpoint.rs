//! `endpoint.disabled`: told to the tenant's other endpoints.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The data of `endpoint.disabled`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct EndpointEventData {
    pub endpoint_id: String,
    pub url: String,
    /// Why: `failing` (every attempt failed for the configured time) or `gone` (it answered
    /// 410 Gone).
    pub reason: String,
    /// Since when its attempts had failed, when that is why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_at: DateTime<Utc>,
}
