//! `POST /hooks/{endpoint_id}`: where payment gateways deliver signed events.
//!
//! Public (no API key): the signature authenticates. The body is read as raw bytes with the size
//! limit before anything parses it, and the signature is checked over exactly those bytes. The
//! answer is `200` only once the event is stored (see `longshore_jobs::webhooks::intake`); a bad
//! signature is `400` with nothing stored; a storage failure is `503` so the gateway retries.
//! Never a redirect.

use std::sync::Arc;
use std::time::Duration;

use longshore_jobs::ids::WebhookEndpointId;
use longshore_jobs::secret_box::Sealer;
use longshore_jobs::signature::StandardHeaders;
use longshore_jobs::webhooks::endpoints::{self, EndpointKeys};
use longshore_jobs::webhooks::intake::{Delivery, Intake, IntakeError};
use moka::sync::Cache;
use poem::web::Data;
use poem::{Request, RequestBody};
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::body::BodyLimit;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::webhook_admin::{endpoint_error, seal_error};
use crate::state::AppState;

/// Endpoints' keys, cached briefly so intake neither reads nor unseals them on every delivery
/// (one read and one ChaCha20-Poly1305 open per endpoint per TTL). The process
/// that rotates a secret drops its entry at once; other API processes within the TTL.
#[derive(Clone)]
pub struct EndpointCache(Cache<WebhookEndpointId, Arc<EndpointKeys>>);

impl EndpointCache {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        EndpointCache(
            Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
        )
    }

    /// Forgets an endpoint (after its secret changed).
    pub fn forget(&self, id: &WebhookEndpointId) {
        self.0.invalidate(id);
    }
}

/// The raw request body, size-limited, never parsed before verification.
pub struct RawEvent(pub Vec<u8>);

impl Payload for RawEvent {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("object")))
    }

    fn register(_registry: &mut Registry) {}
}

impl ParsePayload for RawEvent {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = request
            .data::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(1024 * 1024);
        let bytes = crate::body::read_limited(body.take()?, limit).await?;
        Ok(RawEvent(bytes.to_vec()))
    }
}

poem_openapi::impl_apirequest_for_payload!(RawEvent,);

/// The acknowledgement a gateway gets.
#[derive(Debug, Object)]
pub struct ReceivedView {
    /// Always true: the event is stored and will be applied once.
    pub received: bool,
    /// True when this event was already received; nothing more was done.
    pub duplicate: bool,
    /// The stored event (`evt_…`); absent for a duplicate.
    #[oai(skip_serializing_if_is_none)]
    pub id: Option<String>,
}

#[derive(ApiResponse)]
enum Received {
    /// Stored (or already stored): the gateway may stop retrying.
    #[oai(status = 200)]
    Ok(Json<ReceivedView>),
}

#[derive(Tags)]
enum HooksTag {
    /// Signed callbacks from payment gateways (public; the signature authenticates).
    Hooks,
}

/// The intake endpoint.
pub struct HooksApi {
    pub cache: EndpointCache,
    /// Group-commit intake: concurrent deliveries share one insert and one enqueue.
    pub intake: Arc<Intake>,
    /// Opens the endpoints' sealed secrets.
    pub sealer: Sealer,
}

impl HooksApi {
    async fn endpoint(&self, state: &AppState, raw: &str) -> Result<Arc<EndpointKeys>, ApiError> {
        let not_found = || ApiError::not_found("no such webhook endpoint");
        let id: WebhookEndpointId = raw.parse().map_err(|_| not_found())?;
        if let Some(keys) = self.cache.0.get(&id) {
            return Ok(keys);
        }
        let sealer = self.sealer.get().map_err(seal_error)?;
        let keys = Arc::new(
            endpoints::keys(&state.services.db, &sealer, &id)
                .await
                .map_err(endpoint_error)?
                .ok_or_else(not_found)?,
        );
        self.cache.0.insert(id, keys.clone());
        Ok(keys)
    }
}

#[OpenApi(tag = "HooksTag::Hooks")]
impl HooksApi {
    /// Receive a gateway event.
    ///
    /// Stripe endpoints verify `Stripe-Signature`; Standard Webhooks endpoints verify
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature`. Timestamps more than 300 s
    /// away from now, in either direction, are refused.
    #[oai(path = "/hooks/:endpoint_id", method = "post")]
    #[allow(clippy::too_many_arguments)]
    async fn receive(
        &self,
        state: Data<&AppState>,
        request_id: Data<&RequestId>,
        endpoint_id: Path<String>,
        #[oai(name = "Stripe-Signature")] stripe_signature: Header<Option<String>>,
        #[oai(name = "webhook-id")] webhook_id: Header<Option<String>>,
        #[oai(name = "webhook-timestamp")] webhook_timestamp: Header<Option<String>>,
        #[oai(name = "webhook-signature")] webhook_signature: Header<Option<String>>,
        body: RawEvent,
    ) -> Result<Received, ApiError> {
        let endpoint = self.endpoint(&state, &endpoint_id.0).await?;
        let delivery = Delivery {
            stripe_signature: stripe_signature.0.as_deref(),
            standard: StandardHeaders {
                id: webhook_id.0.as_deref(),
                timestamp: webhook_timestamp.0.as_deref(),
                signature: webhook_signature.0.as_deref(),
            },
            body: &body.0,
        };
        let received = self
            .intake
            .receive(&endpoint, delivery, Some(request_id.0.0.clone()))
            .await
            .inspect_err(|e| {
                if !matches!(e, IntakeError::Db(_)) {
                    longshore_jobs::metrics::webhook_received("rejected");
                }
            })
            .map_err(|e| match e {
                IntakeError::Signature(s) => {
                    ApiError::bad_request(format!("webhook signature refused: {s}"))
                }
                IntakeError::Unreadable(u) => {
                    ApiError::bad_request(format!("unreadable event: {u}"))
                }
                IntakeError::Db(db) => ApiError::from(db),
            })?;
        longshore_jobs::metrics::webhook_received(if received.duplicate {
            "duplicate"
        } else {
            "accepted"
        });
        Ok(Received::Ok(Json(ReceivedView {
            received: true,
            duplicate: received.duplicate,
            id: received.id.map(|i| i.to_string()),
        })))
    }
}

/// Every API of the payments issue, as one element of the app's OpenAPI tuple.
pub type PaymentApis = (
    crate::routes::payments::PaymentsApi,
    crate::routes::ledger::LedgerApi,
    HooksApi,
    crate::routes::webhook_admin::WebhookAdminApi,
);

/// Builds [`PaymentApis`]; intake and rotation share one endpoint cache.
pub fn payment_apis(state: &AppState) -> PaymentApis {
    let cache = EndpointCache::new(Duration::from_secs(
        state.services.config.auth_cache_secs.max(1),
    ));
    let sealer = Sealer::new(state.services.config.clone());
    (
        crate::routes::payments::PaymentsApi,
        crate::routes::ledger::LedgerApi,
        HooksApi {
            cache: cache.clone(),
            intake: Arc::new(Intake::new(state.services.hooks())),
            sealer: sealer.clone(),
        },
        crate::routes::webhook_admin::WebhookAdminApi { cache, sealer },
    )
}
