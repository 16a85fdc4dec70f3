//! The one dead path: what happens, before the queue is told, to every job that gives up
//! (a permanent error, the last attempt failing, or a job the queue hands over for burial
//! because its last attempt's worker was lost, see [`crate::queue::Leased::bury`]):
//!
//! 1. the kind's [`crate::registry::JobKind::on_dead`] ends what the job acts on (a document
//!    `failed`, an email `failed` or `sent, unconfirmed`…) ([`end_record`]);
//! 2. the `job.dead` event is recorded ([`dead_event`], [`record_before_ack`]);
//! 3. the job is acked dead ([`super::ack`]).
//!
//! Either of the first two failing within the lease leaves the job unacknowledged: its lease
//! lapses and, out of attempts, it is handed over for burial again, so both happen at least
//! once.
//!
//! `job.dead`: telling the tenant's app that a job gave up, before the queue is told.
//!
//! The queue (Redis, or its own SQLite file) cannot share a transaction with the business
//! database, so the event cannot commit together with the dead ack. It is recorded first, under
//! an id derived from the job id and the attempt that died (and the time that attempt
//! started), and only then is the job acked dead:
//!
//! - if the worker dies between the two, the lease expires and the job runs again; if that run
//!   dies too, its event has a new id (a new attempt), so the app may hear of one death twice,
//!   but never of a death that did not happen and never not at all: at least once;
//! - an ack of the same attempt repeated (the outcome recorded again after a lost answer, the
//!   whole ack path run twice) derives the same id, which [`crate::events::record`] records
//!   once.
//!
//! The other order would lose the event whenever the worker stopped between the ack and the
//! recording, since nothing runs a dead job again.
//!
//! HTTP tasks (`task.deliver`) are left out: the task's own row says when it ended dead and
//! records `task.dead` in that transaction, with what the app knows (the task, its URL and the
//! endpoint's answer); a `job.dead` as well would tell the app of one failure twice, by the id
//! of a job it never created.

use std::time::Duration;

use crate::attempt::JobMeta;
use crate::clock::from_ms;
use crate::db::{Db, DbError};
use crate::error::JobError;
use crate::events::data::work::JobEventData;
use crate::events::{self, EventType, NewEvent};
use crate::job_types::http_task::DeliverTask;
use crate::platform::Services;
use crate::queue::JobRecord;
use crate::registry::{JobContext, JobKind};

/// Runs `job`'s kind's `on_dead` with `error`, retrying what can be retried until `give_up`
/// (the end of the lease). `Err` with why when it did not end the record in time: the job must
/// not be acked dead. A permanent error from the hook is logged and counts as done (nothing
/// more can be done for that record); an unknown job type has no hook.
pub async fn end_record(
    services: &Services,
    job: &JobRecord,
    error: &str,
    give_up: tokio::time::Instant,
) -> Result<(), String> {
    let Some(kind) = crate::job_types::registry().get(&job.job_type).cloned() else {
        return Ok(());
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        let ctx = JobContext::new(services.clone(), JobMeta::of(job));
        let wait = match kind
            .on_dead(job.payload.clone(), ctx, error.to_owned())
            .await
        {
            Ok(()) => return Ok(()),
            Err(JobError::Permanent(why)) => {
                tracing::warn!(job_id = %job.id, error = %why, "the dead job's record could not be ended");
                return Ok(());
            }
            Err(JobError::RetryAfter { error, delay }) => (error, delay.max(backoff)),
            Err(e) => (e.to_string(), backoff),
        };
        let (why, delay) = wait;
        if tokio::time::Instant::now() + delay >= give_up {
            return Err(why);
        }
        tracing::debug!(job_id = %job.id, error = %why, "could not end the dead job's record yet; retrying");
        tokio::time::sleep(delay).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// The `job.dead` event of `job`'s current attempt, which died with `error`; `None` for the
/// jobs of HTTP tasks (see the module doc).
pub fn dead_event(job: &JobRecord, error: &str) -> Option<NewEvent> {
    if job.job_type == DeliverTask::NAME {
        return None;
    }
    let started = job.started_at.unwrap_or(job.updated_at);
    let data = JobEventData {
        job_id: job.id.to_string(),
        job_type: job.job_type.clone(),
        queue: job.queue.clone(),
        attempt: job.attempts,
        max_attempts: job.max_attempts,
        error: error.to_owned(),
        request_id: job.request_id.clone(),
        created_at: from_ms(job.created_at),
        attempt_started_at: from_ms(started),
    };
    let key = format!("{}/{}", job.id, job.attempts);
    Some(NewEvent::of_change(
        &job.tenant,
        EventType::JobDead,
        job.id.as_str(),
        started,
        &key,
        &data,
    ))
}

/// Records `event` in its own transaction, retrying while the database is unreachable until
/// `give_up` (the end of the lease: past it, another worker may run the job).
pub async fn record_before_ack(
    db: &Db,
    event: &NewEvent,
    give_up: tokio::time::Instant,
) -> Result<(), DbError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        match record_one(db, event).await {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() < give_up => {
                tracing::warn!(error = %e, "could not record job.dead; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

async fn record_one(db: &Db, event: &NewEvent) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    events::record(&mut tx, db.dialect(), std::slice::from_ref(event)).await?;
    tx.commit().await?;
    Ok(())
}
