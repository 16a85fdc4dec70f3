//! Receiving one delivery: verify, store, enqueue, in that order, and nothing else.
//!
//! The answer is "received" only once the inbox row is committed; from then on the event cannot
//! be lost. The enqueue that follows is an optimisation for latency: if it fails (Redis down) the
//! row stays `received` and the [`super::sweeper`] enqueues it later under the same derived job
//! id. A storage failure is an error, so the gateway gets a 5xx and retries.

use super::Provider;
use super::endpoints::EndpointKeys;
use super::inbox::{self, NewEvent};
use super::normalize::{self, Unreadable};
use super::signature::{self, SignatureError, StandardHeaders};
use crate::clock::now_ms;
use crate::db::DbError;
use crate::ids::WebhookEventId;
use crate::job_types::payments::enqueue_apply;
use crate::platform::Services;

/// Longest gateway event id accepted.
pub const MAX_EVENT_ID_LEN: usize = 255;

/// One delivery as the HTTP layer hands it over: headers and the raw, unparsed body.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub stripe_signature: Option<&'a str>,
    pub standard: StandardHeaders<'a>,
    pub body: &'a [u8],
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Bad, missing or stale signature: nothing was stored.
    #[error("signature refused: {0}")]
    Signature(#[from] SignatureError),
    /// Correctly signed, but not an event Longshore can deduplicate (no id, not JSON).
    #[error("unreadable event: {0}")]
    Unreadable(#[from] Unreadable),
    /// The inbox could not be written: the gateway must retry.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The answer to a stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The inbox row (`None` for a duplicate: the first delivery's row holds the event).
    pub id: Option<WebhookEventId>,
    /// True when this endpoint had already received this event: nothing more was done.
    pub duplicate: bool,
}

/// Verifies and stores a delivery to `endpoint`, then enqueues its apply job.
pub async fn receive(
    services: &Services,
    endpoint: &EndpointKeys,
    delivery: Delivery<'_>,
    request_id: Option<String>,
) -> Result<Received, IntakeError> {
    let now = now_ms();
    let secrets = endpoint.valid_secrets(now);
    let tolerance = i64::try_from(services.config.webhook_tolerance_secs).unwrap_or(300);
    let provider = endpoint.provider;
    match provider {
        Provider::Stripe => signature::verify_stripe(
            &secrets,
            delivery.stripe_signature,
            delivery.body,
            now / 1000,
            tolerance,
        )?,
        Provider::Standard => signature::verify_standard(
            &secrets,
            delivery.standard,
            delivery.body,
            now / 1000,
            tolerance,
        )?,
    };
    // Only a verified body is parsed.
    let head = normalize::head(provider, delivery.body)?;
    let event_id = match provider {
        Provider::Stripe => head.event_id.as_deref(),
        Provider::Standard => delivery.standard.id,
    }
    .filter(|id| !id.is_empty() && id.len() <= MAX_EVENT_ID_LEN)
    .ok_or_else(|| {
        Unreadable(format!(
            "the event needs an id of 1 to {MAX_EVENT_ID_LEN} characters"
        ))
    })?;
    let body = std::str::from_utf8(delivery.body)
        .map_err(|_| Unreadable("the body is not UTF-8".into()))?;
    let known = normalize::is_known(provider, &head.event_type);
    let reason = (!known).then(|| {
        format!(
            "event type `{}` is not one Longshore acts on",
            head.event_type
        )
    });
    let new = NewEvent {
        tenant: &endpoint.tenant,
        endpoint: &endpoint.id,
        provider,
        event_id,
        event_type: &head.event_type,
        occurred_at: head.occurred_at,
        body,
        status: if known { "received" } else { "ignored" },
        reason: reason.as_deref(),
    };
    let Some(id) = inbox::insert(&services.db, &new).await? else {
        return Ok(Received {
            id: None,
            duplicate: true,
        });
    };
    if known && let Err(e) = enqueue_apply(services, &endpoint.tenant, &id, 0, request_id).await {
        // Stored durably: the sweeper enqueues it once the queue is back.
        tracing::warn!(event = %id, error = %e, "enqueue after intake failed; the sweeper will retry");
    }
    Ok(Received {
        id: Some(id),
        duplicate: false,
    })
}
