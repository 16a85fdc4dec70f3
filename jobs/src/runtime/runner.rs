//! The service apalis calls for each task: finds the job type and runs it in a span that carries
//! the job id, type, attempt and the request id of the request that created it, with the
//! cancellation signal the lease book holds for its lease.

use std::task::{Context, Poll};

use apalis_core::error::BoxDynError;
use apalis_core::task::Task;
use futures::FutureExt;
use futures::future::BoxFuture;
use tower::Service;

use crate::attempt::JobMeta;
use crate::error::JobError;
use crate::platform::Services;
use crate::queue::Leased;
use crate::registry::JobContext;

use super::leases::LeaseBook;

/// Dispatches a leased job to its registered handler.
#[derive(Clone)]
pub struct JobRunner {
    pub(crate) services: Services,
    pub(crate) book: LeaseBook,
}

impl Service<Task<Leased>> for JobRunner {
    type Response = ();
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<(), BoxDynError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, task: Task<Leased>) -> Self::Future {
        let Leased { job, bury, lease } = task.args;
        super::observe::attempt_started(&job, bury.is_some());
        let services = self.services.clone();
        let cancel = self.book.cancel_signal(&lease);
        // Runs inside the attempt's span, which the ack layer around it opened.
        async move {
            if let Some(why) = bury {
                // Out of attempts: not run again; the ack layer's dead path buries it.
                tracing::warn!(job_id = %job.id, reason = %why, "burying a job whose last attempt's worker was lost");
                return Err(JobError::Permanent(why).into());
            }
            let Some(kind) = crate::job_types::registry().get(&job.job_type).cloned() else {
                return Err(JobError::Permanent(format!(
                    "unknown job type `{}` (not registered in this build)",
                    job.job_type
                ))
                .into());
            };
            let ctx = JobContext {
                services,
                meta: JobMeta::of(&job),
                cancel,
            };
            // A panicking handler must not take the worker down: it becomes a retryable error.
            let result = std::panic::AssertUnwindSafe(kind.run(job.payload, ctx))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    Err(JobError::Retryable(format!("handler panicked: {what}")))
                });
            result.map_err(|e| Box::new(e) as BoxDynError)
        }
        .boxed()
    }
}
