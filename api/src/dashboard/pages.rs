//! The overview (queue depths and rates, refreshed by htmx, and 7 days of history from the
//! per-minute aggregates of `longshore_jobs::stats`) and the audit log.

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::AuditId;
use longshore_jobs::operator::audit as audit_log;
use longshore_jobs::queue::QUEUES;
use longshore_jobs::stats::{self, Counts};
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// Finished attempts of a queue over a window, from the per-minute aggregates.
#[derive(Debug, Serialize)]
struct Rate {
    done: i64,
    failed: i64,
    /// Failed attempts as a share of all, `12.5%`; absent without attempts.
    failure: Option<String>,
}

impl From<Counts> for Rate {
    fn from(c: Counts) -> Self {
        Rate {
            done: c.succeeded,
            failed: c.failed(),
            failure: c.failure_rate().map(|r| format!("{:.1}%", r * 100.0)),
        }
    }
}

#[derive(Debug, Serialize)]
struct QueueRow {
    name: &'static str,
    depth: Option<Depth>,
    /// Why there are no numbers.
    problem: Option<&'static str>,
    hour: Rate,
    day: Rate,
}

async fn queue_rows(state: &AppState) -> Vec<QueueRow> {
    let now = now_ms();
    let db = &state.services.db;
    let (hour, day) = match tokio::try_join!(
        stats::by_queue_since(db, now - HOUR_MS),
        stats::by_queue_since(db, now - 24 * HOUR_MS)
    ) {
        Ok(both) => both,
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: queue rates unavailable");
            Default::default()
        }
    };
    let rate =
        |of: &BTreeMap<String, Counts>, q: &str| Rate::from(of.get(q).copied().unwrap_or_default());
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
            hour: rate(&hour, name),
            day: rate(&day, name),
        });
    }
    rows
}

/// One hour of the history chart: a bar of the attempts that ended in it, its failed part on
/// top, in the SVG's units ([`CHART_HEIGHT`] high, [`BAR_WIDTH`] per hour).
#[derive(Debug, Serialize)]
struct Bar {
    x: i64,
    ok_y: f64,
    ok_h: f64,
    failed_y: f64,
    failed_h: f64,
    label: String,
}

/// Hours in the history chart.
const HISTORY_HOURS: i64 = 7 * 24;
const HOUR_MS: i64 = 3_600_000;
const CHART_HEIGHT: f64 = 120.0;
const BAR_WIDTH: i64 = 5;

/// The last 7 days, an hour a bar, scaled to the busiest hour; `None` without any run.
async fn history(state: &AppState) -> Result<Option<(Vec<Bar>, i64)>, PageError> {
    let now = now_ms();
    let first_hour = (now - HISTORY_HOURS * HOUR_MS).div_euclid(HOUR_MS) * 60;
    let hours = stats::history(&state.services.db, first_hour * 60_000, 60).await?;
    let busiest = hours.iter().map(|(_, c)| c.attempts()).max().unwrap_or(0);
    if busiest == 0 {
        return Ok(None);
    }
    let scale = CHART_HEIGHT / busiest as f64;
    let bars = hours
        .into_iter()
        .map(|(start, c)| {
            let ok = (c.attempts() - c.failed()) as f64 * scale;
            let failed = c.failed() as f64 * scale;
            Bar {
                x: (start - first_hour) / 60 * BAR_WIDTH,
                ok_y: CHART_HEIGHT - ok,
                ok_h: ok,
                failed_y: CHART_HEIGHT - ok - failed,
                failed_h: failed,
                label: format!(
                    "{} UTC: {} done, {} failed",
                    view::time(start * 60_000),
                    c.attempts() - c.failed(),
                    c.failed()
                ),
            }
        })
        .collect();
    Ok(Some((bars, busiest)))
}

#[handler]
pub async fn overview(session: Session, state: Data<&AppState>) -> Result<Response, PageError> {
    let (bars, busiest) = history(&state).await?.unwrap_or_default();
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "overview")),
        queues => view::v(queue_rows(&state).await),
        as_of => view::time(now_ms()),
        bars => view::v(&bars),
        busiest,
        chart_width => HISTORY_HOURS * BAR_WIDTH,
        chart_height => CHART_HEIGHT,
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
    let before = view::page_link::<AuditId>(&q.before)?;
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
