//! Tenants: the list (with their standing), a tenant's page with its keys, and disable/enable.

use longshore_jobs::db::api_keys;
use longshore_jobs::db::tenants::{self, RateLimit};
use longshore_jobs::ids::TenantId;
use longshore_jobs::operator;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::session::Session;
use super::view::{self, Page};
use crate::state::AppState;

/// Tenants per page.
const TENANT_PAGE: usize = 50;

#[derive(Debug, Serialize)]
struct TenantView {
    id: String,
    name: String,
    created_at: String,
    disabled_at: Option<String>,
    rate_limit: Option<String>,
}

fn limit_text(l: RateLimit) -> String {
    format!("{}/s, bursts of {}", l.per_second, l.burst)
}

impl From<tenants::Tenant> for TenantView {
    fn from(t: tenants::Tenant) -> Self {
        TenantView {
            id: t.id.to_string(),
            name: t.name,
            created_at: view::time(t.created_at),
            disabled_at: t.disabled_at.map(view::time),
            rate_limit: t.rate_limit.map(limit_text),
        }
    }
}

pub fn parse_tenant(raw: &str) -> Result<TenantId, PageError> {
    raw.parse()
        .map_err(|_| PageError::NotFound("no such tenant"))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

#[handler]
pub async fn list(
    session: Session,
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let after = view::page_link::<TenantId>(&q.after)?;
    let mut rows = tenants::page(&state.services.db, after.as_ref(), TENANT_PAGE + 1).await?;
    let more = rows.len() > TENANT_PAGE;
    rows.truncate(TENANT_PAGE);
    let next_url = more
        .then(|| rows.last())
        .flatten()
        .map(|t| view::url_with("/dashboard/tenants", &[("after", Some(t.id.as_str()))]));
    let tenants: Vec<TenantView> = rows.into_iter().map(Into::into).collect();
    let ctx = minijinja::context! { page => view::v(Page::of(&session, "tenants")), tenants => view::v(&tenants), next_url };
    view::html(StatusCode::OK, "dashboard/tenants.html", ctx)
}

#[derive(Debug, Serialize)]
struct KeyView {
    id: String,
    name: String,
    created_at: String,
    revoked_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[handler]
pub async fn detail(
    session: Session,
    state: Data<&AppState>,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let id = parse_tenant(&id)?;
    let db = &state.services.db;
    let tenant = tenants::get(db.pool(), &id)
        .await?
        .ok_or(PageError::NotFound("no such tenant"))?;
    let keys: Vec<KeyView> = api_keys::list(db, &id)
        .await?
        .into_iter()
        .map(|k| KeyView {
            id: k.id.to_string(),
            name: k.name,
            created_at: view::time(k.created_at),
            revoked_at: k.revoked_at.map(view::time),
        })
        .collect();
    let ctx = minijinja::context! {
        page => view::v(Page::of(&session, "tenants").with_notice(q.notice.as_deref())),
        tenant => view::v(TenantView::from(tenant)),
        keys => view::v(&keys),
    };
    view::html(StatusCode::OK, "dashboard/tenant.html", ctx)
}

async fn set_disabled(
    req: &Request,
    session: &Session,
    state: &AppState,
    id: &str,
    disabled: bool,
) -> Result<Response, PageError> {
    let id = parse_tenant(id)?;
    operator::tenants::set_disabled(&state.services.db, &session.actor(req), &id, disabled)
        .await?
        .ok_or(PageError::NotFound("no such tenant"))?;
    let notice = if disabled { "disabled" } else { "enabled" };
    Ok(view::see_other(&view::url_with(
        &format!("/dashboard/tenants/{id}"),
        &[("notice", Some(notice))],
    )))
}

#[handler]
pub async fn disable(
    req: &Request,
    session: Session,
    state: Data<&AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_disabled(req, &session, &state, &id, true).await
}

#[handler]
pub async fn enable(
    req: &Request,
    session: Session,
    state: Data<&AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_disabled(req, &session, &state, &id, false).await
}
