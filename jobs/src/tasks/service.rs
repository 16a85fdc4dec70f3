//! What the API does with task queues and tasks: check, record, hand over.
//!
//! A task is recorded before its delivery is handed to the queue, under a job id derived from
//! it, so a queue that loses the job is repaired by the recovery sweep (`crate::recovery`).

use std::time::Duration;

use super::input::{ParsedTask, RateInput, RetryInput, TaskInput, apply_settings};
use super::model::{
    Attempt, QueueState, RateLimits, SealedHeaders, Task, TaskQueue, TaskStatus, TaskTemplate,
    delivery_job_id,
};
use super::policy::RetryConfig;
use super::repo::InsertError;
use super::{queues, repo};
use crate::clock::now_ms;
use crate::config::Secret;
use crate::db::{Db, DbError};
use crate::ids::{ScheduleId, TaskId, TenantId};
use crate::intent::{Dispatch, Intent, Next};
use crate::outbound::Destinations;
use crate::queue::{JobRecord, JobState, Queue, QueueError};
use crate::secret_box::{SealError, SecretBox};
use crate::validation::Invalid;

/// Why a task-queue operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum TasksError {
    #[error("no such task queue")]
    NoSuchQueue,
    #[error("no such task")]
    NoSuchTask,
    #[error("a task queue of that name already exists")]
    QueueExists,
    /// The task's name is reserved in its queue (live, or finished less than the reservation
    /// period ago).
    #[error("a task of that name exists in this queue, or finished too recently to reuse it")]
    NameTaken,
    /// Tasks are signed; the tenant must create its signing secret first.
    #[error(
        "the tenant has no task signing secret yet: create one with POST /v1/task-signing-secret"
    )]
    NoSigningSecret,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The master key that seals a queue's headers is missing or wrong: the operator's problem.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// A queue's settings as received; what is absent keeps its current (or default) value.
#[derive(Debug, Clone, Default)]
pub struct QueueSettings {
    pub retry: Option<RetryInput>,
    pub rate: Option<RateInput>,
    /// Headers added to every request (empty: none any more).
    pub auth_headers: Option<Vec<(String, String)>>,
}

/// The associated data a queue's headers are sealed with.
pub fn headers_context(tenant: &TenantId, queue: &str) -> String {
    format!("longshore/task-queue/{tenant}/{queue}")
}

/// Applies `settings` over `queue`, checking and sealing what was given.
fn apply(
    queue: &mut TaskQueue,
    settings: QueueSettings,
    sealer: &SecretBox,
) -> Result<(), TasksError> {
    (queue.retry, queue.rate) =
        apply_settings((queue.retry, queue.rate), settings.retry, settings.rate)?;
    if let Some(headers) = settings.auth_headers {
        super::input::check_auth_headers(&headers)?;
        queue.auth_headers = if headers.is_empty() {
            None
        } else {
            let json =
                serde_json::to_string(&headers).map_err(|e| DbError::Internal(e.to_string()))?;
            let context = headers_context(&queue.tenant, &queue.name);
            Some(SealedHeaders {
                names: headers.iter().map(|(k, _)| k.clone()).collect(),
                sealed: sealer.seal(&Secret::new(json), &context)?,
            })
        };
    }
    Ok(())
}

/// A new queue's settings: Cloud Tasks' defaults overridden by what was given.
pub async fn create_queue(
    db: &Db,
    sealer: &SecretBox,
    tenant: &TenantId,
    name: &str,
    settings: QueueSettings,
) -> Result<TaskQueue, TasksError> {
    super::input::check_queue_name("name", name).map_err(|e| Invalid(vec![e]))?;
    let now = now_ms();
    let mut queue = TaskQueue {
        tenant: tenant.clone(),
        name: name.to_owned(),
        retry: RetryConfig::default(),
        rate: RateLimits::default(),
        state: QueueState::Running,
        purged_at: None,
        auth_headers: None,
        created_at: now,
        updated_at: now,
    };
    apply(&mut queue, settings, sealer)?;
    match queues::insert(db, &queue).await {
        Ok(()) => Ok(queue),
        Err(DbError::Conflict(_)) => Err(TasksError::QueueExists),
        Err(e) => Err(e.into()),
    }
}

/// One of the tenant's queues.
pub async fn get_queue(db: &Db, tenant: &TenantId, name: &str) -> Result<TaskQueue, TasksError> {
    queues::get(db, tenant, name)
        .await?
        .ok_or(TasksError::NoSuchQueue)
}

/// A page of the tenant's queues by name, after `after`; the next page's cursor when there is
/// one.
pub async fn list_queues(
    db: &Db,
    tenant: &TenantId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<TaskQueue>, Option<String>), TasksError> {
    let mut rows = queues::list(db, tenant, after, limit).await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last().map(|q| q.name.clone())
    });
    Ok((rows, next.flatten()))
}

/// Changes a queue's settings (only what was given).
pub async fn update_queue(
    db: &Db,
    sealer: &SecretBox,
    tenant: &TenantId,
    name: &str,
    settings: QueueSettings,
) -> Result<TaskQueue, TasksError> {
    let mut queue = get_queue(db, tenant, name).await?;
    apply(&mut queue, settings, sealer)?;
    store(db, queue).await
}

/// Pauses or resumes a queue: a paused queue keeps its tasks and dispatches none.
pub async fn set_state(
    db: &Db,
    tenant: &TenantId,
    name: &str,
    state: QueueState,
) -> Result<TaskQueue, TasksError> {
    let mut queue = get_queue(db, tenant, name).await?;
    queue.state = state;
    store(db, queue).await
}

async fn store(db: &Db, mut queue: TaskQueue) -> Result<TaskQueue, TasksError> {
    if !queues::update(db, &queue).await? {
        return Err(TasksError::NoSuchQueue);
    }
    queue.updated_at = now_ms();
    Ok(queue)
}

/// Tasks cancelled per round of a purge.
const PURGE_ROUND: i64 = 500;

/// Cancels every task of the queue created until now that has not started, and asks those being
/// sent to stop (their workers settle them `cancelled`; Cloud Tasks lets such a call finish,
/// but an operator purging a queue wants its endpoint left alone). Returns how many were
/// cancelled at once.
pub async fn purge(
    db: &Db,
    jobs: &dyn Queue,
    tenant: &TenantId,
    name: &str,
    keep_name: Duration,
) -> Result<usize, TasksError> {
    let mut queue = get_queue(db, tenant, name).await?;
    let now = now_ms();
    queue.purged_at = Some(now);
    store(db, queue).await?;
    let mut cancelled = 0;
    let mut skipped = std::collections::HashSet::new();
    loop {
        let ids =
            repo::open_in_queue(db, tenant, name, now, PURGE_ROUND + skipped.len() as i64).await?;
        let fresh: Vec<TaskId> = ids.into_iter().filter(|id| !skipped.contains(id)).collect();
        if fresh.is_empty() {
            return Ok(cancelled);
        }
        for id in fresh {
            match jobs.cancel(tenant, &delivery_job_id(&id)).await {
                // Running now: asked to stop; its worker settles its row when it has.
                Ok(job) if job.state == JobState::Running => {
                    skipped.insert(id);
                }
                // Lost by the queue: nothing will run it, so it is cancelled all the same.
                Ok(_) | Err(QueueError::NotFound) => {
                    if repo::finish(db, &id, TaskStatus::Cancelled, now_ms(), keep_name).await? {
                        cancelled += 1;
                    }
                }
                // Running now (it finishes), or already finished (its row catches up).
                Err(QueueError::InvalidState(_)) => {
                    skipped.insert(id);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Deletes a queue after purging it (its finished tasks stay readable).
pub async fn delete_queue(
    db: &Db,
    jobs: &dyn Queue,
    tenant: &TenantId,
    name: &str,
    keep_name: Duration,
) -> Result<(), TasksError> {
    purge(db, jobs, tenant, name, keep_name).await?;
    if queues::delete(db, tenant, name).await? {
        Ok(())
    } else {
        Err(TasksError::NoSuchQueue)
    }
}

/// What creating a task needs.
pub struct Creator<'a> {
    pub db: &'a Db,
    pub out: &'a dyn Dispatch,
    pub destinations: &'a Destinations,
}

/// Checks, records and hands over a new task under `id`. Idempotent on the id (an API retry
/// with the same `Idempotency-Key` derives the same one): a task already recorded under it is
/// handed over again and returned.
pub async fn create_task(
    c: &Creator<'_>,
    tenant: &TenantId,
    id: TaskId,
    input: TaskInput,
    request_id: Option<String>,
) -> Result<Task, TasksError> {
    let ParsedTask {
        queue,
        name,
        request,
        schedule_time,
    } = input.parse()?;
    let url = url::Url::parse(&request.url)
        .map_err(|e| Invalid::one("http_request.url", format!("is not a URL: {e}")))?;
    c.destinations
        .check_url(&url)
        .map_err(|refused| Invalid::one("http_request.url", refused.to_string()))?;
    if queues::get(c.db, tenant, &queue).await?.is_none() {
        return Err(Invalid::one("queue", format!("no task queue named {queue:?}")).into());
    }
    if super::signing_keys::info(c.db, tenant).await?.is_none() {
        return Err(TasksError::NoSigningSecret);
    }
    let now = now_ms();
    let due_at = schedule_time.unwrap_or(now).max(now);
    let template = TaskTemplate { queue, request };
    let task = Task::accepted(id, tenant.clone(), name, template, due_at, request_id, now);
    record_and_hand_over(c.db, c.out, task).await
}

/// Records `task` (or finds it recorded under its id already) and hands its delivery over
/// while it is open.
async fn record_and_hand_over(db: &Db, out: &dyn Dispatch, task: Task) -> Result<Task, TasksError> {
    let task = match repo::insert(db, &task).await {
        Ok(()) => task,
        Err(InsertError::Conflict) => match repo::get(db, &task.tenant, &task.id).await? {
            Some(recorded) => recorded,
            None => return Err(TasksError::NameTaken),
        },
        Err(InsertError::Db(e)) => return Err(e.into()),
    };
    if task.status == TaskStatus::Open {
        let next = Next::new(
            &task.tenant,
            Intent::DeliverTask(task.order()),
            task.request_id.clone(),
        );
        out.dispatch(next).await?;
    }
    Ok(task)
}

/// A task created from a schedule's template now, out of band: a fresh id, no name.
pub async fn record_now(
    db: &Db,
    out: &dyn Dispatch,
    tenant: &TenantId,
    template: &TaskTemplate,
    request_id: Option<String>,
) -> Result<Task, TasksError> {
    let now = now_ms();
    let task = Task::accepted(
        TaskId::new(),
        tenant.clone(),
        None,
        template.clone(),
        now,
        request_id,
        now,
    );
    record_and_hand_over(db, out, task).await
}

/// The task a schedule's tick creates, due now. Its id and name derive from the schedule and
/// the tick, so every scheduler that handles the tick records the same task: it runs once.
pub async fn record_tick(
    db: &Db,
    out: &dyn Dispatch,
    tenant: &TenantId,
    schedule: &ScheduleId,
    template: &TaskTemplate,
    tick_ms: i64,
) -> Result<Task, TasksError> {
    let suffix = schedule.as_str().trim_start_matches("sch_");
    let now = now_ms();
    let task = Task::accepted(
        TaskId::from_trusted(format!("task_{suffix}-{tick_ms}")),
        tenant.clone(),
        Some(format!("{schedule}-{tick_ms}")),
        template.clone(),
        now,
        None,
        now,
    );
    record_and_hand_over(db, out, task).await
}

/// One task and its attempts.
pub async fn get_task(
    db: &Db,
    tenant: &TenantId,
    id: &TaskId,
) -> Result<(Task, Vec<Attempt>), TasksError> {
    let task = repo::get(db, tenant, id)
        .await?
        .ok_or(TasksError::NoSuchTask)?;
    let attempts = repo::attempts(db, id).await?;
    Ok((task, attempts))
}

/// A page of the tenant's tasks, newest first; the next page's cursor when there is one.
pub async fn list_tasks(
    db: &Db,
    tenant: &TenantId,
    queue: Option<&str>,
    status: Option<TaskStatus>,
    before: Option<&TaskId>,
    limit: usize,
) -> Result<(Vec<Task>, Option<String>), TasksError> {
    let mut rows = repo::list(db, tenant, queue, status, before, limit).await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last().map(|t| t.id.to_string())
    });
    Ok((rows, next.flatten()))
}

/// Cancels a task: at once when it has not started (its job `queued`, `scheduled` or
/// `retrying`); when its endpoint is being called, the call is abandoned by its worker, which
/// then settles the row `cancelled` (the job returned is `running` with `cancel_requested_at`).
pub async fn cancel_task(
    db: &Db,
    jobs: &dyn Queue,
    tenant: &TenantId,
    id: &TaskId,
    keep_name: Duration,
) -> Result<JobRecord, TasksError> {
    let job = jobs.cancel(tenant, &delivery_job_id(id)).await?;
    if job.state == JobState::Cancelled {
        repo::finish(db, id, TaskStatus::Cancelled, now_ms(), keep_name).await?;
    }
    Ok(job)
}

/// Retries a dead task with a fresh attempt budget: its row is opened first (so a crash in
/// between leaves an open row whose dead job the recovery sweep reconciles), then its job.
pub async fn retry_task(
    db: &Db,
    jobs: &dyn Queue,
    tenant: &TenantId,
    id: &TaskId,
) -> Result<JobRecord, TasksError> {
    let job_id = delivery_job_id(id);
    match jobs.get(tenant, &job_id).await? {
        Some(job) if job.state == JobState::Dead => {}
        Some(job) => return Err(QueueError::InvalidState(job.state).into()),
        None => return Err(TasksError::NoSuchTask),
    }
    repo::reopen(db, tenant, id).await?;
    Ok(jobs.retry_dead(tenant, &job_id).await?)
}

/// Dead tasks retried per round of [`retry_dead_tasks`].
const RETRY_ROUND: usize = 100;

/// Retries every dead task of the tenant (of one queue, if given); returns how many.
pub async fn retry_dead_tasks(
    db: &Db,
    jobs: &dyn Queue,
    tenant: &TenantId,
    queue: Option<&str>,
) -> Result<usize, TasksError> {
    let mut retried = 0;
    loop {
        // Each retried task leaves the `dead` set, so every round reads the first page again.
        let dead = repo::list(db, tenant, queue, Some(TaskStatus::Dead), None, RETRY_ROUND).await?;
        if dead.is_empty() {
            return Ok(retried);
        }
        let round = dead.len();
        for task in dead.into_iter().take(RETRY_ROUND) {
            match retry_task(db, jobs, tenant, &task.id).await {
                Ok(_) => retried += 1,
                // The queue forgot the job (retention) or it is not dead: open it from the row.
                Err(TasksError::NoSuchTask)
                | Err(TasksError::Queue(QueueError::InvalidState(_))) => {
                    repo::reopen(db, tenant, &task.id).await?;
                    retried += 1;
                }
                Err(e) => return Err(e),
            }
        }
        if round < RETRY_ROUND {
            return Ok(retried);
        }
    }
}
