//! The worker runtime: apalis workers (one per queue) over Longshore's queue backends, plus the
//! lease keeper and the retention sweeper.
//!
//! Read [`backend`] for how jobs reach apalis, [`ack`] for how outcomes are recorded,
//! [`leases`] for how long jobs keep their lease, and [`observe`] for what operators see.

pub mod ack;
pub mod backend;
pub mod dead;
#[cfg(test)]
mod dead_tests;
pub mod leases;
pub mod observe;
pub mod runner;
#[cfg(test)]
mod work_events_tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis_core::monitor::Monitor;
use apalis_core::worker::builder::WorkerBuilder;

use crate::platform::Services;
use crate::queue::{JobRecord, WorkerId};
use backend::QueueBackend;
use leases::LeaseBook;
use runner::JobRunner;

/// The span of one attempt of `job`: its id, type, attempt and the request id that created it,
/// so every line about the job (the handler's, and its outcome's) can be found by any of them.
pub(crate) fn job_span(job: &JobRecord) -> tracing::Span {
    tracing::info_span!(
        "job",
        job_id = %job.id,
        job_type = %job.job_type,
        attempt = job.attempts,
        request_id = job.request_id.as_deref().unwrap_or(""),
    )
}

/// The longest a cancel of a running job waits for its worker to hear of it: the lease keeper
/// renews (and so asks) at least this often.
const CANCEL_CHECK: Duration = Duration::from_secs(1);

/// Why the worker runtime stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[error("worker runtime failed: {0}")]
pub struct RuntimeError(String);

/// Runs workers for `queues` until `shutdown` resolves, then drains: running jobs get up to the
/// configured shutdown timeout to finish, prefetched jobs are handed back.
pub async fn run_workers(
    services: Services,
    worker: WorkerId,
    queues: Vec<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RuntimeError> {
    let book = LeaseBook::default();
    let keeper = {
        let config = services.config.clone();
        let tick = (Duration::from_secs(config.lease_secs.min(config.documents_lease_secs).max(3))
            / 3)
        .min(CANCEL_CHECK);
        tokio::spawn(leases::keep_leases(
            book.clone(),
            services.queue.clone(),
            move |q| config.lease_for(q),
            tick,
        ))
    };
    let sweeper = tokio::spawn(sweep_retention(services.clone(), queues.clone()));
    let sampler = tokio::spawn(observe::sample_depths(
        services.clone(),
        queues.clone(),
        book.clone(),
    ));
    // Records whose job a queue lost (a Redis that forgot its last writes) get it back from here.
    let recovery = tokio::spawn(crate::recovery::run(
        services.db.clone(),
        services.out.clone(),
        services.config.clone(),
        queues.clone(),
    ));
    // Events back to tenants' apps: claimed from the database, not from a queue (see
    // `events::courier`), so every worker sends them whatever queues it serves.
    let courier = Arc::new(crate::events::courier::Courier::new(
        services.config.clone(),
        services.db.clone(),
        services.outbound.clone(),
        services.throttle.clone(),
    ));
    let events = tokio::spawn(courier.clone().run());
    // Webhook events stuck in `received` (their enqueue failed) are enqueued again from here.
    let webhook_sweeper = queues
        .iter()
        .any(|q| q == "payments")
        .then(|| tokio::spawn(crate::webhooks::sweeper::run(services.hooks())));

    let mut monitor =
        Monitor::new().shutdown_timeout(Duration::from_secs(services.config.shutdown_timeout_secs));
    for queue in queues {
        let services = services.clone();
        let worker = worker.clone();
        let book = book.clone();
        let concurrency = services.config.worker_concurrency;
        monitor = monitor.register(move |_restarts| {
            let backend = QueueBackend::new(
                services.clone(),
                &queue,
                worker.clone(),
                concurrency,
                book.clone(),
            );
            WorkerBuilder::new(format!("{worker}/{queue}"))
                .backend(backend)
                .concurrency(concurrency)
                .build(JobRunner {
                    services: services.clone(),
                    book: book.clone(),
                })
        });
    }
    let result = monitor
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .map_err(|e| RuntimeError(e.to_string()));
    // The job history rows of the last ~100 ms are still in the batch writer.
    services.job_runs.flush(Duration::from_secs(5)).await;
    events.abort();
    courier
        .drain(Duration::from_secs(services.config.shutdown_timeout_secs))
        .await;
    keeper.abort();
    sweeper.abort();
    sampler.abort();
    recovery.abort();
    if let Some(w) = webhook_sweeper {
        w.abort();
    }
    result
}

/// Deletes finished jobs past their retention, a bounded batch at a time.
async fn sweep_retention(services: Services, queues: Vec<String>) {
    let mut interval = tokio::time::interval(Duration::from_secs(5));
    loop {
        interval.tick().await;
        for queue in &queues {
            match services.queue.purge_expired(queue, 1000).await {
                Ok(n) if n > 0 => tracing::debug!(queue = %queue, purged = n, "retention sweep"),
                Ok(_) => {}
                Err(e) => tracing::debug!(queue = %queue, error = %e, "retention sweep failed"),
            }
        }
        if let Err(e) = crate::db::idempotency::purge_expired(&services.db, 1000).await {
            tracing::debug!(error = %e, "idempotency sweep failed");
        }
        let days = i64::try_from(services.config.event_retention_days).unwrap_or(i64::MAX);
        let before = crate::clock::now_ms() - days.saturating_mul(86_400_000);
        if let Err(e) = crate::events::retention::purge_expired(&services.db, before, 1000).await {
            tracing::debug!(error = %e, "event retention sweep failed");
        }
    }
}
