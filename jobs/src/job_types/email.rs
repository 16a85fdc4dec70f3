//! `email.send` on the `email` queue: one delivery attempt of one recorded email. Enqueued by
//! `POST /v1/emails` under a job id derived from the email id. The logic lives in
//! `email::delivery`; this is the typed envelope.
//!
//! Retries follow the tenant's email policy (the job returns `RetryAfter` with its delay) and its
//! give-up time, not the job's attempt budget: the budget is only a backstop.

use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::email::delivery;
use crate::error::JobError;
use crate::ids::EmailId;
use crate::registry::{JobContext, JobKind};

/// Delivers one email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmail {
    pub email_id: EmailId,
}

impl JobKind for SendEmail {
    const NAME: &'static str = "email.send";
    const QUEUE: &'static str = "email";
    /// A backstop: the tenant's give-up time decides when a deferred email fails.
    const MAX_ATTEMPTS: u32 = 100;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        // The worker runtime polls handlers on one thread; building MIME and talking SMTP for
        // thousands of emails a second needs every core, so the attempt runs as its own task.
        let attempt = async move {
            let s = &ctx.services;
            let sender = delivery::Sender {
                db: &s.db,
                config: &s.config,
                mail: &s.mail,
                storage: s.storage.as_ref(),
                documents: &s.pdfs(),
                throttle: s.throttle.as_ref(),
            };
            delivery::send_email(&sender, &ctx.meta, &self.email_id).await
        };
        tokio::spawn(attempt.instrument(tracing::Span::current()))
            .await
            .unwrap_or_else(|e| Err(JobError::Retryable(format!("delivery task failed: {e}"))))
    }

    async fn on_dead(self, ctx: JobContext, error: String) -> Result<(), JobError> {
        let s = &ctx.services;
        let sender = delivery::Sender {
            db: &s.db,
            config: &s.config,
            mail: &s.mail,
            storage: s.storage.as_ref(),
            documents: &s.pdfs(),
            throttle: s.throttle.as_ref(),
        };
        delivery::fail_dead(&sender, &ctx.meta, &self.email_id, &error).await
    }
}
