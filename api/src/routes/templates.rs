//! `/v1/templates`: a tenant's email templates (minijinja), checked for syntax when saved and
//! rendered when an email names them.

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::email::templates::{self, Template};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::problem::ApiError;
use crate::routes::paging::{name_cursor, page_limit};
use crate::state::AppState;

/// A template to create.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    /// Letters, digits, `.`, `_`, `-`; unique per tenant.
    pub name: String,
    /// The subject line, e.g. `Welcome, {{ name }}`.
    pub subject: String,
    /// The HTML body (auto-escaped).
    #[oai(skip_serializing_if_is_none)]
    pub html: Option<String>,
    /// The text body; derived from the rendered HTML when absent.
    #[oai(skip_serializing_if_is_none)]
    pub text: Option<String>,
}

/// A template's content (for `PUT`).
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateContent {
    pub subject: String,
    #[oai(skip_serializing_if_is_none)]
    pub html: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub text: Option<String>,
}

/// A stored template.
#[derive(Debug, Clone, Object, Serialize)]
pub struct TemplateView {
    pub name: String,
    pub subject: String,
    #[oai(skip_serializing_if_is_none)]
    pub html: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Template> for TemplateView {
    fn from(t: Template) -> Self {
        TemplateView {
            name: t.name,
            subject: t.subject,
            html: t.html,
            text: t.text,
            created_at: from_ms(t.created_at),
            updated_at: from_ms(t.updated_at),
        }
    }
}

/// A page of templates, by name.
#[derive(Debug, Object)]
pub struct TemplateList {
    pub data: Vec<TemplateView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(ApiResponse)]
enum Saved {
    /// Created.
    #[oai(status = 201)]
    Created(Json<TemplateView>),
    /// Replaced.
    #[oai(status = 200)]
    Replaced(Json<TemplateView>),
}

#[derive(ApiResponse)]
enum Found {
    /// The template.
    #[oai(status = 200)]
    Template(Json<TemplateView>),
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of templates.
    #[oai(status = 200)]
    Templates(Json<TemplateList>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// Deleted.
    #[oai(status = 204)]
    Done,
}

fn template(name: String, subject: String, html: Option<String>, text: Option<String>) -> Template {
    Template {
        name,
        subject,
        html,
        text,
        created_at: 0,
        updated_at: 0,
    }
}

async fn saved(
    state: &AppState,
    tenant: &longshore_jobs::ids::TenantId,
    name: &str,
) -> Result<TemplateView, ApiError> {
    let t = templates::get(&state.services.db, tenant, name).await?;
    t.map(TemplateView::from)
        .ok_or_else(|| ApiError::not_found("no such template"))
}

fn not_found() -> ApiError {
    ApiError::not_found("no such template")
}

/// The templates API.
pub struct TemplatesApi;

#[OpenApi(prefix_path = "/v1", tag = "super::emails::EmailTags::Email")]
impl TemplatesApi {
    /// Create a template (409 if the name is taken; syntax errors are 422 naming the part).
    #[oai(path = "/templates", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: JsonBody<CreateTemplate>,
    ) -> Result<Saved, ApiError> {
        let b = body.value;
        let t = template(b.name, b.subject, b.html, b.text);
        templates::check(&t)?;
        if !templates::insert(&state.services.db, &auth.0, &t).await? {
            return Err(ApiError::conflict(format!(
                "a template named `{}` exists; PUT /v1/templates/{} replaces it",
                t.name, t.name
            )));
        }
        Ok(Saved::Created(Json(saved(&state, &auth.0, &t.name).await?)))
    }

    /// Create or replace a template.
    #[oai(path = "/templates/:name", method = "put")]
    async fn put(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
        body: JsonBody<TemplateContent>,
    ) -> Result<Saved, ApiError> {
        let b = body.value;
        let t = template(name.0, b.subject, b.html, b.text);
        templates::check(&t)?;
        let created = templates::upsert(&state.services.db, &auth.0, &t).await?;
        let view = saved(&state, &auth.0, &t.name).await?;
        Ok(if created {
            Saved::Created(Json(view))
        } else {
            Saved::Replaced(Json(view))
        })
    }

    /// Get a template.
    #[oai(path = "/templates/:name", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<Found, ApiError> {
        if templates::check_name("name", &name.0).is_err() {
            return Err(not_found());
        }
        Ok(Found::Template(Json(
            saved(&state, &auth.0, &name.0).await?,
        )))
    }

    /// List templates by name.
    #[oai(path = "/templates", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Listed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = name_cursor(cursor.0, |c| {
            longshore_jobs::email::templates::check_name("cursor", c).is_ok()
        })?;
        let mut rows =
            templates::list(&state.services.db, &auth.0, cursor.as_deref(), limit + 1).await?;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|t| t.name.clone())
        } else {
            None
        };
        Ok(Listed::Templates(Json(TemplateList {
            has_more: next.is_some(),
            next_cursor: next,
            data: rows.into_iter().map(TemplateView::from).collect(),
        })))
    }

    /// Delete a template (emails already created keep their rendered content).
    #[oai(path = "/templates/:name", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<Deleted, ApiError> {
        if templates::delete(&state.services.db, &auth.0, &name.0).await? {
            Ok(Deleted::Done)
        } else {
            Err(not_found())
        }
    }
}
