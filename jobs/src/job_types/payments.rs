//! The payment jobs: applying a webhook event, and a succeeded payment's receipt.
//!
//! Both run on the `payments` queue under job ids derived from what they act on (the inbox row,
//! the payment), so every producer (intake, the sweeper, a replay) may enqueue them again safely.

use serde::{Deserialize, Serialize};

use crate::db::DbError;
use crate::error::JobError;
use crate::ids::{PaymentId, TenantId, WebhookEventId};
use crate::payments::effects;
use crate::platform::Services;
use crate::queue::{Enqueued, NewJob, QueueError};
use crate::registry::{JobContext, JobKind};
use crate::webhooks::{apply, inbox};

/// Applies one inbox row to its payment, payout or expense, exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyEvent {
    /// The inbox row (`evt_…`).
    pub event: WebhookEventId,
}

impl JobKind for ApplyEvent {
    const NAME: &'static str = "payment.apply_event";
    const QUEUE: &'static str = "payments";
    /// Database hiccups are retried; a row the job never manages to apply ends `failed` (the
    /// sweeper marks it) and can be replayed.
    const MAX_ATTEMPTS: u32 = 10;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let outcome = apply::apply_event_batched(&ctx.services, &ctx.meta.tenant, &self.event)
            .await
            .map_err(JobError::retryable)?;
        tracing::info!(event = %self.event, ?outcome, "webhook event applied");
        Ok(())
    }
}

/// Enqueues the apply job of an inbox row (idempotent: the id derives from the row and replay).
pub async fn enqueue_apply(
    services: &Services,
    tenant: &TenantId,
    event: &WebhookEventId,
    replays: i64,
    request_id: Option<String>,
) -> Result<Enqueued, QueueError> {
    let job = apply_job(tenant, event, replays, request_id)?;
    services.queue.enqueue(job).await
}

/// The apply job of an inbox row, ready to enqueue (its id derives from the row and replay).
pub fn apply_job(
    tenant: &TenantId,
    event: &WebhookEventId,
    replays: i64,
    request_id: Option<String>,
) -> Result<NewJob, QueueError> {
    let id = inbox::apply_job_id(event, replays).map_err(|e| QueueError::Corrupt(e.to_string()))?;
    let payload = serde_json::to_value(ApplyEvent {
        event: event.clone(),
    })
    .map_err(|e| QueueError::Corrupt(e.to_string()))?;
    Ok(NewJob {
        id,
        tenant: tenant.clone(),
        job_type: ApplyEvent::NAME.to_owned(),
        queue: ApplyEvent::QUEUE.to_owned(),
        payload,
        max_attempts: ApplyEvent::MAX_ATTEMPTS,
        run_at: None,
        request_id,
    })
}

/// What a receipt needs that this build does not have yet.
pub const RECEIPT_BLOCKED: &str = "receipt pending: documents/email capability not installed";

/// Produces a succeeded payment's receipt: the PDF (documents), then the email with it attached.
///
/// The chain, each step idempotent by an id derived from the payment: (1) the apply transaction
/// writes the `receipt` outbox row (at most one per payment); (2) this job renders the receipt
/// document under a document id derived from the payment; (3) it enqueues the email job under a
/// job id derived from the payment, so a retry re-sends nothing. Steps 2 and 3 need the documents
/// and email capabilities, which are not part of this build: until they are, the job records
/// [`RECEIPT_BLOCKED`] on the outbox row and sends nothing. It never pretends to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendReceipt {
    pub payment: PaymentId,
}

impl JobKind for SendReceipt {
    const NAME: &'static str = "payment.receipt";
    const QUEUE: &'static str = "payments";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let db = &ctx.services.db;
        let Some(effect) = effects::get(db, &self.payment, effects::RECEIPT)
            .await
            .map_err(JobError::retryable)?
        else {
            return Err(JobError::Permanent(format!(
                "no receipt is due for {}",
                self.payment
            )));
        };
        if effect.status != effects::PENDING {
            return Ok(());
        }
        effects::mark(
            db,
            &self.payment,
            effects::RECEIPT,
            effects::BLOCKED,
            Some(RECEIPT_BLOCKED),
        )
        .await
        .map_err(JobError::retryable)?;
        tracing::warn!(payment = %self.payment, "{RECEIPT_BLOCKED}");
        Ok(())
    }
}

/// Enqueues a payment's receipt job (idempotent: one job id per payment).
pub async fn enqueue_receipt(
    services: &Services,
    tenant: &TenantId,
    payment: &PaymentId,
) -> Result<Enqueued, QueueError> {
    let id = effects::receipt_job_id(payment)
        .map_err(|e: DbError| QueueError::Corrupt(e.to_string()))?;
    let payload = serde_json::to_value(SendReceipt {
        payment: payment.clone(),
    })
    .map_err(|e| QueueError::Corrupt(e.to_string()))?;
    services
        .queue
        .enqueue(NewJob {
            id,
            tenant: tenant.clone(),
            job_type: SendReceipt::NAME.to_owned(),
            queue: SendReceipt::QUEUE.to_owned(),
            payload,
            max_attempts: SendReceipt::MAX_ATTEMPTS,
            run_at: None,
            request_id: None,
        })
        .await
}
