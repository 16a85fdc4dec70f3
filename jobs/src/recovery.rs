//! Recovery: the part of "never row committed, job lost" that does not trust the queue.
//!
//! Every record that waits on a job (an email, a document, a certificate batch, an HTTP task, a
//! report, and
//! through reports a scheduler tick) is written before its job is enqueued, and its job id is
//! derived from it. A queue can still lose the job afterwards: Redis with `appendfsync
//! everysec` loses up to a second of writes when it is killed, and a flushed or replaced Redis
//! loses everything. So every worker sweeps, every few seconds, the records of the queues it
//! serves that have waited longer than `LONGSHORE_RECOVERY_AFTER_SECS` without changing, and
//! hands their intents over again. While the job exists that is a no-op (enqueue is idempotent
//! on the derived id); when the queue lost it, the job is created again and the record reaches
//! its final state, once, because every handler is idempotent on its record.
//!
//! Chosen over an outbox table per path: the records already carry their status and the time it
//! last changed, so a partial index on the waiting rows finds them with no extra write on the
//! hot path (an outbox would add an insert and a delete per email). The webhook inbox and the
//! receipt outbox have their own sweeper (`webhooks::sweeper`), which also marks rows whose job
//! died.

use std::time::Duration;

use crate::clock::now_ms;
use crate::config::Config;
use crate::db::{Db, DbError};
use crate::intent::{Dispatch, Intent, Next};
use crate::queue::{Enqueued, JobState, QueueError};

/// Records handed over per kind and pass.
const BATCH: i64 = 500;

/// How many lost jobs one pass created again, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    pub emails: usize,
    pub documents: usize,
    pub batches: usize,
    pub reports: usize,
    pub tasks: usize,
}

/// Why a pass stopped early; the next pass tries again.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// One pass over the records of `queues`.
pub async fn sweep_once(
    db: &Db,
    out: &dyn Dispatch,
    config: &Config,
    queues: &[String],
) -> Result<Recovered, RecoveryError> {
    let serves = |q: &str| queues.iter().any(|s| s == q);
    let now = now_ms();
    let before = now - ms(config.recovery_after_secs);
    let mut done = Recovered::default();
    if serves("email") {
        let deferred_before = before - i64::try_from(config.email_retry_max_ms).unwrap_or(0);
        let stalled = crate::email::repo::stalled(db, before, deferred_before, BATCH).await?;
        let intents = stalled.into_iter().map(|e| {
            let intent = Intent::SendEmail {
                email: e.id,
                not_before: e.send_at,
            };
            Next::new(&e.tenant, intent, e.request_id)
        });
        done.emails = hand_over(out, intents.collect()).await?;
    }
    if serves("documents") {
        let stalled = crate::documents::repo::stalled(db, before, BATCH).await?;
        let intents = stalled.into_iter().map(|(tenant, document)| {
            Next::new(&tenant, Intent::RenderDocument { document }, None)
        });
        done.documents = hand_over(out, intents.collect()).await?;
        let stalled = crate::documents::batches::stalled(db, before, BATCH).await?;
        let intents = stalled
            .into_iter()
            .map(|(tenant, batch)| Next::new(&tenant, Intent::ExpandBatch { batch }, None));
        done.batches = hand_over(out, intents.collect()).await?;
    }
    if serves("reports") {
        let stalled = crate::reports::repo::stalled(db, before, BATCH).await?;
        let intents = stalled
            .into_iter()
            .map(|r| Next::new(&r.tenant, Intent::BuildReport(r.order()), None));
        done.reports = hand_over(out, intents.collect()).await?;
    }
    if serves("tasks") {
        done.tasks = recover_tasks(db, out, config, before).await?;
        forget_finished_tasks(db, config, now).await?;
    }
    Ok(done)
}

/// Finished HTTP tasks forgotten per pass, at most.
const FORGET_BATCH: i64 = 2_000;

/// Deletes finished tasks (with their attempts) kept past the retention of their outcome, as
/// the queue forgets finished jobs, once no name reservation needs their row. Not recovery, but
/// the same pass over the same table, on the workers that serve the `tasks` queue.
async fn forget_finished_tasks(db: &Db, config: &Config, now: i64) -> Result<(), RecoveryError> {
    let r = config.retention();
    let cutoff = |keep: std::time::Duration| now - ms(keep.as_secs());
    let cutoffs = crate::tasks::repo::Cutoffs {
        succeeded: cutoff(r.succeeded),
        cancelled: cutoff(r.cancelled),
        dead: cutoff(r.dead),
    };
    crate::tasks::repo::purge_finished(db, cutoffs, now, FORGET_BATCH).await?;
    Ok(())
}

/// HTTP tasks per pass (their bodies are read too).
const TASK_BATCH: i64 = 100;

/// Hands over open tasks not heard of since well after they were due, and reconciles the
/// rows whose job already finished (its final outcome was not written, say the worker died
/// between the two): the row takes the job's final state. The others are marked as heard of
/// now, so a task waiting its turn (a paused queue, a long attempt) is looked at once per
/// window, not on every pass.
async fn recover_tasks(
    db: &Db,
    out: &dyn Dispatch,
    config: &Config,
    before: i64,
) -> Result<usize, RecoveryError> {
    use crate::tasks::model::TaskStatus;
    let stalled = crate::tasks::repo::stalled(db, before, TASK_BATCH).await?;
    if stalled.is_empty() {
        return Ok(0);
    }
    let ids: Vec<_> = stalled.iter().map(|t| t.id.clone()).collect();
    let intents = stalled
        .iter()
        .map(|t| {
            Next::new(
                &t.tenant,
                Intent::DeliverTask(t.order()),
                t.request_id.clone(),
            )
        })
        .collect();
    let keep_name = std::time::Duration::from_secs(config.task_name_reservation_secs);
    let mut created = 0;
    let mut waiting = Vec::new();
    for (id, result) in ids.into_iter().zip(out.dispatch_many(intents).await) {
        let Enqueued { job, created: new } = result?;
        let settled = match job.state {
            JobState::Succeeded => Some(TaskStatus::Succeeded),
            JobState::Dead => Some(TaskStatus::Dead),
            JobState::Cancelled => Some(TaskStatus::Cancelled),
            _ => None,
        };
        match settled {
            Some(status) => {
                let at = job.finished_at.unwrap_or(job.updated_at);
                crate::tasks::repo::finish(db, &id, status, at, keep_name).await?;
            }
            None => waiting.push(id),
        }
        if new {
            tracing::warn!(job_id = %job.id, tenant = %job.tenant, "recovery: the queue had lost this task's job; enqueued it again");
            created += 1;
        }
    }
    crate::tasks::repo::touch(db, &waiting, now_ms()).await?;
    Ok(created)
}

/// Dispatches `intents`; returns how many jobs had to be created (the queue had lost them).
async fn hand_over(out: &dyn Dispatch, intents: Vec<Next>) -> Result<usize, QueueError> {
    if intents.is_empty() {
        return Ok(0);
    }
    let mut created = 0;
    for result in out.dispatch_many(intents).await {
        let Enqueued { job, created: new } = result?;
        if new {
            tracing::warn!(job_id = %job.id, job_type = %job.job_type, tenant = %job.tenant, "recovery: the queue had lost this record's job; enqueued it again");
            created += 1;
        }
    }
    Ok(created)
}

fn ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Sweeps forever (aborted with the worker runtime).
pub async fn run(
    db: Db,
    out: crate::intent::Dispatcher,
    config: std::sync::Arc<Config>,
    queues: Vec<String>,
) {
    let every = Duration::from_secs(config.recovery_after_secs.clamp(1, 5));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match sweep_once(&db, out.as_ref(), &config, &queues).await {
            Ok(r) if r != Recovered::default() => {
                for (kind, n) in [
                    ("email", r.emails),
                    ("document", r.documents),
                    ("batch", r.batches),
                    ("report", r.reports),
                    ("task", r.tasks),
                ] {
                    crate::metrics::recovered(kind, n);
                }
                tracing::warn!(?r, "recovery sweep re-created lost jobs")
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "recovery sweep failed; next pass retries"),
        }
    }
}
