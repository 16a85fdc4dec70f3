//! Events sent to tenants' apps: a tenant's recent events, each with its deliveries to the
//! tenant's endpoints (state, attempts, the last answer), through the events domain's own
//! listing.

use chrono::{DateTime, Utc};
use longshore_jobs::events::deliveries;
use longshore_jobs::events::model::Delivery;
use longshore_jobs::events::service;
use longshore_jobs::ids::EventId;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::picker::{self, non_empty};
use super::session::Session;
use super::view::{self, Page};
use crate::state::AppState;

/// Events per page (each read with its deliveries).
const EVENT_PAGE: usize = 25;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    tenant: Option<String>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct DeliveryView {
    endpoint: String,
    status: &'static str,
    attempts: i64,
    last_attempt_at: Option<String>,
    next_attempt_at: Option<String>,
    last_status: Option<i64>,
    last_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct EventView {
    id: String,
    kind: &'static str,
    resource: Option<String>,
    created_at: String,
    deliveries: Vec<DeliveryView>,
}

fn time(t: DateTime<Utc>) -> String {
    view::time(t.timestamp_millis())
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            endpoint: d.endpoint.to_string(),
            status: d.status.as_str(),
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at.map(time),
            next_attempt_at: d.next_attempt_at.map(time),
            last_status: d.last_status,
            last_error: d.last_error,
        }
    }
}

#[handler]
pub async fn list(
    session: Session,
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let tenants = picker::choices(&state).await?;
    let mut events = None;
    let mut next_url = None;
    if let Some(tenant) = picker::chosen(&q.tenant)? {
        let cursor = view::page_link::<EventId>(&q.cursor)?;
        let db = &state.services.db;
        let (found, next) =
            service::list(db, &tenant, None, None, cursor.as_ref(), EVENT_PAGE).await?;
        let mut views = Vec::with_capacity(found.len());
        for e in found {
            let sent = deliveries::of_event(db, &tenant, &e.id).await?;
            views.push(EventView {
                id: e.id.to_string(),
                kind: e.kind.as_str(),
                resource: e.resource_id,
                created_at: time(e.created_at),
                deliveries: sent.into_iter().map(DeliveryView::from).collect(),
            });
        }
        next_url = next.map(|c| {
            view::url_with(
                "/dashboard/events",
                &[("tenant", Some(tenant.as_str())), ("cursor", Some(&c))],
            )
        });
        events = Some(views);
    }
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "events")),
        tenants => view::v(&tenants),
        selected_tenant => non_empty(&q.tenant).unwrap_or(""),
        events => view::v(&events),
        next_url,
    };
    view::html(StatusCode::OK, "dashboard/events.html", ctx)
}
