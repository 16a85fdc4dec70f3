//! `/v1/emails`: send transactional email in the background and follow what became of it.
//! Handlers call `longshore_jobs::email::service`, which the workers share.

use longshore_jobs::email::model::{Counters, EmailStatus};
use longshore_jobs::email::service::{self, EmailError};
use longshore_jobs::ids::EmailId;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::email_views::{CreateEmail, EmailList, EmailView};
use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
pub(crate) enum EmailTags {
    /// Transactional email: send, follow delivery, opens and clicks; templates; suppressions.
    Email,
}

impl From<EmailError> for ApiError {
    fn from(e: EmailError) -> Self {
        match e {
            EmailError::Invalid(i) => i.into(),
            EmailError::NotFound(what) => ApiError::not_found(what),
            EmailError::Conflict(why) => ApiError::conflict(why),
            EmailError::Db(db) => db.into(),
            EmailError::Queue(q) => q.into(),
            EmailError::Storage(s) => {
                tracing::warn!(error = %s, "email attachment storage error");
                ApiError::unavailable("file storage")
            }
        }
    }
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted: the email is recorded and its send job queued (or scheduled for `send_at`).
    #[oai(status = 202)]
    Email(Json<EmailView>),
}

#[derive(ApiResponse)]
enum Found {
    /// The email.
    #[oai(status = 200)]
    Email(Json<EmailView>),
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of emails.
    #[oai(status = 200)]
    Emails(Json<EmailList>),
}

fn parse_id(raw: &str) -> Result<EmailId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such email"))
}

/// The emails API.
pub struct EmailsApi;

#[OpenApi(prefix_path = "/v1", tag = "EmailTags::Email")]
impl EmailsApi {
    /// Send an email.
    ///
    /// Give `template` (+ `variables`) or `subject` with `html` and/or `text`. Addresses are
    /// checked (422 names the field), templates rendered (a missing variable is a 422).
    /// Attachments are ready documents of yours (`document_id`) or files given inline
    /// (`filename`, `content_type`, base64 `content`; stored by Longshore, never echoed back).
    /// With an `Idempotency-Key`, repeating the request within 24 hours returns the same email.
    #[oai(path = "/emails", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<CreateEmail>,
    ) -> Result<Accepted, ApiError> {
        let tenant = auth.0;
        let request = body.value.into();
        let email = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/emails",
            &body.sha256,
            202,
            |work_key| async {
                let s = &state.services;
                let creator = service::Creator {
                    db: &s.db,
                    out: s.out.as_ref(),
                    documents: &s.pdfs(),
                    storage: s.storage.as_ref(),
                };
                let email = creator
                    .create(
                        &tenant,
                        work_key.map(|k| k.id(EmailId::derived)),
                        request,
                        Some(request_id.0.0.clone()),
                    )
                    .await?;
                Ok(EmailView::summary(email, Counters::default()))
            },
        )
        .await?;
        Ok(Accepted::Email(Json(email)))
    }

    /// Get an email: status, attempts, the last SMTP reply, counters and every event.
    #[oai(path = "/emails/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let (email, counters, events) =
            service::get(&state.services.db, &auth.0, &parse_id(&id.0)?).await?;
        Ok(Found::Email(Json(EmailView::full(email, counters, events))))
    }

    /// List emails, newest first.
    #[oai(path = "/emails", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only emails in this status.
        status: Query<Option<EmailStatus>>,
        /// Only emails with this tag.
        tag: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Listed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = id_cursor::<EmailId>(cursor.0)?;
        let (emails, next) = service::list(
            &state.services.db,
            &auth.0,
            status.0,
            tag.0.as_deref(),
            cursor.as_ref().map(|c| c.as_str()),
            limit,
        )
        .await?;
        Ok(Listed::Emails(Json(EmailList {
            has_more: next.is_some(),
            next_cursor: next,
            data: emails
                .into_iter()
                .map(|(e, c)| EmailView::summary(e, c))
                .collect(),
        })))
    }

    /// Cancel an email that has not been sent (`queued` or `deferred`); 409 otherwise.
    #[oai(path = "/emails/:id/cancel", method = "post")]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let email = service::cancel(
            &state.services.db,
            state.services.queue.as_ref(),
            &auth.0,
            &parse_id(&id.0)?,
        )
        .await?;
        let counters =
            longshore_jobs::email::event_store::counters(&state.services.db, &auth.0, &email.id)
                .await?;
        Ok(Found::Email(Json(EmailView::summary(email, counters))))
    }
}

/// Every email-related API, for the OpenAPI service tuple.
pub type EmailApis = (
    EmailsApi,
    super::templates::TemplatesApi,
    super::suppressions::SuppressionsApi,
    super::suppressions::EmailSettingsApi,
);

/// The email-related APIs.
pub fn email_apis() -> EmailApis {
    (
        EmailsApi,
        super::templates::TemplatesApi,
        super::suppressions::SuppressionsApi,
        super::suppressions::EmailSettingsApi,
    )
}
