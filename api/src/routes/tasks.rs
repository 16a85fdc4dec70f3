//! `/v1/queues`, `/v1/tasks` and `/v1/task-signing-secret`: HTTP tasks that call the tenant's
//! own endpoints, with Cloud Tasks' contract. Handlers call `longshore_jobs::tasks::service`.

use longshore_jobs::ids::{TaskId, TenantId};
use longshore_jobs::secret_box::{SealError, Sealer};
use longshore_jobs::tasks::model::{QueueState, TaskStatus, delivery_job_id};
use longshore_jobs::tasks::{service, signing_keys};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::task_views::{
    CountView, QueueBody, QueueList, QueuePatch, QueueView, ResponseView, SigningSecretView,
    TaskBody, TaskList, TaskView,
};
use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency::{self, WorkKey};
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::paging::{id_cursor, name_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum TasksTag {
    /// HTTP tasks: Longshore calls your endpoint with the task's request, signed, retried by
    /// its queue's policy (Cloud Tasks' contract).
    Tasks,
}

#[derive(ApiResponse)]
enum QueueCreated {
    /// Created.
    #[oai(status = 201)]
    Queue(Json<QueueView>),
}

#[derive(ApiResponse)]
enum QueueFound {
    /// The queue.
    #[oai(status = 200)]
    Queue(Json<QueueView>),
}

#[derive(ApiResponse)]
enum QueuesListed {
    /// A page of queues, by name.
    #[oai(status = 200)]
    Queues(Json<QueueList>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// Deleted; its unfinished tasks are cancelled.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum Counted {
    /// How many tasks were touched.
    #[oai(status = 200)]
    Count(Json<CountView>),
}

#[derive(ApiResponse)]
enum TaskCreated {
    /// Recorded and queued.
    #[oai(status = 201)]
    Task(Json<TaskView>),
}

#[derive(ApiResponse)]
enum TaskFound {
    /// The task.
    #[oai(status = 200)]
    Task(Json<TaskView>),
}

#[derive(ApiResponse)]
enum TasksListed {
    /// A page of tasks, newest first.
    #[oai(status = 200)]
    Tasks(Json<TaskList>),
}

#[derive(ApiResponse)]
enum SecretIssued {
    /// The new secret (shown this once).
    #[oai(status = 201)]
    Secret(Json<SigningSecretView>),
}

#[derive(ApiResponse)]
enum SecretFound {
    /// The secret's dates (never the secret).
    #[oai(status = 200)]
    Secret(Json<SigningSecretView>),
}

fn parse_task_id(raw: &str) -> Result<TaskId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("no such task"))
}

fn queue_name(raw: &str) -> Result<&str, ApiError> {
    longshore_jobs::tasks::input::check_queue_name("name", raw)
        .map(|()| raw)
        .map_err(|_| ApiError::not_found("no such task queue"))
}

/// The id of a created task: derived from the `Idempotency-Key` when there is one, so a retry
/// after a lost answer finds the same task instead of making a second.
fn task_id_for(work_key: Option<WorkKey>) -> TaskId {
    match work_key {
        Some(k) => TaskId::from_trusted(format!("task_idem-{}", k.as_str())),
        None => TaskId::new(),
    }
}

fn seal_error(e: SealError) -> ApiError {
    tracing::error!(error = %e, "the secrets key cannot be loaded");
    ApiError::unavailable("secrets key")
}

/// The HTTP-tasks API.
pub struct TasksApi {
    pub sealer: Sealer,
}

impl TasksApi {
    async fn view(
        state: &AppState,
        tenant: &TenantId,
        id: &TaskId,
        view: ResponseView,
    ) -> Result<TaskView, ApiError> {
        let (task, attempts) = service::get_task(&state.services.db, tenant, id).await?;
        let job = state
            .services
            .queue
            .get(tenant, &delivery_job_id(id))
            .await?;
        Ok(TaskView::new(task, job.as_ref(), Some(attempts), view))
    }
}

#[OpenApi(prefix_path = "/v1", tag = "TasksTag::Tasks")]
impl TasksApi {
    /// Create a task queue.
    ///
    /// Settings not given take Cloud Tasks' defaults (100 attempts, backoff 0.1 s to 1 h with
    /// 16 doublings, 500 dispatches/s, burst 100, 1000 at once). A bad setting is a 422 naming
    /// it; an existing name is a 409.
    #[oai(path = "/queues", method = "post")]
    async fn create_queue(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: JsonBody<QueueBody>,
    ) -> Result<QueueCreated, ApiError> {
        let b = body.value;
        let sealer = self.sealer.get().map_err(seal_error)?;
        let settings = service::QueueSettings {
            retry: b.retry_config.map(Into::into),
            rate: b.rate_limits.map(Into::into),
            auth_headers: b.http_auth_headers.map(|h| h.into_iter().collect()),
        };
        let queue =
            service::create_queue(&state.services.db, &sealer, &auth.0, &b.name, settings).await?;
        Ok(QueueCreated::Queue(Json(queue.into())))
    }

    /// List task queues, by name.
    #[oai(path = "/queues", method = "get")]
    async fn list_queues(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<QueuesListed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = name_cursor(cursor.0, |c| {
            longshore_jobs::tasks::input::check_queue_name("cursor", c).is_ok()
        })?;
        let (queues, next) =
            service::list_queues(&state.services.db, &auth.0, cursor.as_deref(), limit).await?;
        Ok(QueuesListed::Queues(Json(QueueList {
            data: queues.into_iter().map(QueueView::from).collect(),
            has_more: next.is_some(),
            next_cursor: next,
        })))
    }

    /// Get a task queue.
    #[oai(path = "/queues/:name", method = "get")]
    async fn get_queue(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<QueueFound, ApiError> {
        let queue = service::get_queue(&state.services.db, &auth.0, queue_name(&name.0)?).await?;
        Ok(QueueFound::Queue(Json(queue.into())))
    }

    /// Change a task queue's settings: send only what changes. Workers apply them within a
    /// second.
    #[oai(path = "/queues/:name", method = "patch")]
    async fn update_queue(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
        body: JsonBody<QueuePatch>,
    ) -> Result<QueueFound, ApiError> {
        let b = body.value;
        let sealer = self.sealer.get().map_err(seal_error)?;
        let settings = service::QueueSettings {
            retry: b.retry_config.map(Into::into),
            rate: b.rate_limits.map(Into::into),
            auth_headers: b.http_auth_headers.map(|h| h.into_iter().collect()),
        };
        let queue = service::update_queue(
            &state.services.db,
            &sealer,
            &auth.0,
            queue_name(&name.0)?,
            settings,
        )
        .await?;
        Ok(QueueFound::Queue(Json(queue.into())))
    }

    /// Delete a task queue: its unfinished tasks are cancelled as by a purge (finished ones
    /// stay readable).
    #[oai(path = "/queues/:name", method = "delete")]
    async fn delete_queue(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<Deleted, ApiError> {
        let s = &state.services;
        service::delete_queue(
            &s.db,
            s.queue.as_ref(),
            &auth.0,
            queue_name(&name.0)?,
            s.couriers.keep_name(),
        )
        .await?;
        Ok(Deleted::Done)
    }

    /// Pause a task queue: its tasks are kept and none is dispatched until it is resumed.
    #[oai(path = "/queues/:name/pause", method = "post")]
    async fn pause(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<QueueFound, ApiError> {
        let queue = service::set_state(
            &state.services.db,
            &auth.0,
            queue_name(&name.0)?,
            QueueState::Paused,
        )
        .await?;
        Ok(QueueFound::Queue(Json(queue.into())))
    }

    /// Resume a paused task queue (its waiting tasks go out within a few seconds).
    #[oai(path = "/queues/:name/resume", method = "post")]
    async fn resume(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<QueueFound, ApiError> {
        let queue = service::set_state(
            &state.services.db,
            &auth.0,
            queue_name(&name.0)?,
            QueueState::Running,
        )
        .await?;
        Ok(QueueFound::Queue(Json(queue.into())))
    }

    /// Purge a task queue: every task created until now that has not started is cancelled, and
    /// one being sent has its call abandoned and becomes `cancelled` within seconds (Cloud
    /// Tasks lets such a call finish). Answers how many were cancelled at once.
    #[oai(path = "/queues/:name/purge", method = "post")]
    async fn purge(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<Counted, ApiError> {
        let s = &state.services;
        let count = service::purge(
            &s.db,
            s.queue.as_ref(),
            &auth.0,
            queue_name(&name.0)?,
            s.couriers.keep_name(),
        )
        .await?;
        Ok(Counted::Count(Json(CountView {
            count: count as u64,
        })))
    }

    /// Create an HTTP task.
    ///
    /// Longshore sends `http_request` to its URL when `schedule_time` comes, signed
    /// (`webhook-id`, `webhook-timestamp`, `webhook-signature`), and retries by the queue's
    /// policy until the endpoint answers 2xx. An unknown `queue`, a bad or refused URL, a body
    /// over 1 MiB or a deadline out of range is a 422 naming the field; a reserved `name` is a
    /// 409. With an `Idempotency-Key`, repeating the request returns the same task.
    #[oai(path = "/tasks", method = "post")]
    async fn create_task(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<TaskBody>,
    ) -> Result<TaskCreated, ApiError> {
        let tenant = auth.0;
        let view = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/tasks",
            &body.sha256,
            201,
            |work_key| async {
                let s = &state.services;
                let creator = service::Creator {
                    db: &s.db,
                    out: s.out.as_ref(),
                    destinations: s.couriers.destinations(),
                };
                let task = service::create_task(
                    &creator,
                    &tenant,
                    task_id_for(work_key),
                    body.value.into(),
                    Some(request_id.0.0.clone()),
                )
                .await?;
                Ok(TaskView::new(task, None, None, ResponseView::Basic))
            },
        )
        .await?;
        Ok(TaskCreated::Task(Json(view)))
    }

    /// Get a task with its attempt log (time, status, latency, error, response excerpt of
    /// each attempt); with `view=full`, its request's body too.
    #[oai(path = "/tasks/:id", method = "get")]
    async fn get_task(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        /// `basic` (default): the request's body size only; `full`: the body too, base64 in
        /// `http_request.body` (Cloud Tasks' `responseView`).
        view: Query<Option<ResponseView>>,
    ) -> Result<TaskFound, ApiError> {
        let id = parse_task_id(&id.0)?;
        let view = view.0.unwrap_or_default();
        Ok(TaskFound::Task(Json(
            Self::view(&state, &auth.0, &id, view).await?,
        )))
    }

    /// List tasks, newest first, optionally of one queue and status.
    #[oai(path = "/tasks", method = "get")]
    async fn list_tasks(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only this queue's tasks.
        queue: Query<Option<String>>,
        /// Only tasks in this status (`open`, `succeeded`, `dead`, `cancelled`).
        status: Query<Option<TaskStatus>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TasksListed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = id_cursor::<TaskId>(cursor.0)?;
        let (tasks, next) = service::list_tasks(
            &state.services.db,
            &auth.0,
            queue.0.as_deref(),
            status.0,
            cursor.as_ref(),
            limit,
        )
        .await?;
        Ok(TasksListed::Tasks(Json(TaskList {
            has_more: next.is_some(),
            next_cursor: next,
            data: tasks
                .into_iter()
                .map(|t| TaskView::new(t, None, None, ResponseView::Basic))
                .collect(),
        })))
    }

    /// Cancel a task. One that has not started is `cancelled` at once; while its endpoint is
    /// being called, the call is abandoned within about a second and the task then becomes
    /// `cancelled` (this answer still shows it `open`).
    #[oai(path = "/tasks/:id/cancel", method = "post")]
    async fn cancel_task(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<TaskFound, ApiError> {
        let id = parse_task_id(&id.0)?;
        let s = &state.services;
        service::cancel_task(
            &s.db,
            s.queue.as_ref(),
            &auth.0,
            &id,
            s.couriers.keep_name(),
        )
        .await?;
        Ok(TaskFound::Task(Json(
            Self::view(&state, &auth.0, &id, ResponseView::Basic).await?,
        )))
    }

    /// Retry a dead task with a fresh attempt budget.
    #[oai(path = "/tasks/:id/retry", method = "post")]
    async fn retry_task(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<TaskFound, ApiError> {
        let id = parse_task_id(&id.0)?;
        let s = &state.services;
        service::retry_task(&s.db, s.queue.as_ref(), &auth.0, &id).await?;
        Ok(TaskFound::Task(Json(
            Self::view(&state, &auth.0, &id, ResponseView::Basic).await?,
        )))
    }

    /// Retry every dead task (of one queue, if given), each with a fresh attempt budget.
    #[oai(path = "/tasks/retry-dead", method = "post")]
    async fn retry_dead(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only this queue's dead tasks.
        queue: Query<Option<String>>,
    ) -> Result<Counted, ApiError> {
        let s = &state.services;
        let count =
            service::retry_dead_tasks(&s.db, s.queue.as_ref(), &auth.0, queue.0.as_deref()).await?;
        Ok(Counted::Count(Json(CountView {
            count: count as u64,
        })))
    }

    /// Create or rotate the secret that signs your tasks' requests.
    ///
    /// The answer carries the secret, this once. After a rotation the previous secret keeps
    /// signing too (each request carries both signatures) for
    /// `LONGSHORE_WEBHOOK_SECRET_OVERLAP_SECS` (a day by default).
    #[oai(path = "/task-signing-secret", method = "post")]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
    ) -> Result<SecretIssued, ApiError> {
        let sealer = self.sealer.get().map_err(seal_error)?;
        let s = &state.services;
        let overlap = i64::try_from(s.config.webhook_secret_overlap_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let secret = longshore_jobs::config::Secret::new(
            longshore_jobs::outbound::signing::generate_secret(),
        );
        let (info, secret) = signing_keys::rotate(&s.db, &sealer, &auth.0, secret, overlap)
            .await
            .map_err(|e| match e {
                signing_keys::SigningKeyError::Db(db) => ApiError::from(db),
                signing_keys::SigningKeyError::Seal(seal) => seal_error(seal),
            })?;
        Ok(SecretIssued::Secret(Json(SigningSecretView::new(
            info,
            Some(secret.expose().to_owned()),
        ))))
    }

    /// The task signing secret's dates (never the secret itself); 404 before one is created.
    #[oai(path = "/task-signing-secret", method = "get")]
    async fn get_secret(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
    ) -> Result<SecretFound, ApiError> {
        let info = signing_keys::info(&state.services.db, &auth.0)
            .await?
            .ok_or_else(|| ApiError::not_found("no task signing secret yet"))?;
        Ok(SecretFound::Secret(Json(SigningSecretView::new(
            info, None,
        ))))
    }
}
