//! Jobs: a tenant's jobs (filtered by state and type, paged with the queue's cursor, with the
//! bulk actions on every matching job, see [`super::operations`]), "find by id", a job's page
//! (payload, attempts, last error, request id, worker), and its actions: retry a dead job,
//! cancel one that has not started (the jobs API's rule of which jobs may be).

use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::operator::bulk::{BulkAction, BulkFilter, refusal};
use longshore_jobs::operator::dashboard::{self as actions, can_retry, cancel_refusal};
use longshore_jobs::queue::{JobFilter, JobRecord, JobState};
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::picker::{self, non_empty};
use super::session::Session;
use super::tenants::parse_tenant;
use super::view::{self, Page};
use crate::state::AppState;

/// Jobs per page.
const JOB_PAGE: usize = 25;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    tenant: Option<String>,
    state: Option<String>,
    #[serde(rename = "type")]
    job_type: Option<String>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct JobView {
    id: String,
    tenant: String,
    job_type: String,
    queue: String,
    state: &'static str,
    attempts: u32,
    max_attempts: u32,
    run_at: String,
    created_at: String,
    updated_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    last_error: Option<String>,
    request_id: Option<String>,
    worker: Option<String>,
}

impl From<&JobRecord> for JobView {
    fn from(j: &JobRecord) -> Self {
        JobView {
            id: j.id.to_string(),
            tenant: j.tenant.to_string(),
            job_type: j.job_type.clone(),
            queue: j.queue.clone(),
            state: j.state.as_str(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: view::time(j.run_at),
            created_at: view::time(j.created_at),
            updated_at: view::time(j.updated_at),
            started_at: j.started_at.map(view::time),
            finished_at: j.finished_at.map(view::time),
            last_error: j.last_error.clone(),
            request_id: j.request_id.clone(),
            worker: j.worker.clone(),
        }
    }
}

/// How many matching jobs the "Retry all N" button counts at most (in pages of 100).
const COUNT_CAP: usize = 1000;

/// How many of `tenant`'s jobs match `filter`, up to [`COUNT_CAP`] (`None` beyond it).
async fn count_matching(
    state: &AppState,
    tenant: &TenantId,
    filter: &JobFilter,
) -> Result<Option<usize>, PageError> {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = state
            .services
            .queue
            .list(tenant, filter, cursor.as_deref(), 100)
            .await?;
        n += page.items.len();
        if n > COUNT_CAP {
            return Ok(None);
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(Some(n)),
        }
    }
}

#[handler]
pub async fn list(
    session: Session,
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let tenant_choices = picker::choices(&state).await?;
    let job_state = non_empty(&q.state)
        .map(|s| {
            s.parse::<JobState>()
                .map_err(|_| PageError::BadRequest(format!("`{s}` is not a job state")))
        })
        .transpose()?;
    let job_type = non_empty(&q.job_type);
    let mut jobs = None;
    let mut next_url = None;
    let mut bulk = None;
    if let Some(tenant) = picker::chosen(&q.tenant)? {
        let filter = JobFilter {
            state: job_state,
            job_type: job_type.map(str::to_owned),
        };
        let page = state
            .services
            .queue
            .list(&tenant, &filter, non_empty(&q.cursor), JOB_PAGE)
            .await?;
        next_url = page.next_cursor.as_deref().map(|c| {
            view::url_with(
                "/dashboard/jobs",
                &[
                    ("tenant", Some(tenant.as_str())),
                    ("state", non_empty(&q.state)),
                    ("type", job_type),
                    ("cursor", Some(c)),
                ],
            )
        });
        if !page.items.is_empty() {
            let bulk_filter = BulkFilter {
                state: job_state,
                job_type: filter.job_type.clone(),
            };
            let retry_count = if refusal(BulkAction::Retry, &bulk_filter).is_none() {
                Some(match count_matching(&state, &tenant, &filter).await? {
                    Some(n) => n.to_string(),
                    None => format!("{COUNT_CAP}+"),
                })
            } else {
                None
            };
            bulk = Some(minijinja::context! {
                retry_count,
                can_cancel => refusal(BulkAction::Cancel, &bulk_filter).is_none(),
            });
        }
        jobs = Some(page.items.iter().map(JobView::from).collect::<Vec<_>>());
    }
    let states: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "jobs")),
        tenants => view::v(&tenant_choices),
        selected_tenant => non_empty(&q.tenant).unwrap_or(""),
        states,
        filter => minijinja::context! {
            state => non_empty(&q.state).unwrap_or(""),
            type => job_type.unwrap_or(""),
        },
        jobs => view::v(&jobs),
        bulk,
        next_url,
    };
    view::html(StatusCode::OK, "dashboard/jobs.html", ctx)
}

#[derive(Debug, Default, Deserialize)]
pub struct FindQuery {
    tenant: Option<String>,
    id: Option<String>,
}

/// "Find by id": the job's page when the chosen tenant has a job with that id, a 404 page
/// saying so otherwise.
#[handler]
pub async fn find(
    _session: Session,
    state: Data<&AppState>,
    Query(q): Query<FindQuery>,
) -> Result<Response, PageError> {
    let tenant = picker::chosen(&q.tenant)?
        .ok_or_else(|| PageError::BadRequest("choose a tenant to find a job in".into()))?;
    let raw =
        non_empty(&q.id).ok_or_else(|| PageError::BadRequest("enter a job id (job_…)".into()))?;
    const MISSING: &str = "no job with that id for this tenant";
    let id: JobId = raw.parse().map_err(|_| PageError::NotFound(MISSING))?;
    let job = state
        .services
        .queue
        .get(&tenant, &id)
        .await?
        .ok_or(PageError::NotFound(MISSING))?;
    Ok(view::see_other(&format!(
        "/dashboard/jobs/{}/{}",
        job.tenant, job.id
    )))
}

fn parse_job(raw: &str) -> Result<JobId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound("no such job"))
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[handler]
pub async fn detail(
    session: Session,
    state: Data<&AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let tenant = parse_tenant(&tenant)?;
    let id = parse_job(&id)?;
    let job = state
        .services
        .queue
        .get(&tenant, &id)
        .await?
        .ok_or(PageError::NotFound("no such job"))?;
    let payload = serde_json::to_string_pretty(&job.payload)
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let refusal = cancel_refusal(&job);
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "jobs").with_notice(q.notice.as_deref())),
        job => view::v(JobView::from(&job)),
        payload,
        can_retry => can_retry(&job),
        can_cancel => refusal.is_none(),
        cancel_refusal => refusal,
    };
    view::html(StatusCode::OK, "dashboard/job.html", ctx)
}

fn back_to(job: &JobRecord, notice: &str) -> Response {
    view::see_other(&view::url_with(
        &format!("/dashboard/jobs/{}/{}", job.tenant, job.id),
        &[("notice", Some(notice))],
    ))
}

#[handler]
pub async fn retry(
    req: &Request,
    session: Session,
    state: Data<&AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let tenant = parse_tenant(&tenant)?;
    let id = parse_job(&id)?;
    let job = actions::retry_job(&state.services, &session.actor(req), &tenant, &id).await?;
    Ok(back_to(&job, "retried"))
}

#[handler]
pub async fn cancel(
    req: &Request,
    session: Session,
    state: Data<&AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let tenant = parse_tenant(&tenant)?;
    let id = parse_job(&id)?;
    let job = actions::cancel_job(&state.services, &session.actor(req), &tenant, &id).await?;
    let notice = if job.state == JobState::Running {
        "asked to stop: its worker cancels it within seconds"
    } else {
        "cancelled"
    };
    Ok(back_to(&job, notice))
}
