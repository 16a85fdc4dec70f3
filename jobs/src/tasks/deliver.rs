//! One attempt at an HTTP task: the [`Couriers`] every worker holds.
//!
//! An attempt reads its queue's settings (cached for a second, so a pause or a new rate takes
//! effect within one), asks the dispatch limits for a turn (a queue without one is deferred,
//! its attempt given back, never blocking a worker slot), signs and sends the request within
//! the task's dispatch deadline, judges the answer ([`super::response`]), applies the queue's
//! retry policy ([`super::policy`]) and records the attempt before the job's outcome is
//! recorded, so the task's row never says less than its job.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::model::{Attempt, QueueState, TaskOrder, TaskQueue, TaskStatus};
use super::repo::{self, AttemptRecord};
use super::response::{Verdict, judge};
use crate::attempt::JobMeta;
use crate::clock::now_ms;
use crate::config::{Config, Secret};
use crate::db::Db;
use crate::db::batcher::Batcher;
use crate::error::JobError;
use crate::ids::TenantId;
use crate::outbound::{
    Destinations, LazyOutbound, Outbound, OutboundRequest, OutboundResponse, SendError, signing,
};
use crate::secret_box::Sealer;
use crate::throttle::{Admission, Limits, Permit, Throttle};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The attempt budget of a delivery job: a ceiling only, since the task queue's policy
/// decides when retrying stops. Retrying a dead job adds this much again
/// ([`crate::queue::Queue::retry_dead`]), so an attempt's number within the current budget is
/// derived from the job's counters ([`attempt_in_budget`]).
pub const ATTEMPT_CEILING: u32 = 1_000_000;

/// How long a paused queue's task waits before it looks again.
const PAUSED_RECHECK: Duration = Duration::from_secs(5);
/// How long an attempt waits when the database cannot say how to send it.
const UNAVAILABLE_RECHECK: Duration = Duration::from_secs(2);
/// How much of an answer's body is kept in the attempt log.
const EXCERPT_CHARS: usize = 2048;
/// Attempts written per group commit.
const RECORD_BATCH: usize = 256;

/// Which attempt of the current budget this is (1-based): the job's attempts since it was
/// created or last retried by hand (each manual retry adds [`ATTEMPT_CEILING`] to the budget).
pub fn attempt_in_budget(meta: &JobMeta) -> u32 {
    let base = meta.max_attempts.saturating_sub(ATTEMPT_CEILING);
    meta.attempt.saturating_sub(base).max(1)
}

/// This attempt's numbers: `number` counts every attempt of the task (the log, the headers),
/// `in_budget` those since the last manual retry (the queue's policy).
#[derive(Debug, Clone, Copy)]
struct Try {
    number: u32,
    in_budget: u32,
}

impl Try {
    fn of(meta: &JobMeta) -> Try {
        Try {
            number: meta.attempt.max(1),
            in_budget: attempt_in_budget(meta),
        }
    }
}

/// A queue's settings as deliveries use them: its static headers opened.
struct LoadedQueue {
    queue: TaskQueue,
    headers: Vec<(String, String)>,
}

/// What delivers tasks in a worker: the outbound client, the shared dispatch limits, and
/// small caches of queue settings and signing secrets.
pub struct Couriers {
    db: Db,
    outbound: Arc<LazyOutbound>,
    throttle: Arc<dyn Throttle>,
    sealer: Sealer,
    queues: Cache<(TenantId, String), Option<Arc<LoadedQueue>>>,
    secrets: Cache<TenantId, Arc<Vec<Secret>>>,
    records: Batcher<AttemptRecord, ()>,
    releases: Releases,
    keep_name: Duration,
}

/// Frees dispatch slots in the background, as many per round trip as have gathered: an
/// attempt does not wait for it, and under load a worker frees its slots together (one
/// `release` per task was one Redis round trip of the four each task made). A slot is freed
/// a moment later than its attempt ended, which errs on the side of the limit.
struct Releases {
    tx: mpsc::UnboundedSender<Permit>,
}

impl Releases {
    /// Most slots freed per call.
    const BATCH: usize = 512;

    fn start(throttle: Arc<dyn Throttle>) -> Releases {
        let (tx, mut rx) = mpsc::unbounded_channel::<Permit>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(Self::BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < Self::BATCH {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                if let Err(e) = throttle.release_many(&batch).await {
                    tracing::debug!(error = %e, slots = batch.len(), "could not free dispatch slots; they expire by themselves");
                }
                batch.clear();
            }
        });
        Releases { tx }
    }

    fn send(&self, permit: Permit) {
        // The task only ends with the process; a slot not freed then expires by itself.
        let _ = self.tx.send(permit);
    }
}

impl Couriers {
    /// Couriers over `db`, sending where `destinations` allow, limited by `throttle`.
    pub fn new(
        config: Arc<Config>,
        db: Db,
        outbound: Arc<LazyOutbound>,
        throttle: Arc<dyn Throttle>,
    ) -> Couriers {
        let records = Batcher::start(db.clone(), RECORD_BATCH, |db, batch| async move {
            repo::record_attempts(&db, batch).await
        });
        Couriers {
            releases: Releases::start(throttle.clone()),
            keep_name: Duration::from_secs(config.task_name_reservation_secs),
            sealer: Sealer::new(config),
            db,
            outbound,
            throttle,
            queues: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(1))
                .build(),
            secrets: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(5))
                .build(),
            records,
        }
    }

    /// Where tasks may be sent (the API checks new tasks against it).
    pub fn destinations(&self) -> &Destinations {
        self.outbound.destinations()
    }

    /// The outbound client, built at the first delivery.
    fn outbound(&self) -> Result<&Outbound, JobError> {
        self.outbound.get().map_err(|e| {
            tracing::error!(error = %e, "the outbound HTTP client cannot be built; deferring tasks");
            JobError::Defer {
                delay: UNAVAILABLE_RECHECK,
            }
        })
    }

    /// How long a finished task's name stays reserved.
    pub fn keep_name(&self) -> Duration {
        self.keep_name
    }

    async fn queue(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<Arc<LoadedQueue>>, JobError> {
        let key = (tenant.clone(), name.to_owned());
        if let Some(hit) = self.queues.get(&key) {
            return Ok(hit);
        }
        let defer = |what: &str, e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "task queue {what} unreadable; deferring");
            JobError::Defer {
                delay: UNAVAILABLE_RECHECK,
            }
        };
        let Some(queue) = super::queues::get(&self.db, tenant, name)
            .await
            .map_err(|e| defer("settings", &e))?
        else {
            self.queues.insert(key, None);
            return Ok(None);
        };
        let headers = match &queue.auth_headers {
            None => Vec::new(),
            Some(h) => {
                let sealer = self.sealer.get().map_err(|e| defer("headers", &e))?;
                let context = super::service::headers_context(tenant, name);
                let json = sealer
                    .open(&h.sealed, &context)
                    .map_err(|e| defer("headers", &e))?;
                serde_json::from_str(json.expose()).map_err(|e| defer("headers", &e))?
            }
        };
        let found = Some(Arc::new(LoadedQueue { queue, headers }));
        self.queues.insert(key, found.clone());
        Ok(found)
    }

    async fn signing_secrets(&self, tenant: &TenantId) -> Result<Arc<Vec<Secret>>, JobError> {
        if let Some(hit) = self.secrets.get(tenant) {
            return Ok(hit);
        }
        let sealer = self.sealer.get().map_err(|e| {
            tracing::error!(error = %e, "the secrets key cannot be loaded; deferring tasks");
            JobError::Defer {
                delay: UNAVAILABLE_RECHECK,
            }
        })?;
        let found = super::signing_keys::signing_secrets(&self.db, &sealer, tenant, now_ms())
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "task signing secrets unreadable; deferring");
                JobError::Defer {
                    delay: UNAVAILABLE_RECHECK,
                }
            })?;
        let found = Arc::new(found);
        self.secrets.insert(tenant.clone(), found.clone());
        Ok(found)
    }

    /// One attempt at `order` (see the module documentation). When `cancel` fires during the
    /// call to the endpoint, the call is abandoned (the connection dropped) and the attempt
    /// ends [`JobError::Cancelled`].
    pub async fn deliver(
        &self,
        order: TaskOrder,
        meta: &JobMeta,
        cancel: &CancellationToken,
    ) -> Result<(), JobError> {
        let tenant = &meta.tenant;
        let attempt = Try::of(meta);
        let Some(loaded) = self.queue(tenant, &order.queue).await? else {
            let why = format!("the task queue {:?} no longer exists", order.queue);
            self.settle_unsent(&order, attempt.number, TaskStatus::Dead, &why)
                .await;
            return Err(JobError::Permanent(why));
        };
        let queue = &loaded.queue;
        if queue.state == QueueState::Paused {
            return Err(JobError::Defer {
                delay: PAUSED_RECHECK,
            });
        }
        let since_due = Duration::from_millis(u64::try_from(now_ms() - order.due_at).unwrap_or(0));
        if attempt.in_budget > 1 && queue.retry.exhausted(attempt.in_budget - 1, since_due) {
            // Earlier attempts were lost with their workers and used the budget up.
            let why = format!(
                "no attempts left after {} (queue policy)",
                attempt.in_budget - 1
            );
            self.settle_unsent(&order, attempt.number, TaskStatus::Dead, &why)
                .await;
            return Err(JobError::Permanent(why));
        }
        let key = format!("{tenant}/{}", order.queue);
        let limits = Limits {
            per_second: queue.rate.max_dispatches_per_second,
            burst: queue.rate.max_burst_size,
            max_concurrent: queue.rate.max_concurrent_dispatches,
        };
        let hold = order.request.dispatch_deadline + Duration::from_secs(30);
        let permit = match self
            .throttle
            .admit(&key, meta.id.as_str(), &limits, hold)
            .await
        {
            Ok(Admission::Go(permit)) => permit,
            Ok(Admission::Wait(delay)) => return Err(JobError::Defer { delay }),
            Err(e) => {
                tracing::warn!(error = %e, "dispatch limits unreachable; deferring");
                return Err(JobError::Defer {
                    delay: UNAVAILABLE_RECHECK,
                });
            }
        };
        let sent = match self.signing_secrets(tenant).await {
            Ok(secrets) => match self
                .request(&order, meta, attempt.number, &secrets, &loaded.headers)
                .await
            {
                Ok(request) => match self.outbound() {
                    Ok(client) => tokio::select! {
                        sent = client.send(request) => Ok(sent),
                        () = cancel.cancelled() => {
                            self.releases.send(permit);
                            return Err(JobError::Cancelled(
                                "the call to the endpoint was abandoned".into(),
                            ));
                        }
                    },
                    Err(e) => {
                        self.releases.send(permit);
                        return Err(e);
                    }
                },
                Err(why) => Err(why),
            },
            Err(e) => {
                self.releases.send(permit);
                return Err(e);
            }
        };
        self.releases.send(permit);
        let result = match sent {
            Ok(result) => result,
            Err(why) => {
                self.settle_unsent(&order, attempt.number, TaskStatus::Dead, &why)
                    .await;
                return Err(JobError::Permanent(why));
            }
        };
        self.conclude(&order, queue, &key, attempt, since_due, result)
            .await
    }

    /// Applies the response grammar and the queue's policy, records the attempt, and says
    /// what the job does next.
    async fn conclude(
        &self,
        order: &TaskOrder,
        queue: &TaskQueue,
        key: &str,
        attempt: Try,
        since_due: Duration,
        result: Result<OutboundResponse, SendError>,
    ) -> Result<(), JobError> {
        let now = now_ms();
        let (verdict, status, excerpt, latency) = match &result {
            Ok(r) => (
                judge(r.status, r.retry_after),
                Some(r.status),
                Some(r.excerpt_text(EXCERPT_CHARS)),
                r.elapsed,
            ),
            Err(SendError::Refused(why)) => (
                Verdict::Stop {
                    why: why.to_string(),
                },
                None,
                None,
                Duration::ZERO,
            ),
            Err(SendError::Timeout) => (
                Verdict::Retry {
                    why: "dispatch deadline exceeded".into(),
                },
                None,
                None,
                order.request.dispatch_deadline,
            ),
            Err(e) => (
                Verdict::Retry { why: e.to_string() },
                None,
                None,
                Duration::ZERO,
            ),
        };
        let latency_ms = i64::try_from(latency.as_millis()).unwrap_or(i64::MAX);
        let started_at = now - latency_ms;
        let exhausted = |why: String| {
            if queue.retry.exhausted(attempt.in_budget, since_due) {
                Err(format!(
                    "{why} (attempt {}: no attempts left)",
                    attempt.in_budget
                ))
            } else {
                Ok(why)
            }
        };
        let (settled, next, outcome, error) = match verdict {
            Verdict::Done => (Some(TaskStatus::Succeeded), None, Ok(()), None),
            Verdict::Stop { why } => (
                Some(TaskStatus::Dead),
                None,
                Err(JobError::Permanent(why.clone())),
                Some(why),
            ),
            Verdict::ComeBackAfter { delay, why } => {
                if let Err(e) = self.throttle.hold_off(key, delay).await {
                    tracing::debug!(error = %e, "could not slow the queue down");
                }
                match exhausted(why) {
                    Ok(why) => retry_in(now, delay, why),
                    Err(why) => dead(why),
                }
            }
            Verdict::Retry { why } => match exhausted(why) {
                Ok(why) => retry_in(now, queue.retry.backoff(attempt.in_budget), why),
                Err(why) => dead(why),
            },
        };
        let record = AttemptRecord {
            task: order.task.clone(),
            attempt: Attempt {
                attempt: i64::from(attempt.number),
                started_at,
                latency_ms,
                status,
                error,
                excerpt,
            },
            settled,
            next_due_at: next,
            keep_name: self.keep_name,
        };
        if let Err(e) = self.records.call(record).await {
            // The outcome still goes to the queue; the recovery sweep reconciles the row with
            // the job's final state.
            tracing::warn!(error = %e, task = %order.task, "could not record a task attempt");
        }
        outcome
    }

    /// Settles a task whose job was cancelled while it ran (see
    /// [`crate::registry::JobKind::on_cancelled`]): `cancelled`, with the attempt in its log.
    /// A row already final is left alone.
    pub async fn settle_cancelled(&self, order: &TaskOrder, meta: &JobMeta) {
        let attempt = Try::of(meta);
        self.settle_unsent(
            order,
            attempt.number,
            TaskStatus::Cancelled,
            "cancelled while running",
        )
        .await;
    }

    /// Settles a task that was not sent (its queue is gone, its budget was used up by lost
    /// attempts), with the reason in its attempt log.
    async fn settle_unsent(&self, order: &TaskOrder, attempt: u32, status: TaskStatus, why: &str) {
        let record = AttemptRecord {
            task: order.task.clone(),
            attempt: Attempt {
                attempt: i64::from(attempt),
                started_at: now_ms(),
                latency_ms: 0,
                status: None,
                error: Some(why.to_owned()),
                excerpt: None,
            },
            settled: Some(status),
            next_due_at: None,
            keep_name: self.keep_name,
        };
        if let Err(e) = self.records.call(record).await {
            tracing::warn!(error = %e, task = %order.task, "could not record a task's end");
        }
    }

    /// The signed request of this attempt; an error when the stored request no longer makes
    /// one (it was checked when the task was created, so only a corrupt row gets there).
    async fn request(
        &self,
        order: &TaskOrder,
        meta: &JobMeta,
        attempt: u32,
        secrets: &[Secret],
        queue_headers: &[(String, String)],
    ) -> Result<OutboundRequest, String> {
        let r = &order.request;
        let now = now_ms();
        let first_attempt_at = if attempt == 1 {
            Some(now)
        } else {
            // Retries only: read once from the row (the first attempt recorded it).
            repo::first_attempt_at(&self.db, &order.task)
                .await
                .ok()
                .flatten()
        };
        let keys: Vec<&str> = secrets.iter().map(Secret::expose).collect();
        let signed = signing::sign(&keys, order.task.as_str(), now / 1000, &r.body)
            .map_err(|e| format!("cannot sign the request: {e}"))?;
        let mut headers = HeaderMap::new();
        let mut add = |name: &str, value: &str| -> Result<(), String> {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("bad header name {name:?}"))?;
            let value =
                HeaderValue::from_str(value).map_err(|_| format!("bad value for header {name}"))?;
            headers.append(name, value);
            Ok(())
        };
        // The queue's headers (credentials) win over a task's header of the same name.
        let overridden = |name: &str| {
            queue_headers
                .iter()
                .any(|(q, _)| q.eq_ignore_ascii_case(name))
        };
        for (name, value) in r.headers.iter().filter(|(n, _)| !overridden(n)) {
            add(name, value)?;
        }
        for (name, value) in queue_headers {
            add(name, value)?;
        }
        if !r.body.is_empty()
            && !r
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            add("content-type", "application/octet-stream")?;
        }
        for (name, value) in signed.headers() {
            add(name, value)?;
        }
        add("longshore-queue-name", &order.queue)?;
        add("longshore-task-id", order.task.as_str())?;
        add("longshore-job-id", meta.id.as_str())?;
        add("longshore-task-attempt", &attempt.to_string())?;
        add("longshore-task-retry-count", &(attempt - 1).to_string())?;
        add("longshore-task-eta", &seconds(order.due_at))?;
        if let Some(first) = first_attempt_at {
            add("longshore-task-first-attempt", &seconds(first))?;
        }
        if let Some(name) = &order.name {
            add("longshore-task-name", name)?;
        }
        Ok(OutboundRequest {
            method: Method::from_bytes(r.method.as_bytes())
                .map_err(|_| format!("bad method {:?}", r.method))?,
            url: url::Url::parse(&r.url).map_err(|e| format!("bad URL: {e}"))?,
            headers,
            body: bytes::Bytes::from(r.body.clone()),
            timeout: r.dispatch_deadline,
        })
    }
}

fn retry_in(
    now: i64,
    delay: Duration,
    why: String,
) -> (
    Option<TaskStatus>,
    Option<i64>,
    Result<(), JobError>,
    Option<String>,
) {
    let next = now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
    (
        None,
        Some(next),
        Err(JobError::RetryAfter {
            error: why.clone(),
            delay,
        }),
        Some(why),
    )
}

fn dead(
    why: String,
) -> (
    Option<TaskStatus>,
    Option<i64>,
    Result<(), JobError>,
    Option<String>,
) {
    (
        Some(TaskStatus::Dead),
        None,
        Err(JobError::Permanent(why.clone())),
        Some(why),
    )
}

/// Unix seconds with milliseconds, as Cloud Tasks' `X-CloudTasks-TaskETA` is written.
fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::JobId;

    fn meta(attempt: u32, max_attempts: u32) -> JobMeta {
        JobMeta {
            id: JobId::new(),
            tenant: TenantId::new(),
            attempt,
            max_attempts,
            request_id: None,
        }
    }

    #[test]
    fn attempts_count_from_the_last_manual_retry() {
        assert_eq!(attempt_in_budget(&meta(1, ATTEMPT_CEILING)), 1);
        assert_eq!(attempt_in_budget(&meta(7, ATTEMPT_CEILING)), 7);
        // Dead after 7 attempts, retried by hand: the budget grew to 7 + ceiling.
        assert_eq!(attempt_in_budget(&meta(8, ATTEMPT_CEILING + 7)), 1);
        assert_eq!(attempt_in_budget(&meta(9, ATTEMPT_CEILING + 7)), 2);
    }

    #[test]
    fn eta_is_written_in_seconds_with_milliseconds() {
        assert_eq!(seconds(1_700_000_000_123), "1700000000.123");
        assert_eq!(seconds(5), "0.005");
    }
}
