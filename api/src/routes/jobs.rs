//! `/v1/jobs`: submit, inspect, list, retry and cancel jobs.

use chrono::{DateTime, Utc};
use longshore_jobs::cancel;
use longshore_jobs::clock::from_ms;
use longshore_jobs::ids::JobId;
use longshore_jobs::queue::{JobFilter, JobRecord, JobState};
use longshore_jobs::submit::{self, JobRequest};
use longshore_jobs::tasks;
use longshore_jobs::tasks::model::task_of_job;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency::{self, WorkKey};
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::paging::page_limit;
use crate::state::AppState;

#[derive(Tags)]
enum JobsTag {
    /// Background jobs: submit, inspect, retry, cancel.
    Jobs,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, Enum, Serialize, Deserialize, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum JobStateView {
    Queued,
    Scheduled,
    Running,
    Retrying,
    Succeeded,
    Dead,
    Cancelled,
}

impl From<JobState> for JobStateView {
    fn from(s: JobState) -> Self {
        match s {
            JobState::Queued => JobStateView::Queued,
            JobState::Scheduled => JobStateView::Scheduled,
            JobState::Running => JobStateView::Running,
            JobState::Retrying => JobStateView::Retrying,
            JobState::Succeeded => JobStateView::Succeeded,
            JobState::Dead => JobStateView::Dead,
            JobState::Cancelled => JobStateView::Cancelled,
        }
    }
}

impl From<JobStateView> for JobState {
    fn from(s: JobStateView) -> Self {
        match s {
            JobStateView::Queued => JobState::Queued,
            JobStateView::Scheduled => JobState::Scheduled,
            JobStateView::Running => JobState::Running,
            JobStateView::Retrying => JobState::Retrying,
            JobStateView::Succeeded => JobState::Succeeded,
            JobStateView::Dead => JobState::Dead,
            JobStateView::Cancelled => JobState::Cancelled,
        }
    }
}

/// A job to run.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJob {
    /// A registered job type, e.g. `diagnostic.noop` or `diagnostic.sleep`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub job_type: String,
    /// The job type's payload; `{}` when omitted. `diagnostic.sleep`: `{"ms": ≤ 600000, "fail_times": n}`.
    #[serde(default)]
    #[oai(skip_serializing_if_is_none)]
    pub payload: Option<serde_json::Value>,
    /// Run no earlier than this time (RFC 3339); now when omitted.
    #[oai(skip_serializing_if_is_none)]
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before the job is dead, 1 to 25; the job type's default when omitted.
    #[oai(skip_serializing_if_is_none)]
    pub max_attempts: Option<u32>,
}

/// A job and where it stands.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct Job {
    /// `job_…`
    pub id: String,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub job_type: String,
    /// The queue that runs this type.
    pub queue: String,
    pub state: JobStateView,
    pub payload: serde_json::Value,
    /// Attempts started so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// When the job runs (or ran, or will be retried).
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub started_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The error of the latest failed attempt.
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    /// The `X-Request-Id` of the request that created the job.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
    /// When a cancel was asked for while the job was `running`: its worker stops it and it
    /// ends `cancelled` (or `succeeded`, if it finished first).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default)]
    pub cancel_requested_at: Option<DateTime<Utc>>,
}

impl From<JobRecord> for Job {
    fn from(r: JobRecord) -> Self {
        Job {
            id: r.id.to_string(),
            job_type: r.job_type,
            queue: r.queue,
            state: r.state.into(),
            payload: r.payload,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_at: from_ms(r.run_at),
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            started_at: r.started_at.map(from_ms),
            finished_at: r.finished_at.map(from_ms),
            last_error: r.last_error,
            request_id: r.request_id,
            cancel_requested_at: r.cancel_requested_at.map(from_ms),
        }
    }
}

/// A page of jobs, newest first.
#[derive(Debug, Object)]
pub struct JobList {
    pub data: Vec<Job>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted: the job is queued (or scheduled).
    #[oai(status = 202)]
    Job(Json<Job>),
}

#[derive(ApiResponse)]
enum Found {
    /// The job.
    #[oai(status = 200)]
    Job(Json<Job>),
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of jobs.
    #[oai(status = 200)]
    Jobs(Json<JobList>),
}

/// The jobs API.
pub struct JobsApi;

/// The id of a submitted job: chosen once per idempotent request, so that a retry after a lost
/// enqueue reply enqueues the same job again (enqueue is idempotent on the id) instead of a
/// second one; a fresh id without an `Idempotency-Key`.
fn job_id_for(work_key: Option<WorkKey>) -> JobId {
    match work_key {
        Some(k) => JobId::from_trusted(format!("{}_idem-{}", JobId::PREFIX, k.as_str())),
        None => JobId::new(),
    }
}

fn parse_job_id(raw: &str) -> Result<JobId, ApiError> {
    // An id that cannot exist is simply not found: no hint about the format is needed.
    raw.parse().map_err(|_| ApiError::not_found("no such job"))
}

#[OpenApi(prefix_path = "/v1", tag = "JobsTag::Jobs")]
impl JobsApi {
    /// Submit a job.
    ///
    /// With an `Idempotency-Key`, repeating the same request within 24 hours returns the first
    /// response (the same job); the same key with a different body is a 409.
    #[oai(path = "/jobs", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<CreateJob>,
    ) -> Result<Accepted, ApiError> {
        let tenant = auth.0;
        let request = JobRequest {
            job_type: body.value.job_type,
            payload: body.value.payload.unwrap_or_else(|| serde_json::json!({})),
            run_at: body.value.run_at,
            max_attempts: body.value.max_attempts,
        };
        let job = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/jobs",
            &body.sha256,
            202,
            |work_key| async {
                let enqueued = submit::submit(
                    &state.services,
                    &tenant,
                    job_id_for(work_key),
                    request,
                    Some(request_id.0.0.clone()),
                )
                .await?;
                Ok(Job::from(enqueued.job))
            },
        )
        .await?;
        Ok(Accepted::Job(Json(job)))
    }

    /// Get a job.
    #[oai(path = "/jobs/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let id = parse_job_id(&id.0)?;
        let job = state
            .services
            .queue
            .get(&auth.0, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("no such job"))?;
        Ok(Found::Job(Json(job.into())))
    }

    /// List jobs, newest first.
    #[oai(path = "/jobs", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only jobs in this state.
        #[oai(name = "state")]
        job_state: Query<Option<JobStateView>>,
        /// Only jobs of this type.
        #[oai(name = "type")]
        job_type: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Listed, ApiError> {
        let limit = page_limit(limit.0)?;
        let filter = JobFilter {
            state: job_state.0.map(Into::into),
            job_type: job_type.0,
        };
        let page = state
            .services
            .queue
            .list(&auth.0, &filter, cursor.0.as_deref(), limit)
            .await?;
        Ok(Listed::Jobs(Json(JobList {
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor,
            data: page.items.into_iter().map(Job::from).collect(),
        })))
    }

    /// Retry a dead job: it goes back to `queued` with a fresh attempt budget.
    #[oai(path = "/jobs/:id/retry", method = "post")]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let id = parse_job_id(&id.0)?;
        let s = &state.services;
        // An HTTP task's job: its task record follows (opened again first).
        let job = match task_of_job(&id) {
            Some(task) => {
                tasks::service::retry_task(&s.db, s.queue.as_ref(), &auth.0, &task).await?
            }
            None => s.queue.retry_dead(&auth.0, &id).await?,
        };
        Ok(Found::Job(Json(job.into())))
    }

    /// Cancel a job: one that has not started (`queued`, `scheduled` or `retrying`) is
    /// `cancelled` at once. A `running` one answers still `running`, with
    /// `cancel_requested_at`: within about a second its worker tells the handler, which stops
    /// (or is stopped after `LONGSHORE_CANCEL_GRACE_SECS`), and the job ends `cancelled` with
    /// nothing it had not committed applied; one that finished first keeps its outcome.
    ///
    /// Only the job types you submit yourself and HTTP tasks' jobs (`task.deliver`, cancelled
    /// with their task): Longshore's own jobs (`email.send`, `document.render`, …) are 409,
    /// naming the endpoint that cancels their record if any (`POST /v1/emails/{id}/cancel`).
    #[oai(path = "/jobs/:id/cancel", method = "post")]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let id = parse_job_id(&id.0)?;
        let s = &state.services;
        // An HTTP task is the tenant's own work: cancelled with its task record.
        if let Some(task) = task_of_job(&id) {
            let job = tasks::service::cancel_task(
                &s.db,
                s.queue.as_ref(),
                &auth.0,
                &task,
                s.couriers.keep_name(),
            )
            .await?;
            return Ok(Found::Job(Json(job.into())));
        }
        let found = state
            .services
            .queue
            .get(&auth.0, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("no such job"))?;
        if let Some(why) = cancel::refusal(longshore_jobs::job_types::registry(), &found) {
            return Err(ApiError::conflict(why));
        }
        let job = state.services.queue.cancel(&auth.0, &id).await?;
        Ok(Found::Job(Json(job.into())))
    }
}
