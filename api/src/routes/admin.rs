//! `/v1/admin`: what operators do without a shell: tenants (create, list, disable, limits),
//! their API keys (create, list, revoke), and the audit log every one of these actions writes
//! to. Behind an operator key ([`OperatorAuth`]); a tenant key is refused.

use longshore_jobs::db::api_keys;
use longshore_jobs::db::tenants::{self, Tenant};
use longshore_jobs::ids::{ApiKeyId, AuditId, TenantId};
use longshore_jobs::operator::{self, audit};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::admin_views::{
    AuditList, CreateKey, CreateTenant, IssuedKeyView, KeyList, KeyView, RateLimitBody, TenantList,
    TenantView, check_name,
};
use crate::body::JsonBody;
use crate::operator_auth::OperatorAuth;
use crate::problem::ApiError;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum AdminTags {
    /// Operators only (`LONGSHORE_ADMIN_KEY`): tenants, their keys and limits, the audit log.
    Admin,
}

#[derive(ApiResponse)]
enum TenantCreated {
    /// Created.
    #[oai(status = 201)]
    Tenant(Json<TenantView>),
}

#[derive(ApiResponse)]
enum TenantFound {
    /// The tenant.
    #[oai(status = 200)]
    Tenant(Json<TenantView>),
}

#[derive(ApiResponse)]
enum TenantsListed {
    /// A page of tenants.
    #[oai(status = 200)]
    Tenants(Json<TenantList>),
}

#[derive(ApiResponse)]
enum KeyIssued {
    /// Created; the token is in this answer only.
    #[oai(status = 201)]
    Key(Json<IssuedKeyView>),
}

#[derive(ApiResponse)]
enum KeysListed {
    /// The tenant's keys.
    #[oai(status = 200)]
    Keys(Json<KeyList>),
}

#[derive(ApiResponse)]
enum KeyFound {
    /// The key.
    #[oai(status = 200)]
    Key(Json<KeyView>),
}

#[derive(ApiResponse)]
enum AuditListed {
    /// A page of the audit log.
    #[oai(status = 200)]
    Entries(Json<AuditList>),
}

fn no_tenant() -> ApiError {
    ApiError::not_found("no such tenant")
}

/// Splits `limit + 1` fetched rows into the page, the cursor past it and whether more follow.
fn one_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    id: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>, bool) {
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next = if has_more { rows.last().map(&id) } else { None };
    (rows, next, has_more)
}

/// The tenant as found, or 404.
fn found(tenant: Option<Tenant>) -> Result<TenantFound, ApiError> {
    let t = tenant.ok_or_else(no_tenant)?;
    Ok(TenantFound::Tenant(Json(t.into())))
}

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    raw.parse().map_err(|_| no_tenant())
}

/// The operators' API.
pub struct AdminApi;

#[OpenApi(prefix_path = "/v1/admin", tag = "AdminTags::Admin")]
impl AdminApi {
    /// Create a tenant.
    #[oai(path = "/tenants", method = "post")]
    async fn create_tenant(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        body: JsonBody<CreateTenant>,
    ) -> Result<TenantCreated, ApiError> {
        let body = body.value;
        check_name("name", &body.name)?;
        let limit = body.rate_limit.map(|l| l.parse("rate_limit")).transpose()?;
        let t = operator::tenants::create(&state.services.db, &auth.0, &body.name, limit).await?;
        Ok(TenantCreated::Tenant(Json(t.into())))
    }

    /// List tenants, oldest first.
    #[oai(path = "/tenants", method = "get")]
    async fn list_tenants(
        &self,
        state: Data<&AppState>,
        _auth: OperatorAuth,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TenantsListed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = id_cursor::<TenantId>(cursor.0)?;
        let rows = tenants::page(&state.services.db, cursor.as_ref(), limit + 1).await?;
        let (rows, next_cursor, has_more) = one_page(rows, limit, |t| t.id.to_string());
        Ok(TenantsListed::Tenants(Json(TenantList {
            data: rows.into_iter().map(Into::into).collect(),
            next_cursor,
            has_more,
        })))
    }

    /// A tenant.
    #[oai(path = "/tenants/:id", method = "get")]
    async fn get_tenant(
        &self,
        state: Data<&AppState>,
        _auth: OperatorAuth,
        id: Path<String>,
    ) -> Result<TenantFound, ApiError> {
        found(tenants::get(state.services.db.pool(), &tenant_id(&id.0)?).await?)
    }

    /// Disable a tenant: its keys are refused (within `LONGSHORE_AUTH_CACHE_SECS`); its data
    /// and queued work are kept. Disabling a disabled tenant changes nothing.
    #[oai(path = "/tenants/:id/disable", method = "post")]
    async fn disable_tenant(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        id: Path<String>,
    ) -> Result<TenantFound, ApiError> {
        let id = tenant_id(&id.0)?;
        found(operator::tenants::set_disabled(&state.services.db, &auth.0, &id, true).await?)
    }

    /// Enable a disabled tenant again.
    #[oai(path = "/tenants/:id/enable", method = "post")]
    async fn enable_tenant(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        id: Path<String>,
    ) -> Result<TenantFound, ApiError> {
        let id = tenant_id(&id.0)?;
        found(operator::tenants::set_disabled(&state.services.db, &auth.0, &id, false).await?)
    }

    /// Set a tenant's own request limit (per API key), in place of the deployment's default.
    #[oai(path = "/tenants/:id/rate-limit", method = "put")]
    async fn set_rate_limit(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        id: Path<String>,
        body: JsonBody<RateLimitBody>,
    ) -> Result<TenantFound, ApiError> {
        let id = tenant_id(&id.0)?;
        let limit = body.value.parse("")?;
        let db = &state.services.db;
        found(operator::tenants::set_rate_limit(db, &auth.0, &id, Some(limit)).await?)
    }

    /// Put a tenant back on the deployment's default request limit.
    #[oai(path = "/tenants/:id/rate-limit", method = "delete")]
    async fn clear_rate_limit(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        id: Path<String>,
    ) -> Result<TenantFound, ApiError> {
        let id = tenant_id(&id.0)?;
        found(operator::tenants::set_rate_limit(&state.services.db, &auth.0, &id, None).await?)
    }

    /// Create an API key for a tenant. The token is shown in this answer only.
    #[oai(path = "/tenants/:id/keys", method = "post")]
    async fn create_key(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        id: Path<String>,
        body: JsonBody<CreateKey>,
    ) -> Result<KeyIssued, ApiError> {
        let id = tenant_id(&id.0)?;
        let name = body.value.name.unwrap_or_else(|| "default".into());
        check_name("name", &name)?;
        let issued = operator::tenants::create_key(&state.services.db, &auth.0, &id, &name)
            .await?
            .ok_or_else(no_tenant)?;
        Ok(KeyIssued::Key(Json(IssuedKeyView {
            key: issued.key.into(),
            token: issued.token,
        })))
    }

    /// A tenant's keys, newest first (never their secrets).
    #[oai(path = "/tenants/:id/keys", method = "get")]
    async fn list_keys(
        &self,
        state: Data<&AppState>,
        _auth: OperatorAuth,
        id: Path<String>,
    ) -> Result<KeysListed, ApiError> {
        let id = tenant_id(&id.0)?;
        let db = &state.services.db;
        tenants::get(db.pool(), &id).await?.ok_or_else(no_tenant)?;
        let keys = api_keys::list(db, &id).await?;
        Ok(KeysListed::Keys(Json(KeyList {
            data: keys.into_iter().map(Into::into).collect(),
        })))
    }

    /// Revoke a key: refused from then on (within `LONGSHORE_AUTH_CACHE_SECS`). Revoking a
    /// revoked key changes nothing.
    #[oai(path = "/keys/:id/revoke", method = "post")]
    async fn revoke_key(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        id: Path<String>,
    ) -> Result<KeyFound, ApiError> {
        let no_key = || ApiError::not_found("no such key");
        let id: ApiKeyId = id.0.parse().map_err(|_| no_key())?;
        let db = &state.services.db;
        let key = match operator::tenants::revoke_key(db, &auth.0, &id).await? {
            Some(key) => key,
            None => api_keys::get(db, &id).await?.ok_or_else(no_key)?,
        };
        Ok(KeyFound::Key(Json(key.into())))
    }

    /// The audit log, newest first: every operator action, by whom, when and from where.
    #[oai(path = "/audit", method = "get")]
    async fn audit(
        &self,
        state: Data<&AppState>,
        _auth: OperatorAuth,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<AuditListed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = id_cursor::<AuditId>(cursor.0)?;
        let rows = audit::list(&state.services.db, cursor.as_ref(), limit + 1).await?;
        let (rows, next_cursor, has_more) = one_page(rows, limit, |e| e.id.to_string());
        Ok(AuditListed::Entries(Json(AuditList {
            data: rows.into_iter().map(Into::into).collect(),
            next_cursor,
            has_more,
        })))
    }
}
