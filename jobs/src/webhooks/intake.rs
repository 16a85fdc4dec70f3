//! Receiving one delivery: verify, store, enqueue, in that order, and nothing else.
//!
//! The answer is "received" only once the inbox row is committed; from then on the event cannot
//! be lost. The enqueue that follows is an optimisation for latency: if it fails (Redis down) the
//! row stays `received` and the [`super::sweeper`] enqueues it later under the same derived job
//! id. A storage failure is an error, so the gateway gets a 5xx and retries.

use super::inbox::InboxStatus;
use tokio::sync::{mpsc, oneshot};

use super::Hooks;
use super::Provider;
use super::endpoints::EndpointKeys;
use super::enqueuer::{self, Stored};
use super::inbox::{self, NewEvent};
use super::normalize::{self, Unreadable};
use crate::clock::now_ms;
use crate::db::DbError;
use crate::db::batcher::run_batches;
use crate::ids::WebhookEventId;
use crate::ids::{TenantId, WebhookEndpointId};
use crate::signature::{self, SignatureError, StandardHeaders};

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
    hooks: &Hooks,
    endpoint: &EndpointKeys,
    delivery: Delivery<'_>,
    request_id: Option<String>,
) -> Result<Received, IntakeError> {
    let v = verify(hooks, endpoint, delivery)?;
    let Some(id) = inbox::insert(&hooks.db, &v.as_new()).await? else {
        return Ok(Received {
            id: None,
            duplicate: true,
        });
    };
    if v.known
        && let Err(e) = hooks
            .out
            .dispatch(inbox::apply_intent(&v.tenant, &id, 0, request_id))
            .await
    {
        // Stored durably: the sweeper enqueues it once the queue is back.
        tracing::warn!(event = %id, error = %e, "enqueue after intake failed; the sweeper will retry");
    }
    Ok(Received {
        id: Some(id),
        duplicate: false,
    })
}

/// A delivery whose signature checked out, ready to store.
#[derive(Debug, Clone)]
struct Verified {
    tenant: TenantId,
    endpoint: WebhookEndpointId,
    provider: Provider,
    event_id: String,
    event_type: String,
    occurred_at: Option<i64>,
    body: String,
    known: bool,
    reason: Option<String>,
}

impl Verified {
    fn as_new(&self) -> NewEvent<'_> {
        NewEvent {
            tenant: &self.tenant,
            endpoint: &self.endpoint,
            provider: self.provider,
            event_id: &self.event_id,
            event_type: &self.event_type,
            occurred_at: self.occurred_at,
            body: &self.body,
            status: if self.known {
                InboxStatus::Received
            } else {
                InboxStatus::Ignored
            },
            reason: self.reason.as_deref(),
        }
    }
}

/// Checks the signature over the raw bytes, then reads the event's id and type.
fn verify(
    hooks: &Hooks,
    endpoint: &EndpointKeys,
    delivery: Delivery<'_>,
) -> Result<Verified, IntakeError> {
    let now = now_ms();
    let secrets = endpoint.valid_secrets(now);
    let tolerance = i64::try_from(hooks.config.webhook_tolerance_secs).unwrap_or(300);
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
    })?
    .to_owned();
    let body = std::str::from_utf8(delivery.body)
        .map_err(|_| Unreadable("the body is not UTF-8".into()))?
        .to_owned();
    let known = normalize::is_known(provider, &head.event_type);
    let reason = (!known).then(|| {
        format!(
            "event type `{}` is not one Longshore acts on",
            head.event_type
        )
    });
    Ok(Verified {
        tenant: endpoint.tenant.clone(),
        endpoint: endpoint.id.clone(),
        provider,
        event_id,
        event_type: head.event_type,
        occurred_at: head.occurred_at,
        body,
        known,
        reason,
    })
}

/// Most rows one inbox insert carries. Small on purpose: when every delivery in flight shares
/// one insert, the gateways' connections move in lockstep (all wait on the database, then all
/// on the API) and the cores take turns. At 16, 32 concurrent deliveries split into inserts
/// that run side by side with the API's work on the next ones; measured: 8,000-9,100 accepted/s
/// against 6,300-6,400 with one insert of up to 128. The apply jobs still carry up to
/// [`crate::intent::Intent::MAX_EVENTS_PER_APPLY`] rows each: the [`enqueuer`] merges consecutive inserts.
const MAX_BATCH: usize = 16;
/// Inserts in flight at once (each holds one database connection).
const MAX_IN_FLIGHT: usize = 3;
/// Longest wait for more deliveries while another insert runs.
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);
/// Deliveries waiting for an insert before senders wait (backpressure).
const QUEUE_DEPTH: usize = 4096;

/// Intake with group commit: concurrent deliveries share one inbox `INSERT` (one statement,
/// one commit) and one apply job per tenant (`Intent::ApplyEvents`).
///
/// The guarantees are [`receive`]'s: each caller gets its answer only after the statement that
/// stored its row committed (or the error that it did not, so the gateway retries). The apply
/// jobs are enqueued after the answers; a failed enqueue leaves the rows `received` for the
/// sweeper. A duplicate, including one of an event delivered twice within the same batch, is
/// reported as such and nothing more is done. Batches form by themselves: while
/// [`MAX_IN_FLIGHT`] inserts run, new deliveries wait and then leave together. The apply jobs of
/// consecutive batches are merged ([`enqueuer`]).
pub struct Intake {
    hooks: Hooks,
    sender: std::sync::OnceLock<mpsc::Sender<Pending>>,
}

struct Pending {
    event: Verified,
    request_id: Option<String>,
    reply: oneshot::Sender<Result<Received, DbError>>,
}

impl Intake {
    /// Intake over `hooks`; its inserter task starts with the first delivery.
    pub fn new(hooks: Hooks) -> Intake {
        Intake {
            hooks,
            sender: std::sync::OnceLock::new(),
        }
    }

    /// [`receive`], sharing the insert and the enqueue with concurrent deliveries.
    pub async fn receive(
        &self,
        endpoint: &EndpointKeys,
        delivery: Delivery<'_>,
        request_id: Option<String>,
    ) -> Result<Received, IntakeError> {
        let event = verify(&self.hooks, endpoint, delivery)?;
        let sender = self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
            tokio::spawn(run_inserter(self.hooks.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let gone = || DbError::Unavailable("the webhook inserter stopped".into());
        sender
            .send(Pending {
                event,
                request_id,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        Ok(answer.await.map_err(|_| gone())??)
    }
}

async fn run_inserter(hooks: Hooks, rx: mpsc::Receiver<Pending>) {
    let (to_enqueue, stored) = mpsc::channel(enqueuer::DEPTH);
    tokio::spawn(enqueuer::run(hooks.clone(), stored));
    run_batches(rx, MAX_BATCH, MAX_IN_FLIGHT, LINGER, move |batch| {
        let hooks = hooks.clone();
        let to_enqueue = to_enqueue.clone();
        async move { flush(&hooks, &to_enqueue, batch).await }
    })
    .await;
}

/// Stores one batch, answers each caller, then hands its new known rows to the enqueuer.
async fn flush(hooks: &Hooks, to_enqueue: &mpsc::Sender<Stored>, batch: Vec<Pending>) {
    let news: Vec<NewEvent<'_>> = batch.iter().map(|p| p.event.as_new()).collect();
    let stored = inbox::insert_many(&hooks.db, &news).await;
    drop(news);
    let ids = match stored {
        Ok(ids) => ids,
        Err(e) => {
            let why = e.to_string();
            for p in batch {
                let _ = p.reply.send(Err(DbError::Unavailable(why.clone())));
            }
            return;
        }
    };
    // The batch's new rows that Longshore acts on, one entry per tenant.
    let by_tenant = enqueuer::group(batch.iter().zip(&ids).filter_map(|(p, id)| {
        let id = id.as_ref().filter(|_| p.event.known)?;
        Some((&p.event.tenant, id, p.request_id.as_ref()))
    }));
    // The rows are committed, so the answers go out now; the enqueue is not on the gateway's
    // clock.
    for (p, id) in batch.into_iter().zip(ids) {
        let duplicate = id.is_none();
        let _ = p.reply.send(Ok(Received { id, duplicate }));
    }
    // The batch's slot is held until the enqueuer took its rows, so a slow queue still slows
    // intake (the channel is bounded). Should the enqueuer be gone, the sweeper enqueues them.
    for stored in by_tenant {
        if to_enqueue.send(stored).await.is_err() {
            tracing::warn!("the apply enqueuer stopped; the sweeper will enqueue the rows");
        }
    }
}
