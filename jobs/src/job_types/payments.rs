//! The payment jobs: applying a webhook event, and a succeeded payment's receipt.
//!
//! Both run on the `payments` queue under job ids derived from what they act on (the inbox row,
//! the payment), so every producer (intake, the sweeper, a replay) may enqueue them again safely.

use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::documents::follow_up;
use crate::documents::from_payment::{self, ChainError};
use crate::documents::model::DocumentStatus;
use crate::email::model::follow_up_email_id;
use crate::email::service::Creator;
use crate::email::settings;
use crate::error::JobError;
use crate::ids::{PaymentId, WebhookEventId};
use crate::intent::Intent;
use crate::payments::effects;
use crate::registry::{JobContext, JobKind};
use crate::webhooks::apply;

/// Applies one inbox row to its payment, payout or expense, exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        let outcome =
            apply::apply_event_batched(&ctx.services.hooks(), &ctx.meta.tenant, &self.event)
                .await
                .map_err(JobError::retryable)?;
        tracing::info!(event = %self.event, ?outcome, "webhook event applied");
        Ok(())
    }

    async fn on_dead(self, ctx: JobContext, error: String) -> Result<(), JobError> {
        fail_events(&ctx.services.db, std::slice::from_ref(&self.event), &error).await
    }
}

/// The apply job of `events` is dead with `error`: rows still `received` are marked `failed`
/// with it, for a replay (what the sweeper does when it finds the dead job; here at once).
async fn fail_events(db: &Db, events: &[WebhookEventId], error: &str) -> Result<(), JobError> {
    let why = format!("the apply job is dead: {error}");
    for event in events {
        crate::webhooks::inbox::fail_if_received(db, event, &why)
            .await
            .map_err(JobError::retryable)?;
    }
    Ok(())
}

/// Applies inbox rows that intake stored for one tenant (those of a few consecutive insert
/// batches): what [`ApplyEvent`] does for each, with one job instead of one per event (100
/// events cost the queue one enqueue, one fetch and one acknowledgement instead of 100 of each).
///
/// The rows go to the process's group-committing applier together, so they usually share one
/// transaction. Every guarantee stays per row: a row already applied is not applied again, so a
/// retried job (any row hit a database error) only finishes what is left. A row the job never
/// manages to apply stays `received`, and the sweeper enqueues it on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyEvents {
    /// The inbox rows (`evt_…`), at most [`Intent::MAX_EVENTS_PER_APPLY`].
    pub events: Vec<WebhookEventId>,
}

impl JobKind for ApplyEvents {
    const NAME: &'static str = "payment.apply_events";
    const QUEUE: &'static str = "payments";
    const MAX_ATTEMPTS: u32 = 10;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        if self.events.len() > Intent::MAX_EVENTS_PER_APPLY {
            return Err(JobError::Permanent(format!(
                "{} events in one job; at most {}",
                self.events.len(),
                Intent::MAX_EVENTS_PER_APPLY
            )));
        }
        let (hooks, tenant) = (&ctx.services.hooks(), &ctx.meta.tenant);
        let results = futures::future::join_all(
            self.events
                .iter()
                .map(|event| apply::apply_event_batched(hooks, tenant, event)),
        )
        .await;
        let mut failed = Vec::new();
        for (event, result) in self.events.iter().zip(results) {
            match result {
                Ok(outcome) => tracing::info!(event = %event, ?outcome, "webhook event applied"),
                Err(e) => failed.push(format!("{event}: {e}")),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(JobError::Retryable(format!(
                "{} of {} events not applied: {}",
                failed.len(),
                self.events.len(),
                failed.join("; ")
            )))
        }
    }

    async fn on_dead(self, ctx: JobContext, error: String) -> Result<(), JobError> {
        fail_events(&ctx.services.db, &self.events, &error).await
    }
}

/// Produces a succeeded payment's receipt: the PDF (documents), then the email with it attached.
///
/// The chain, each step idempotent by an id derived from what it acts on: (1) the apply
/// transaction writes the `receipt` outbox row (at most one per payment) and the relay enqueues
/// this job under a job id derived from the payment; (2) this job records the receipt document
/// under a document id derived from the payment, with the email to the customer as its
/// follow-up, and enqueues its render job (id derived from the document); (3) the render job
/// stores the PDF and creates the email under an id derived from the document. Running any step
/// again finds what it made the first time, so a replayed event or a retried job never sends two
/// receipts.
///
/// Without a sender default the email could not be built: the job records that on the outbox
/// row (`failed`, with what to do) and ends dead, so `POST /v1/jobs/{id}/retry` runs it again
/// once the tenant has set one (`PUT /v1/email-settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    pub payment: PaymentId,
}

impl JobKind for SendReceipt {
    const NAME: &'static str = "payment.receipt";
    const QUEUE: &'static str = "payments";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let (services, meta) = (&ctx.services, &ctx.meta);
        let db = &services.db;
        if effects::get(db, &self.payment, effects::EffectKind::Receipt)
            .await
            .map_err(JobError::retryable)?
            .is_none()
        {
            return Err(JobError::Permanent(format!(
                "no receipt is due for {}",
                self.payment
            )));
        }
        let sender = settings::get(db, &meta.tenant)
            .await
            .map_err(JobError::retryable)?
            .from;
        if sender.is_none() {
            let why = format!(
                "no sender default is set: set one with PUT /v1/email-settings, then retry job {} (POST /v1/jobs/{}/retry)",
                meta.id, meta.id
            );
            return receipt_failed(db, &self.payment, why).await;
        }
        let doc = match from_payment::ensure_receipt(
            db,
            services.out.as_ref(),
            &meta.tenant,
            &self.payment,
            meta.request_id.clone(),
        )
        .await
        {
            Ok(doc) => doc,
            Err(ChainError::Never(why)) => return receipt_failed(db, &self.payment, why).await,
            Err(ChainError::Documents(e)) => return Err(JobError::retryable(e)),
        };
        if doc.status == DocumentStatus::Ready {
            // Rendered by an earlier run whose email could not be created then (e.g. the
            // sender was missing): create it now. Idempotent on the derived email id.
            let emails = Creator {
                db,
                out: services.out.as_ref(),
                documents: &services.pdfs(),
                storage: services.storage.as_ref(),
            };
            follow_up::run(&emails, &doc, meta.request_id.clone()).await?;
        }
        let detail = format!(
            "document {} recorded; email {} is created once it is rendered",
            doc.id,
            follow_up_email_id(&doc.id)
        );
        effects::mark(
            db,
            &self.payment,
            effects::EffectKind::Receipt,
            effects::EffectStatus::Done,
            Some(&detail),
        )
        .await
        .map_err(JobError::retryable)?;
        tracing::info!(payment = %self.payment, document = %doc.id, "receipt recorded");
        Ok(())
    }

    /// A receipt still `pending` is marked `failed` with `error`; one the job already marked
    /// (with what the tenant must do) keeps its detail.
    async fn on_dead(self, ctx: JobContext, error: String) -> Result<(), JobError> {
        let why = format!("the receipt job is dead: {error}");
        effects::fail_if_pending(
            &ctx.services.db,
            &self.payment,
            effects::EffectKind::Receipt,
            &why,
        )
        .await
        .map(|_| ())
        .map_err(JobError::retryable)
    }
}

/// Records on the receipt's outbox row why it cannot be produced (what to do is in `why`), and
/// ends the job for good.
async fn receipt_failed(db: &Db, payment: &PaymentId, why: String) -> Result<(), JobError> {
    effects::mark(
        db,
        payment,
        effects::EffectKind::Receipt,
        effects::EffectStatus::Failed,
        Some(&why),
    )
    .await
    .map_err(JobError::retryable)?;
    Err(JobError::Permanent(why))
}
