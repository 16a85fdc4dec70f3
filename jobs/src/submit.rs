//! Submitting a job: validation and enqueue, shared by the API and the scheduler.

use chrono::{DateTime, Utc};

use crate::ids::{JobId, TenantId};
use crate::job_types::registry;
use crate::platform::Services;
use crate::queue::{Enqueued, NewJob, QueueError};
use crate::validation::{FieldError, Invalid};

/// The most attempts a client may ask for.
pub const MAX_ATTEMPTS_LIMIT: u32 = 25;

/// A client's request to run a job.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub job_type: String,
    pub payload: serde_json::Value,
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: Option<u32>,
}

/// Why a submission failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// A client's submission under `id` (fresh, or chosen once per idempotent request): only
/// [`crate::registry::JobKind::PUBLIC`] types.
pub async fn submit(
    services: &Services,
    tenant: &TenantId,
    id: JobId,
    request: JobRequest,
    request_id: Option<String>,
) -> Result<Enqueued, SubmitError> {
    if registry().get_public(&request.job_type).is_none() {
        let known = registry().public_names().join(", ");
        return Err(Invalid::one("type", format!("unknown job type; known types: {known}")).into());
    }
    submit_with_id(services, tenant, id, request, request_id).await
}

/// Validates and enqueues any registered job type under a chosen id (enqueue is idempotent on
/// it). For Longshore's own callers, which have already checked what the job touches.
pub async fn submit_with_id(
    services: &Services,
    tenant: &TenantId,
    id: JobId,
    request: JobRequest,
    request_id: Option<String>,
) -> Result<Enqueued, SubmitError> {
    let Some(kind) = registry().get(&request.job_type) else {
        let known = registry().names().join(", ");
        return Err(Invalid::one("type", format!("unknown job type; known types: {known}")).into());
    };
    let mut errors = Vec::new();
    if let Some(n) = request.max_attempts
        && !(1..=MAX_ATTEMPTS_LIMIT).contains(&n)
    {
        errors.push(FieldError::new(
            "max_attempts",
            format!("must be between 1 and {MAX_ATTEMPTS_LIMIT}"),
        ));
    }
    if let Err(Invalid(mut payload_errors)) = kind.validate(&request.payload) {
        errors.append(&mut payload_errors);
    }
    if !errors.is_empty() {
        return Err(Invalid(errors).into());
    }
    let job = NewJob {
        id,
        tenant: tenant.clone(),
        job_type: kind.name.to_owned(),
        queue: kind.queue.to_owned(),
        payload: request.payload,
        max_attempts: request.max_attempts.unwrap_or(kind.max_attempts),
        run_at: request.run_at.map(|t| t.timestamp_millis()),
        request_id,
    };
    let done = services.queue.enqueue(job).await?;
    counted(&done);
    Ok(done)
}

/// Counts a job the queue created (`longshore_jobs_enqueued_total`).
pub fn counted(done: &crate::queue::Enqueued) {
    if done.created {
        crate::metrics::job_enqueued(&done.job.queue, &done.job.job_type);
    }
}
