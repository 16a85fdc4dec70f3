//! The JSON shapes of the task-queue and HTTP-task APIs (Cloud Tasks' field names), and the
//! one mapping of their errors.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::queue::JobRecord;
use longshore_jobs::tasks::TasksError;
use longshore_jobs::tasks::input::{self, RateInput, RequestInput, RetryInput, TaskInput};
use longshore_jobs::tasks::model::{Attempt, QueueState, Task, TaskQueue, TaskRequest, TaskStatus};
use longshore_jobs::tasks::signing_keys::SigningKeyInfo;
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use super::jobs::JobStateView;
use crate::problem::ApiError;

impl From<TasksError> for ApiError {
    fn from(e: TasksError) -> Self {
        match e {
            TasksError::NoSuchQueue => ApiError::not_found("no such task queue"),
            TasksError::NoSuchTask => ApiError::not_found("no such task"),
            TasksError::QueueExists | TasksError::NameTaken | TasksError::NoSigningSecret => {
                ApiError::conflict(e.to_string())
            }
            TasksError::Invalid(i) => i.into(),
            TasksError::Seal(e) => {
                tracing::error!(error = %e, "the secrets key cannot be loaded");
                ApiError::unavailable("secrets key")
            }
            TasksError::Db(db) => db.into(),
            TasksError::Queue(q) => q.into(),
        }
    }
}

/// How a queue retries (Cloud Tasks' `retryConfig`). Durations are strings such as `"10s"` or
/// `"0.1s"`.
#[derive(Debug, Clone, Default, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfigBody {
    /// Attempts in all, the first included; -1 for no limit (default 100).
    #[oai(skip_serializing_if_is_none)]
    pub max_attempts: Option<i64>,
    /// The first retry's wait (default `"0.1s"`).
    #[oai(skip_serializing_if_is_none)]
    pub min_backoff: Option<String>,
    /// The longest wait between attempts (default `"3600s"`, at most 7 days).
    #[oai(skip_serializing_if_is_none)]
    pub max_backoff: Option<String>,
    /// How many times the wait doubles before it grows linearly (default 16).
    #[oai(skip_serializing_if_is_none)]
    pub max_doublings: Option<i64>,
    /// How long after the task was first due retrying may go on; `"0s"` for no limit
    /// (default). Retrying stops once every limit that is set is reached.
    #[oai(skip_serializing_if_is_none)]
    pub max_retry_duration: Option<String>,
}

/// How fast a queue dispatches (Cloud Tasks' `rateLimits`), held across every worker.
#[derive(Debug, Clone, Default, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsBody {
    /// Token-bucket rate (default 500).
    #[oai(skip_serializing_if_is_none)]
    pub max_dispatches_per_second: Option<f64>,
    /// Tokens the bucket holds: how many may go at once after a quiet spell (default 100).
    #[oai(skip_serializing_if_is_none)]
    pub max_burst_size: Option<i64>,
    /// Attempts under way at once (default 1000).
    #[oai(skip_serializing_if_is_none)]
    pub max_concurrent_dispatches: Option<i64>,
}

impl From<RetryConfigBody> for RetryInput {
    fn from(b: RetryConfigBody) -> Self {
        RetryInput {
            max_attempts: b.max_attempts,
            min_backoff: b.min_backoff,
            max_backoff: b.max_backoff,
            max_doublings: b.max_doublings,
            max_retry_duration: b.max_retry_duration,
        }
    }
}

impl From<RateLimitsBody> for RateInput {
    fn from(b: RateLimitsBody) -> Self {
        RateInput {
            max_dispatches_per_second: b.max_dispatches_per_second,
            max_burst_size: b.max_burst_size,
            max_concurrent_dispatches: b.max_concurrent_dispatches,
        }
    }
}

/// A new queue.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueBody {
    /// 1 to 100 letters, digits, `-` or `_`; unique per tenant.
    pub name: String,
    #[oai(skip_serializing_if_is_none)]
    pub retry_config: Option<RetryConfigBody>,
    #[oai(skip_serializing_if_is_none)]
    pub rate_limits: Option<RateLimitsBody>,
    /// Headers added to every request of the queue, e.g. `{"Authorization": "Bearer …"}` for
    /// the app to check. Sealed at rest and never shown again (only their names).
    #[oai(skip_serializing_if_is_none)]
    pub http_auth_headers: Option<BTreeMap<String, String>>,
}

/// A change to a queue's settings: send only what changes.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuePatch {
    #[oai(skip_serializing_if_is_none)]
    pub retry_config: Option<RetryConfigBody>,
    #[oai(skip_serializing_if_is_none)]
    pub rate_limits: Option<RateLimitsBody>,
    /// Replaces the queue's static headers (`{}` removes them).
    #[oai(skip_serializing_if_is_none)]
    pub http_auth_headers: Option<BTreeMap<String, String>>,
}

/// A queue's retry settings as they are.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct RetryConfigView {
    pub max_attempts: i64,
    pub min_backoff: String,
    pub max_backoff: String,
    pub max_doublings: u32,
    pub max_retry_duration: String,
}

/// A queue's rate limits as they are.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct RateLimitsView {
    pub max_dispatches_per_second: f64,
    pub max_burst_size: u32,
    pub max_concurrent_dispatches: u32,
}

/// A task queue.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    /// `running` or `paused`.
    pub state: QueueState,
    pub retry_config: RetryConfigView,
    pub rate_limits: RateLimitsView,
    /// When it was last purged.
    #[oai(skip_serializing_if_is_none)]
    pub purge_time: Option<DateTime<Utc>>,
    /// The names of the headers added to every request (their values are never shown).
    pub http_auth_header_names: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TaskQueue> for QueueView {
    fn from(q: TaskQueue) -> Self {
        QueueView {
            name: q.name,
            state: q.state,
            retry_config: RetryConfigView {
                max_attempts: q.retry.max_attempts,
                min_backoff: input::format_duration(q.retry.min_backoff),
                max_backoff: input::format_duration(q.retry.max_backoff),
                max_doublings: q.retry.max_doublings,
                max_retry_duration: input::format_duration(q.retry.max_retry_duration),
            },
            rate_limits: RateLimitsView {
                max_dispatches_per_second: q.rate.max_dispatches_per_second,
                max_burst_size: q.rate.max_burst_size,
                max_concurrent_dispatches: q.rate.max_concurrent_dispatches,
            },
            purge_time: q.purged_at.map(from_ms),
            http_auth_header_names: q.auth_headers.map(|h| h.names).unwrap_or_default(),
            created_at: from_ms(q.created_at),
            updated_at: from_ms(q.updated_at),
        }
    }
}

/// A page of queues, by name.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct QueueList {
    pub data: Vec<QueueView>,
    pub has_more: bool,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// How many tasks a purge or a bulk retry touched.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct CountView {
    pub count: u64,
}

/// The request a task sends (Cloud Tasks' `httpRequest`).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestBody {
    /// `http` or `https`. Non-public addresses are refused unless the operator allows them
    /// (`LONGSHORE_OUTBOUND_ALLOW`).
    pub url: String,
    /// `POST` (default), `GET`, `HEAD`, `PUT`, `DELETE`, `PATCH` or `OPTIONS`.
    #[oai(skip_serializing_if_is_none)]
    pub http_method: Option<String>,
    /// Headers sent as given (not `Host`, `Content-Length`, hop-by-hop headers, `webhook-*` or
    /// `Longshore-*`, which are Longshore's). Without `Content-Type`, a body is sent as
    /// `application/octet-stream`.
    #[oai(skip_serializing_if_is_none)]
    pub headers: Option<BTreeMap<String, String>>,
    /// The body, base64-encoded (as Cloud Tasks takes it); at most 1 MiB decoded.
    #[oai(skip_serializing_if_is_none)]
    pub body: Option<String>,
    /// Or the body as text (UTF-8); not both.
    #[oai(skip_serializing_if_is_none)]
    pub body_text: Option<String>,
}

/// A new task.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    /// The task queue (created with `POST /v1/queues`).
    pub queue: String,
    /// Optional, 1 to 500 letters, digits, `-` or `_`: a second task of this name in the queue
    /// is refused with 409 while it runs and for a day after it ends.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    pub http_request: HttpRequestBody,
    /// When to send it first (default now).
    #[oai(skip_serializing_if_is_none)]
    pub schedule_time: Option<DateTime<Utc>>,
    /// How long one attempt may take, `"15s"` to `"1800s"` (default `"600s"`).
    #[oai(skip_serializing_if_is_none)]
    pub dispatch_deadline: Option<String>,
}

impl From<HttpRequestBody> for RequestInput {
    fn from(b: HttpRequestBody) -> Self {
        RequestInput {
            url: Some(b.url),
            http_method: b.http_method,
            headers: b.headers.map(|h| h.into_iter().collect()),
            body: b.body,
            body_text: b.body_text,
        }
    }
}

impl From<TaskBody> for TaskInput {
    fn from(b: TaskBody) -> Self {
        TaskInput {
            queue: Some(b.queue),
            name: b.name,
            http_request: Some(b.http_request.into()),
            schedule_time: b.schedule_time.map(|t| t.timestamp_millis()),
            dispatch_deadline: b.dispatch_deadline,
        }
    }
}

/// How much of a task `GET /v1/tasks/{id}` shows (Cloud Tasks' `responseView`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ResponseView {
    /// Everything but the request's body (its size only).
    #[default]
    Basic,
    /// With the request's body too (`http_request.body`).
    Full,
}

impl From<TaskRequest> for HttpRequestView {
    /// The basic view (a schedule's task template shows this one).
    fn from(r: TaskRequest) -> Self {
        HttpRequestView::new(r, ResponseView::Basic)
    }
}

impl HttpRequestView {
    /// The view of a stored request: with its body (base64) only for `ResponseView::Full`.
    pub fn new(r: TaskRequest, view: ResponseView) -> Self {
        let body = (view == ResponseView::Full).then(|| r.body_base64());
        HttpRequestView {
            url: r.url,
            http_method: r.method,
            headers: r.headers.into_iter().collect(),
            body_bytes: r.body.len() as u64,
            body,
        }
    }
}

/// A task's request as stored: the body's size, and the body itself only with `view=full`.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct HttpRequestView {
    pub url: String,
    pub http_method: String,
    pub headers: BTreeMap<String, String>,
    pub body_bytes: u64,
    /// The body, base64-encoded (as Cloud Tasks shows it; `""` when empty): only on
    /// `GET /v1/tasks/{id}?view=full`.
    #[oai(skip_serializing_if_is_none)]
    pub body: Option<String>,
}

/// One attempt.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: i64,
    pub started_at: DateTime<Utc>,
    pub latency_ms: i64,
    /// The endpoint's status, when it answered.
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<u16>,
    /// Why the attempt failed (timeout, connection error, refused destination, status).
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// The first bytes of the answer's body.
    #[oai(skip_serializing_if_is_none)]
    pub response_excerpt: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        AttemptView {
            attempt: a.attempt,
            started_at: from_ms(a.started_at),
            latency_ms: a.latency_ms,
            status: a.status,
            error: a.error,
            response_excerpt: a.excerpt,
        }
    }
}

/// An HTTP task.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct TaskView {
    pub id: String,
    /// Its delivery job, also listed by `GET /v1/jobs`.
    pub job_id: String,
    pub queue: String,
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// `open` until it succeeds, dies or is cancelled.
    pub status: TaskStatus,
    /// Its job's state (`queued`, `running`, `retrying`, …) when the queue still has it.
    #[oai(skip_serializing_if_is_none)]
    pub job_state: Option<JobStateView>,
    pub http_request: HttpRequestView,
    pub schedule_time: DateTime<Utc>,
    pub dispatch_deadline: String,
    /// Attempts made so far.
    pub attempts: i64,
    #[oai(skip_serializing_if_is_none)]
    pub first_attempt_time: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_attempt_time: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_status: Option<u16>,
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Until when its name stays reserved, once it has finished.
    #[oai(skip_serializing_if_is_none)]
    pub name_reserved_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Every attempt, first to last (on `GET /v1/tasks/{id}` only).
    #[oai(skip_serializing_if_is_none)]
    pub attempt_log: Option<Vec<AttemptView>>,
}

impl TaskView {
    /// The view of `task`, with its job when known, its attempts when read and its request's
    /// body as `view` says.
    pub fn new(
        task: Task,
        job: Option<&JobRecord>,
        attempts: Option<Vec<Attempt>>,
        view: ResponseView,
    ) -> Self {
        TaskView {
            job_id: task.job_id().to_string(),
            id: task.id.to_string(),
            queue: task.queue,
            name: task.name,
            status: task.status,
            job_state: job.map(|j| j.state.into()),
            schedule_time: from_ms(task.schedule_time),
            dispatch_deadline: input::format_duration(task.request.dispatch_deadline),
            http_request: HttpRequestView::new(task.request, view),
            attempts: task.attempts,
            first_attempt_time: task.first_attempt_at.map(from_ms),
            last_attempt_time: task.last_attempt_at.map(from_ms),
            last_status: task.last_status,
            last_error: task.last_error,
            finished_at: task.finished_at.map(from_ms),
            name_reserved_until: task.name_reserved_until.map(from_ms),
            created_at: from_ms(task.created_at),
            attempt_log: attempts.map(|a| a.into_iter().map(AttemptView::from).collect()),
        }
    }
}

/// A page of tasks, newest first.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct TaskList {
    pub data: Vec<TaskView>,
    pub has_more: bool,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// The tenant's task signing secret. `secret` is present only in the answer that created or
/// rotated it: keep it then.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct SigningSecretView {
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs (requests carry both signatures meanwhile).
    #[oai(skip_serializing_if_is_none)]
    pub previous_valid_until: Option<DateTime<Utc>>,
}

impl SigningSecretView {
    pub fn new(info: SigningKeyInfo, secret: Option<String>) -> Self {
        SigningSecretView {
            secret,
            created_at: from_ms(info.created_at),
            rotated_at: info.rotated_at.map(from_ms),
            previous_valid_until: info.previous_valid_until.map(from_ms),
        }
    }
}
