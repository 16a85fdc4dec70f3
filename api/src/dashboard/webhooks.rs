//! Inbound payment webhooks: a tenant's recent gateway events (the inbox) and how each was
//! handled, through the inbox's own listing.

use longshore_jobs::ids::WebhookEventId;
use longshore_jobs::payments::ListQuery as InboxQuery;
use longshore_jobs::webhooks::inbox::{self, InboxEvent};
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::picker::{self, non_empty};
use super::session::Session;
use super::view::{self, Page};
use crate::state::AppState;

/// Events per page.
const EVENT_PAGE: i64 = 25;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    tenant: Option<String>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct EventView {
    id: String,
    endpoint: String,
    provider: String,
    event_id: String,
    event_type: String,
    status: &'static str,
    reason: Option<String>,
    payment: Option<String>,
    replays: i64,
    received_at: String,
    updated_at: String,
}

impl From<InboxEvent> for EventView {
    fn from(e: InboxEvent) -> Self {
        EventView {
            id: e.id.to_string(),
            endpoint: e.endpoint.to_string(),
            provider: e.provider,
            event_id: e.event_id,
            event_type: e.event_type,
            status: e.status.as_str(),
            reason: e.reason,
            payment: e.payment.map(|p| p.to_string()),
            replays: e.replays,
            received_at: view::time(e.received_at),
            updated_at: view::time(e.updated_at),
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
        let cursor = view::page_link::<WebhookEventId>(&q.cursor)?;
        let query = InboxQuery {
            status: None,
            cursor: cursor.map(|c| c.to_string()),
            limit: EVENT_PAGE,
        };
        let page = inbox::list(&state.services.db, &tenant, &query).await?;
        next_url = page.next_cursor.map(|c| {
            view::url_with(
                "/dashboard/webhooks",
                &[("tenant", Some(tenant.as_str())), ("cursor", Some(&c))],
            )
        });
        events = Some(
            page.items
                .into_iter()
                .map(EventView::from)
                .collect::<Vec<_>>(),
        );
    }
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "webhooks")),
        tenants => view::v(&tenants),
        selected_tenant => non_empty(&q.tenant).unwrap_or(""),
        events => view::v(&events),
        next_url,
    };
    view::html(StatusCode::OK, "dashboard/webhooks.html", ctx)
}
