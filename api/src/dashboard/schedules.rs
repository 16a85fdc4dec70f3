//! Schedules: a tenant's cron schedules (expression, time zone, next run, what each run does,
//! and how the last run went), through the schedules domain's own listing.

use longshore_jobs::ids::ScheduleId;
use longshore_jobs::reports::ReportsError;
use longshore_jobs::reports::repo as reports;
use longshore_jobs::schedules::model::{Schedule, Target};
use longshore_jobs::schedules::service;
use longshore_jobs::tasks::repo as tasks;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::picker::{self, non_empty};
use super::session::Session;
use super::view::{self, Page};
use crate::state::AppState;

/// Schedules per page.
const SCHEDULE_PAGE: usize = 25;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    tenant: Option<String>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct ScheduleView {
    id: String,
    name: String,
    cron: String,
    timezone: String,
    enabled: bool,
    /// In UTC, and in the schedule's zone.
    next_run: Option<String>,
    next_run_local: Option<String>,
    /// What each run does, in a few words.
    does: String,
    last_run: Option<String>,
    /// The last run's report or task and where it stands.
    last_outcome: Option<String>,
    fired: i64,
    missed: i64,
    skipped: i64,
}

fn local_time(s: &Schedule, ms: i64) -> String {
    longshore_jobs::clock::from_ms(ms)
        .with_timezone(&s.timezone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// How the schedule's last run went: its report's status, or its task's.
async fn last_outcome(state: &AppState, s: &Schedule) -> Result<Option<String>, PageError> {
    let db = &state.services.db;
    if let Some(report) = &s.last_report {
        return Ok(Some(match reports::get(db, &s.tenant, report).await? {
            Some(r) => format!("report {} {}", r.id, r.status.as_str()),
            None => format!("report {report} (no longer kept)"),
        }));
    }
    if let Some(task) = &s.last_task {
        return Ok(Some(match tasks::get(db, &s.tenant, task).await? {
            Some(t) => format!("task {} {}", t.id, t.status.as_str()),
            None => format!("task {task} (no longer kept)"),
        }));
    }
    Ok(None)
}

async fn view_of(state: &AppState, s: Schedule) -> Result<ScheduleView, PageError> {
    let last_outcome = last_outcome(state, &s).await?;
    let does = match &s.target {
        Target::Report {
            kind,
            period,
            recipients,
        } => format!(
            "{} report ({}) to {}",
            kind.as_str(),
            period.as_str(),
            if recipients.is_empty() {
                "nobody".to_owned()
            } else {
                recipients.join(", ")
            }
        ),
        Target::Task(t) => format!(
            "HTTP task on queue {}: {} {}",
            t.queue, t.request.method, t.request.url
        ),
    };
    let next = s.next_run_at.filter(|_| s.enabled);
    Ok(ScheduleView {
        id: s.id.to_string(),
        name: s.name.clone(),
        cron: s.cron.as_str().to_owned(),
        timezone: s.timezone.name().to_owned(),
        enabled: s.enabled,
        next_run: next.map(view::time),
        next_run_local: next.map(|n| local_time(&s, n)),
        does,
        last_run: s.last_tick_at.map(view::time),
        last_outcome,
        fired: s.fired,
        missed: s.missed,
        skipped: s.skipped,
    })
}

#[handler]
pub async fn list(
    session: Session,
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let tenants = picker::choices(&state).await?;
    let mut schedules = None;
    let mut next_url = None;
    if let Some(tenant) = picker::chosen(&q.tenant)? {
        let cursor = view::page_link::<ScheduleId>(&q.cursor)?;
        let (items, next) = service::list(
            &state.services.db,
            &tenant,
            cursor.as_ref().map(ScheduleId::as_str),
            SCHEDULE_PAGE,
        )
        .await
        .map_err(|e| match e {
            ReportsError::Db(db) => db.into(),
            other => PageError::Internal(other.to_string()),
        })?;
        let mut views = Vec::with_capacity(items.len());
        for s in items {
            views.push(view_of(&state, s).await?);
        }
        next_url = next.map(|c| {
            view::url_with(
                "/dashboard/schedules",
                &[("tenant", Some(tenant.as_str())), ("cursor", Some(&c))],
            )
        });
        schedules = Some(views);
    }
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "schedules")),
        tenants => view::v(&tenants),
        selected_tenant => non_empty(&q.tenant).unwrap_or(""),
        schedules => view::v(&schedules),
        next_url,
    };
    view::html(StatusCode::OK, "dashboard/schedules.html", ctx)
}
