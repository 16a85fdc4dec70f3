//! The tenant picker every per-tenant page shares (jobs, schedules, webhooks, events): the
//! tenants to choose from, and the chosen one read from the query.

use longshore_jobs::db::tenants;
use longshore_jobs::ids::TenantId;
use serde::Serialize;

use super::PageError;
use super::tenants::parse_tenant;
use crate::state::AppState;

/// One choice of the picker.
#[derive(Debug, Serialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

/// Every tenant, for the picker (`dashboard/tenant_picker.html`).
pub async fn choices(state: &AppState) -> Result<Vec<Choice>, PageError> {
    Ok(tenants::list(&state.services.db)
        .await?
        .into_iter()
        .map(|t| Choice {
            id: t.id.to_string(),
            name: t.name,
        })
        .collect())
}

/// A query value with surrounding blanks trimmed, `None` when empty.
pub fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The tenant chosen in the query, if any (an unknown id is a 404 page).
pub fn chosen(raw: &Option<String>) -> Result<Option<TenantId>, PageError> {
    non_empty(raw).map(parse_tenant).transpose()
}
