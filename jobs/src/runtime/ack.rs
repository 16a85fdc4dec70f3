//! The ack layer: apalis places a backend's middleware outside every user layer, so this sees
//! each attempt's final result and records it in the queue, fenced by the lease token.
//!
//! Failed attempts are rescheduled durably in the backend with the job type's backoff; nothing
//! is retried in memory. The outcome is recorded and logged inside the job's span (job id,
//! type, attempt and the request id that created the job), as the handler's own lines are.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::error::BoxDynError;
use apalis_core::task::Task;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;
use tower::{Layer, Service};
use tracing::Instrument;

use super::leases::LeaseBook;
use crate::error::JobError;
use crate::platform::Services;
use crate::queue::{AckStatus, JobRecord, LeaseRef, Leased, Outcome, QueueError};
use crate::registry::JobContext;

/// Shared by the backend (fetch side) and the ack layer.
#[derive(Clone)]
pub struct AckLayer {
    pub(crate) services: Services,
    pub(crate) book: LeaseBook,
    pub(crate) in_flight: Arc<AtomicUsize>,
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AckService {
            inner,
            layer: self.clone(),
        }
    }
}

/// Runs an attempt, then records its outcome.
#[derive(Clone)]
pub struct AckService<S> {
    inner: S,
    layer: AckLayer,
}

impl<S> Service<Task<Leased>> for AckService<S>
where
    S: Service<Task<Leased>, Error = BoxDynError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<S::Response, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, task: Task<Leased>) -> Self::Future {
        let lease = task.args.lease.clone();
        let job = task.args.job.clone();
        let layer = self.layer.clone();
        let cancel = layer.book.cancel_signal(&lease);
        let grace = Duration::from_secs(layer.services.config.cancel_grace_secs);
        let fut = self.inner.call(task);
        // One span per attempt, around the handler and the outcome it leads to, so the request
        // id that created the job reaches both.
        let span = super::job_span(&job);
        Box::pin(
            async move {
                let started = std::time::Instant::now();
                let result = until_stopped(fut, &cancel, grace).await;
                super::observe::attempt_ran(&job, started.elapsed());
                let outcome = match result.as_ref() {
                    // Whatever the handler said on its way out, the job was cancelled.
                    Err(error) if cancel.is_cancelled() => Outcome::Cancelled {
                        reason: format!("cancelled while running: {error}"),
                    },
                    result => decide(&layer.services, &job, result.err()),
                };
                if tell_of_death(&layer.services, &lease, &outcome, &job).await {
                    record(&layer.services, &lease, outcome, &job).await;
                }
                layer.book.remove(&lease);
                layer.in_flight.fetch_sub(1, Ordering::AcqRel);
                result
            }
            .instrument(span),
        )
    }
}

/// Runs an attempt until it ends, or until `grace` after its job was cancelled: then it is
/// dropped (at its next await, so nothing it had not committed is applied).
async fn until_stopped<F, R>(
    attempt: F,
    cancel: &CancellationToken,
    grace: Duration,
) -> Result<R, BoxDynError>
where
    F: std::future::Future<Output = Result<R, BoxDynError>>,
{
    let deadline = async {
        cancel.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        biased;
        result = attempt => result,
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "the cancelled job's handler did not stop within its grace period; stopped");
            Err(Box::new(JobError::Cancelled(format!(
                "stopped after the {}s grace period",
                grace.as_secs()
            ))))
        }
    }
}

/// Turns an attempt's result into the queue outcome, following the job type's policy.
pub fn decide(services: &Services, job: &JobRecord, error: Option<&BoxDynError>) -> Outcome {
    let Some(error) = error else {
        return Outcome::Succeeded;
    };
    let (message, delay_hint, permanent) = match error.downcast_ref::<JobError>() {
        Some(JobError::Defer { delay }) => return Outcome::Deferred { delay: *delay },
        Some(JobError::Cancelled(reason)) => {
            return Outcome::Cancelled {
                reason: reason.clone(),
            };
        }
        Some(JobError::Permanent(m)) => (m.clone(), None, true),
        Some(JobError::RetryAfter { error, delay }) => (error.clone(), Some(*delay), false),
        Some(JobError::Retryable(m)) => (m.clone(), None, false),
        None => (error.to_string(), None, false),
    };
    if permanent {
        return Outcome::Dead { error: message };
    }
    if job.attempts >= job.max_attempts {
        return Outcome::Dead {
            error: format!(
                "{message} (attempt {} of {}: no attempts left)",
                job.attempts, job.max_attempts
            ),
        };
    }
    let delay =
        delay_hint.unwrap_or_else(|| match crate::job_types::registry().get(&job.job_type) {
            Some(kind) => (kind.policy)(&services.config).delay_after(job.attempts),
            None => Duration::from_secs(1),
        });
    Outcome::Retry {
        error: message,
        delay,
    }
}

/// The dead path before a dead outcome is acked ([`super::dead`]): ends the job's record with
/// its kind's `on_dead`, then records `job.dead` in the business database; false when either
/// could not be done within the lease, and the job must not be acked: its lease expires and it
/// runs again, or, out of attempts, is handed over for burial again.
async fn tell_of_death(
    services: &Services,
    lease: &LeaseRef,
    outcome: &Outcome,
    job: &JobRecord,
) -> bool {
    let Outcome::Dead { error } = outcome else {
        return true;
    };
    let give_up = tokio::time::Instant::now() + services.config.lease_for(&lease.queue);
    if let Err(e) = super::dead::end_record(services, job, error, give_up).await {
        tracing::error!(job_id = %job.id, error = %e, "could not end the dead job's record; the job is not acked dead and is handed over again after its lease");
        return false;
    }
    let Some(event) = super::dead::dead_event(job, error) else {
        return true;
    };
    match super::dead::record_before_ack(&services.db, &event, give_up).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(job_id = %job.id, error = %e, "could not record job.dead; the job is not acked dead and runs again after its lease");
            false
        }
    }
}

/// Records the outcome, retrying while the queue is unreachable, for as long as the lease could
/// still be ours. If it never lands, the lease expires and the job runs again (at least once).
pub async fn record(services: &Services, lease: &LeaseRef, outcome: Outcome, job: &JobRecord) {
    let give_up = tokio::time::Instant::now() + services.config.lease_for(&lease.queue);
    let mut backoff = Duration::from_millis(50);
    loop {
        match services.queue.complete(lease, outcome.clone()).await {
            Ok(status @ (AckStatus::Applied | AckStatus::Cancelled)) => {
                let outcome = match status {
                    AckStatus::Cancelled => Outcome::Cancelled {
                        reason: "cancelled while running".into(),
                    },
                    _ => outcome,
                };
                log_outcome(job, &outcome);
                super::observe::outcome_recorded(job, &outcome);
                // Job history for `jobs_health`: a non-blocking hand-off to a batch writer.
                services.job_runs.record(job, &outcome);
                if matches!(outcome, Outcome::Cancelled { .. }) {
                    end_cancelled_record(services, job).await;
                }
                return;
            }
            Ok(AckStatus::Stale) => {
                super::observe::ack_fenced(job);
                tracing::warn!(job_id = %job.id, "ack fenced off: the lease was lost, another worker owns this job");
                return;
            }
            Err(QueueError::Unavailable(e)) if tokio::time::Instant::now() < give_up => {
                tracing::warn!(job_id = %job.id, error = %e, "queue unavailable while acking; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                tracing::error!(job_id = %job.id, error = %e, "could not record the outcome; the lease will expire and the job will run again");
                return;
            }
        }
    }
}

/// Runs the kind's [`crate::registry::JobKind::on_cancelled`] once the job is recorded
/// `cancelled`; a failure is logged and left to the recovery sweep.
async fn end_cancelled_record(services: &Services, job: &JobRecord) {
    let Some(kind) = crate::job_types::registry().get(&job.job_type).cloned() else {
        return;
    };
    let ctx = JobContext::new(services.clone(), crate::attempt::JobMeta::of(job));
    if let Err(e) = kind.on_cancelled(job.payload.clone(), ctx).await {
        tracing::warn!(job_id = %job.id, error = %e, "could not end the cancelled job's record; the recovery sweep will");
    }
}

fn log_outcome(job: &JobRecord, outcome: &Outcome) {
    match outcome {
        Outcome::Succeeded => {
            tracing::debug!(job_id = %job.id, attempt = job.attempts, "job succeeded")
        }
        Outcome::Retry { error, delay } => {
            tracing::info!(job_id = %job.id, attempt = job.attempts, delay_ms = delay.as_millis() as u64, error = %error, "job failed; retry scheduled")
        }
        Outcome::Dead { error } => {
            tracing::warn!(job_id = %job.id, attempt = job.attempts, error = %error, "job is dead")
        }
        Outcome::Released => tracing::debug!(job_id = %job.id, "job released unstarted"),
        Outcome::Cancelled { reason } => {
            tracing::info!(job_id = %job.id, attempt = job.attempts, reason = %reason, "job cancelled while running")
        }
        Outcome::Deferred { delay } => {
            tracing::debug!(job_id = %job.id, delay_ms = delay.as_millis() as u64, "job deferred by a limit")
        }
    }
}
