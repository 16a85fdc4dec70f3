//! Longshore's queue as an apalis 1.0 backend: `poll_next` hands apalis leased jobs, fetched in
//! batches no larger than the free concurrency (so prefetched jobs start at once and stay covered
//! by the lease book), and `poll_close` hands back anything fetched but not started.
//!
//! The poll methods never return an error (any error ends an apalis worker): an unreachable
//! queue is waited out with backoff instead.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::backend::finalize::Ephemeral;
use apalis_core::backend::{Backend, BackendConfig};
use apalis_core::task::Task;
use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::task_id::TaskId;
use apalis_core::worker::context::WorkerContext;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::ack::AckLayer;
use super::leases::LeaseBook;
use crate::platform::Services;
use crate::queue::{Leased, Outcome, WorkerId};

/// Most jobs taken in one fetch.
const MAX_BATCH: usize = 64;
/// Longest idle wait before checking again for due retries and expired leases.
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// A wait for work that answered at once, followed by a fetch that got nothing, means work is
/// there that this worker may not take (every tenant that has some is at its concurrency cap,
/// or the ready ids are of cancelled jobs): the next wait starts after this much, once more
/// for each such round in a row (up to [`IDLE_WAIT`]), rather than spinning.
const HELD_BACK_PAUSE: Duration = Duration::from_millis(20);
/// A wait shorter than this answered at once.
const AT_ONCE: Duration = Duration::from_millis(5);

/// One queue's jobs, as an apalis backend.
pub struct QueueBackend {
    services: Services,
    queue: String,
    worker: WorkerId,
    concurrency: usize,
    book: LeaseBook,
    in_flight: Arc<AtomicUsize>,
    buffer: VecDeque<Leased>,
    fetching: Option<BoxFuture<'static, Vec<Leased>>>,
    /// Tells a fetch in flight to stop waiting for work (at close).
    stop_fetching: CancellationToken,
    closing: Option<BoxFuture<'static, ()>>,
}

/// Never-failing backend error type (apalis requires one).
#[derive(Debug, thiserror::Error)]
#[error("queue backend error")]
pub struct BackendError;

impl QueueBackend {
    /// A backend for `queue`, running at most `concurrency` jobs at once.
    pub fn new(
        services: Services,
        queue: &str,
        worker: WorkerId,
        concurrency: usize,
        book: LeaseBook,
    ) -> Self {
        QueueBackend {
            services,
            queue: queue.to_owned(),
            worker,
            concurrency,
            book,
            in_flight: Arc::new(AtomicUsize::new(0)),
            buffer: VecDeque::new(),
            fetching: None,
            stop_fetching: CancellationToken::new(),
            closing: None,
        }
    }

    fn start_fetch(&self) -> BoxFuture<'static, Vec<Leased>> {
        let services = self.services.clone();
        let queue = self.queue.clone();
        let worker = self.worker.clone();
        let book = self.book.clone();
        let stop = self.stop_fetching.clone();
        let free = self
            .concurrency
            .saturating_sub(self.in_flight.load(Ordering::Acquire))
            .clamp(1, MAX_BATCH);
        async move { fetch_until_some(services, queue, worker, book, free, stop).await }.boxed()
    }
}

/// Fetches until at least one job is leased, waiting for work in between. Once `stop` is
/// cancelled it returns at the next wait (empty, or with what a claim under way leased): a claim
/// is never abandoned half way, as its write may already have landed.
async fn fetch_until_some(
    services: Services,
    queue: String,
    worker: WorkerId,
    book: LeaseBook,
    max: usize,
    stop: CancellationToken,
) -> Vec<Leased> {
    let lease = services.config.lease_for(&queue);
    let mut backoff = Duration::from_millis(100);
    let mut held_back = 0u32;
    loop {
        if stop.is_cancelled() {
            return Vec::new();
        }
        match services.queue.fetch(&queue, &worker, max, lease).await {
            Ok(jobs) if !jobs.is_empty() => {
                for job in &jobs {
                    book.add(job.lease.clone());
                }
                return jobs;
            }
            Ok(_) => {
                backoff = Duration::from_millis(100);
                if held_back > 0 {
                    let pause = (HELD_BACK_PAUSE * held_back).min(IDLE_WAIT);
                    tokio::select! {
                        _ = stop.cancelled() => return Vec::new(),
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
                let began = tokio::time::Instant::now();
                let waited = tokio::select! {
                    _ = stop.cancelled() => return Vec::new(),
                    waited = services.queue.wait_for_work(&queue, IDLE_WAIT) => waited,
                };
                held_back = if began.elapsed() < AT_ONCE {
                    held_back.saturating_add(1)
                } else {
                    0
                };
                if let Err(e) = waited {
                    tracing::debug!(queue = %queue, error = %e, "wait for work failed");
                    tokio::select! {
                        _ = stop.cancelled() => return Vec::new(),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                }
            }
            Err(e) => {
                tracing::warn!(queue = %queue, error = %e, retry_in_ms = backoff.as_millis() as u64, "queue unavailable; waiting");
                tokio::select! {
                    _ = stop.cancelled() => return Vec::new(),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn into_task(leased: Leased) -> Task<Leased> {
    let id = TaskId::from_string(leased.job.id.as_str());
    let attempt = leased.job.attempts.saturating_sub(1) as usize;
    let max = leased.job.max_attempts as usize;
    TaskBuilder::new(leased)
        .task_id(id)
        .attempt(attempt)
        .max_attempts(max)
        .build()
}

impl Backend for QueueBackend {
    type Task = Task<Leased>;
    type Error = BackendError;

    fn poll_ready(
        &mut self,
        _cx: &mut Context<'_>,
        _w: &WorkerContext,
    ) -> Poll<Result<(), BackendError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _w: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, BackendError>>> {
        loop {
            if let Some(job) = self.buffer.pop_front() {
                self.in_flight.fetch_add(1, Ordering::AcqRel);
                return Poll::Ready(Some(Ok(into_task(job))));
            }
            if self.fetching.is_none() {
                if self.stop_fetching.is_cancelled() {
                    // Closing: no new claims.
                    return Poll::Ready(None);
                }
                self.fetching = Some(self.start_fetch());
            }
            let Some(fetching) = self.fetching.as_mut() else {
                continue;
            };
            match fetching.poll_unpin(cx) {
                Poll::Ready(jobs) => {
                    self.fetching = None;
                    self.buffer.extend(jobs);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        _w: &WorkerContext,
    ) -> Poll<Result<(), BackendError>> {
        if self.closing.is_none() {
            // A fetch in flight is let finish, not dropped: its claim may already be written
            // (SQLite's writer task, a Redis script sent), and a lease nobody holds would lapse
            // and its job start again as a second attempt a lease later. Told to stop, it
            // returns at once when only waiting for work; what it leased is handed back below.
            self.stop_fetching.cancel();
            let fetching = self.fetching.take();
            let unstarted: Vec<Leased> = self.buffer.drain(..).collect();
            let services = self.services.clone();
            let book = self.book.clone();
            self.closing = Some(
                async move {
                    let fetched = match fetching {
                        Some(fetch) => fetch.await,
                        None => Vec::new(),
                    };
                    for job in unstarted.into_iter().chain(fetched) {
                        // A burial handed back would give the job an attempt it does not
                        // have: its lease is left to lapse, and another worker buries it.
                        if job.bury.is_none() {
                            super::ack::record(&services, &job.lease, Outcome::Released, &job.job)
                                .await;
                        }
                        book.remove(&job.lease);
                    }
                }
                .boxed(),
            );
        }
        match self.closing.as_mut().map(|c| c.poll_unpin(cx)) {
            Some(Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl BackendConfig for QueueBackend {
    type Args = Leased;
    type Id = String;
    type Kind = Ephemeral;
    type Config = ();
    type Layer = AckLayer;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _worker: &mut WorkerContext) -> Self::Layer {
        AckLayer {
            services: self.services.clone(),
            book: self.book.clone(),
            in_flight: self.in_flight.clone(),
        }
    }
}
