//! What must happen next, as domain code says it.
//!
//! Domain modules (email, documents, payments, webhooks, reports, schedules) never name a job
//! type, a queue or a payload: they hand an [`Intent`] to a [`Dispatch`], and one module above
//! them (`job_types::dispatch`) turns each intent into its job, under an id derived from the
//! record it acts on. Enqueueing an intent twice is therefore a no-op, which is what lets a
//! sweeper hand the same intent over again when a queue lost it.
//!
//! Adding a kind of follow-up work is a variant here, its job type in `job_types/` (one file),
//! one line in `job_types::registry`, and one arm in `job_types::dispatch`.

use std::sync::Arc;

use async_trait::async_trait;

use crate::ids::{BatchId, DocumentId, EmailId, PaymentId, TenantId, WebhookEventId};
use crate::queue::{Enqueued, QueueError};
use crate::reports::model::ReportOrder;
use crate::tasks::model::TaskOrder;

/// Follow-up work, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Deliver a recorded email, not before `not_before` (ms since the epoch) when given.
    SendEmail {
        email: EmailId,
        not_before: Option<i64>,
    },
    /// Render a recorded document (and carry out its follow-up once it is ready).
    RenderDocument { document: DocumentId },
    /// Turn a recorded certificate batch into documents.
    ExpandBatch { batch: BatchId },
    /// Apply one inbox row; `replays` counts operator replays, each of which is a new run.
    ApplyEvent { event: WebhookEventId, replays: i64 },
    /// Apply inbox rows of one tenant that intake stored together (at most
    /// [`Intent::MAX_EVENTS_PER_APPLY`], the first of which belongs to this intent only).
    ApplyEvents { events: Vec<WebhookEventId> },
    /// Produce a succeeded payment's receipt (PDF, then the email carrying it).
    SendReceipt { payment: PaymentId },
    /// Build a recorded report.
    BuildReport(ReportOrder),
    /// Deliver a recorded HTTP task, not before it is due.
    DeliverTask(TaskOrder),
}

impl Intent {
    /// Most inbox rows one [`Intent::ApplyEvents`] carries.
    pub const MAX_EVENTS_PER_APPLY: usize = 128;
}

/// An intent for one tenant, with the request that caused it (carried into the job's logs).
#[derive(Debug, Clone, PartialEq)]
pub struct Next {
    pub tenant: TenantId,
    pub intent: Intent,
    pub request_id: Option<String>,
}

impl Next {
    pub fn new(tenant: &TenantId, intent: Intent, request_id: Option<String>) -> Next {
        Next {
            tenant: tenant.clone(),
            intent,
            request_id,
        }
    }
}

/// Where intents go. Implemented once, by `job_types::dispatch::QueueDispatch`; domain code
/// sees only this trait.
#[async_trait]
pub trait Dispatch: Send + Sync + 'static {
    /// Hands one intent over; idempotent (the job id derives from what the intent acts on).
    async fn dispatch(&self, next: Next) -> Result<Enqueued, QueueError>;

    /// Hands several over: one result per intent, in order (not atomic across intents).
    async fn dispatch_many(&self, next: Vec<Next>) -> Vec<Result<Enqueued, QueueError>>;
}

/// The shared handle domain functions take.
pub type Dispatcher = Arc<dyn Dispatch>;

#[cfg(test)]
pub(crate) mod test_support;
