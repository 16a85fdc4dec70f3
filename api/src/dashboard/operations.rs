//! Bulk operations: started from the jobs page ("Retry all N matching", "Cancel all
//! matching"), each with a page that follows its progress (htmx polls a fragment every second
//! until it ends), and the list of operations. The work itself is
//! [`longshore_jobs::operator::bulk`].

use longshore_jobs::ids::BulkOperationId;
use longshore_jobs::operator::bulk::{self, BulkAction, BulkError, BulkFilter, BulkOperation};
use longshore_jobs::queue::JobState;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::session::Session;
use super::tenants::parse_tenant;
use super::view::{self, Form, Page};
use crate::state::AppState;

/// Operations per page of the list.
const OPERATION_PAGE: usize = 50;

#[derive(Debug, Serialize)]
struct OperationView {
    id: String,
    operator: String,
    action: &'static str,
    tenant: String,
    state_filter: String,
    type_filter: String,
    state: &'static str,
    running: bool,
    processed: i64,
    succeeded: i64,
    skipped: i64,
    error: Option<String>,
    created_at: String,
    updated_at: String,
    finished_at: Option<String>,
}

impl From<&BulkOperation> for OperationView {
    fn from(op: &BulkOperation) -> Self {
        OperationView {
            id: op.id.to_string(),
            operator: op.operator.clone(),
            action: op.action.as_str(),
            tenant: op.tenant.to_string(),
            state_filter: op.filter.state.map_or("any", JobState::as_str).to_owned(),
            type_filter: op.filter.job_type.clone().unwrap_or_else(|| "any".into()),
            state: op.state.as_str(),
            running: op.state == bulk::BulkState::Running,
            processed: op.processed,
            succeeded: op.succeeded,
            skipped: op.skipped,
            error: op.error.clone(),
            created_at: view::time(op.created_at),
            updated_at: view::time(op.updated_at),
            finished_at: op.finished_at.map(view::time),
        }
    }
}

fn parse_id(raw: &str) -> Result<BulkOperationId, PageError> {
    raw.parse()
        .map_err(|_| PageError::NotFound("no such operation"))
}

fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.get(name).map(str::trim).filter(|v| !v.is_empty())
}

/// `POST /dashboard/operations` (`action`, `tenant`, `state`, `type`): starts the operation and
/// sends the operator to its page.
#[handler]
pub async fn start(
    req: &Request,
    session: Session,
    state: Data<&AppState>,
    form: Form,
) -> Result<Response, PageError> {
    let action: BulkAction = field(&form, "action")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| PageError::BadRequest("the action must be retry or cancel".into()))?;
    let tenant = parse_tenant(
        field(&form, "tenant").ok_or_else(|| PageError::BadRequest("choose a tenant".into()))?,
    )?;
    let job_state = field(&form, "state")
        .map(|s| {
            s.parse::<JobState>()
                .map_err(|_| PageError::BadRequest(format!("`{s}` is not a job state")))
        })
        .transpose()?;
    let filter = BulkFilter {
        state: job_state,
        job_type: field(&form, "type").map(str::to_owned),
    };
    let op = bulk::start(
        &state.services,
        &session.actor(req),
        action,
        &tenant,
        filter,
    )
    .await
    .map_err(|e| match e {
        BulkError::Refused(why) => PageError::Conflict(why),
        BulkError::Db(db) => db.into(),
    })?;
    Ok(view::see_other(&format!("/dashboard/operations/{}", op.id)))
}

async fn find(state: &AppState, id: &str) -> Result<OperationView, PageError> {
    let id = parse_id(id)?;
    let op = bulk::get(&state.services.db, &id)
        .await?
        .ok_or(PageError::NotFound("no such operation"))?;
    Ok(OperationView::from(&op))
}

#[handler]
pub async fn detail(
    session: Session,
    state: Data<&AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let op = find(&state, &id).await?;
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "operations")),
        op => view::v(&op),
    };
    view::html(StatusCode::OK, "dashboard/operation.html", ctx)
}

/// Only the progress block, for the operation page's htmx poll (which stops once it ends).
#[handler]
pub async fn progress(
    _session: Session,
    state: Data<&AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let op = find(&state, &id).await?;
    view::html(
        StatusCode::OK,
        "dashboard/operation_progress.html",
        minijinja::context! { op => view::v(&op) },
    )
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    before: Option<String>,
}

#[handler]
pub async fn list(
    session: Session,
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let before = view::page_link::<BulkOperationId>(&q.before)?;
    let mut ops = bulk::list(&state.services.db, before.as_ref(), OPERATION_PAGE + 1).await?;
    let more = ops.len() > OPERATION_PAGE;
    ops.truncate(OPERATION_PAGE);
    let next_url = more
        .then(|| ops.last())
        .flatten()
        .map(|o| view::url_with("/dashboard/operations", &[("before", Some(o.id.as_str()))]));
    let views: Vec<OperationView> = ops.iter().map(OperationView::from).collect();
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "operations")),
        operations => view::v(&views),
        next_url,
    };
    view::html(StatusCode::OK, "dashboard/operations.html", ctx)
}
