//! The overview (queue depths, refreshed by htmx) and the audit log.

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::AuditId;
use longshore_jobs::operator::audit as audit_log;
use longshore_jobs::queue::QUEUES;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::session::Session;
use super::view::{self, Page};
use crate::state::AppState;

/// Audit entries per page.
const AUDIT_PAGE: usize = 50;

#[derive(Debug, Serialize)]
struct Depth {
    ready: u64,
    delayed: u64,
    running: u64,
    oldest: Option<String>,
}

#[derive(Debug, Serialize)]
struct QueueRow {
    name: &'static str,
    depth: Option<Depth>,
    /// Why there are no numbers.
    problem: Option<&'static str>,
}

async fn queue_rows(state: &AppState) -> Vec<QueueRow> {
    let mut rows = Vec::with_capacity(QUEUES.len());
    for name in QUEUES {
        let (depth, problem) = match state.services.queue.depth(name).await {
            Ok(Some(d)) => (
                Some(Depth {
                    ready: d.ready,
                    delayed: d.delayed,
                    running: d.running,
                    oldest: d.oldest_ready_age_ms.map(view::age),
                }),
                None,
            ),
            Ok(None) => (None, Some("not reported by this queue backend")),
            Err(e) => {
                tracing::warn!(queue = name, error = %e, "dashboard: queue depth unavailable");
                (None, Some("unavailable"))
            }
        };
        rows.push(QueueRow {
            name,
            depth,
            problem,
        });
    }
    rows
}

#[handler]
pub async fn overview(session: Session, state: Data<&AppState>) -> Result<Response, PageError> {
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "overview")),
        queues => view::v(queue_rows(&state).await),
        as_of => view::time(now_ms()),
    };
    view::html(StatusCode::OK, "dashboard/overview.html", ctx)
}

/// Only the table, for the overview's htmx poll.
#[handler]
pub async fn queues_fragment(
    _session: Session,
    state: Data<&AppState>,
) -> Result<Response, PageError> {
    let ctx = minijinja::context! {
        queues => view::v(queue_rows(&state).await),
        as_of => view::time(now_ms()),
    };
    view::html(StatusCode::OK, "dashboard/queues_table.html", ctx)
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<String>,
}

#[derive(Debug, Serialize)]
struct EntryView {
    at: String,
    operator: String,
    action: &'static str,
    target: Option<String>,
    detail: String,
    client_ip: Option<String>,
}

#[handler]
pub async fn audit(
    session: Session,
    state: Data<&AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let before = match q.before.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => Some(
            b.parse::<AuditId>()
                .map_err(|_| PageError::BadRequest("that page link is not valid".into()))?,
        ),
        None => None,
    };
    let mut rows = audit_log::list(&state.services.db, before.as_ref(), AUDIT_PAGE + 1).await?;
    let more = rows.len() > AUDIT_PAGE;
    rows.truncate(AUDIT_PAGE);
    let next_url = more
        .then(|| rows.last())
        .flatten()
        .map(|e| view::url_with("/dashboard/audit", &[("before", Some(e.id.as_str()))]));
    let entries: Vec<EntryView> = rows
        .into_iter()
        .map(|e| EntryView {
            at: view::time(e.at),
            operator: e.actor.operator,
            action: e.action.as_str(),
            target: e.target,
            detail: e.detail.to_string(),
            client_ip: e.actor.client_ip,
        })
        .collect();
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "audit")),
        entries => view::v(&entries),
        next_url,
    };
    view::html(StatusCode::OK, "dashboard/audit.html", ctx)
}
