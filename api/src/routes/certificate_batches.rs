//! `/v1/certificate-batches`: one certificate per recipient (up to 10,000), rendered in the
//! background, with progress counts. Recipients with an `email` get their certificate attached
//! once it is rendered (the batch's `email` template or subject and HTML, or a default message).

use chrono::{DateTime, NaiveDate, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::documents::batch_service::{self, BatchReport};
use longshore_jobs::documents::batches::BatchRequest;
use longshore_jobs::ids::BatchId;
use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

#[derive(Tags)]
enum BatchesTag {
    /// Certificate batches: many recipients, one request, progress as they render.
    CertificateBatches,
}

/// A certificate batch and its progress.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct BatchView {
    /// `cbat_…`
    pub id: String,
    /// `queued` (certificates being recorded), `rendering`, or `completed` (every certificate
    /// ready or failed).
    pub status: String,
    /// Recipients in the batch.
    pub total: u32,
    /// Certificates rendered and stored.
    pub rendered: u32,
    /// Certificate emails the mail server accepted (status `sent`).
    pub emailed: u32,
    /// Certificates that could not be rendered (see each document's `failure_reason`).
    pub failed: u32,
    /// Recipients with an email address (each gets one email once their certificate is ready).
    pub email_recipients: u32,
    /// Certificate emails that will not arrive: bounced, failed, suppressed, or not created
    /// (see the document's `email_error`, e.g. no sender default).
    pub email_failed: u32,
    pub course_title: String,
    pub issued_on: NaiveDate,
    /// The documents recorded so far, in recipient order.
    pub document_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<BatchReport> for BatchView {
    fn from(r: BatchReport) -> Self {
        let req = &r.batch.spec.request;
        BatchView {
            id: r.batch.id.to_string(),
            status: r.status.as_str().to_owned(),
            total: r.batch.total,
            rendered: r.progress.rendered,
            emailed: r.emailed,
            failed: r.progress.failed,
            email_recipients: r.email_recipients,
            email_failed: r.email_failed,
            course_title: req.course_title.clone(),
            issued_on: req.issued_on,
            document_ids: r.document_ids.iter().map(|d| d.to_string()).collect(),
            created_at: from_ms(r.batch.created_at),
        }
    }
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted: the batch is recorded and its certificates are being created.
    #[oai(status = 202)]
    Batch(Json<BatchView>),
}

#[derive(ApiResponse)]
enum Found {
    /// The batch.
    #[oai(status = 200)]
    Batch(Json<BatchView>),
}

/// The certificate batches API.
pub struct CertificateBatchesApi;

#[OpenApi(prefix_path = "/v1", tag = "BatchesTag::CertificateBatches")]
impl CertificateBatchesApi {
    /// Issue a certificate to each recipient.
    ///
    /// Up to 10,000 recipients. Each certificate becomes a document (kind `certificate`) with its
    /// own verification code. Recipients with an `email` get it attached once rendered, with the
    /// batch's `email` (a template, or `subject` + `html`; both may use `{{ recipient_name }}`,
    /// `{{ course_title }}`, `{{ verification_url }}`…) or a default message. With an
    /// `Idempotency-Key`, repeating the request returns the same batch.
    #[oai(path = "/certificate-batches", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<BatchRequest>,
    ) -> Result<Accepted, ApiError> {
        let tenant = auth.0;
        let request = body.value;
        let view = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/certificate-batches",
            &body.sha256,
            202,
            |work_key| async {
                let s = &state.services;
                let report = batch_service::create(
                    &s.db,
                    s.out.as_ref(),
                    &s.config.public_base(),
                    &tenant,
                    work_key.map(|k| k.id(BatchId::derived)),
                    request,
                    Some(request_id.0.0.clone()),
                )
                .await?;
                Ok(BatchView::from(report))
            },
        )
        .await?;
        Ok(Accepted::Batch(Json(view)))
    }

    /// Get a batch with its progress and document ids.
    #[oai(path = "/certificate-batches/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let id: BatchId =
            id.0.parse()
                .map_err(|_| ApiError::not_found("no such batch"))?;
        let report = batch_service::get(&state.services.db, &auth.0, &id)
            .await
            .map_err(|e| match e {
                longshore_jobs::documents::service::DocumentError::NotFound => {
                    ApiError::not_found("no such batch")
                }
                other => other.into(),
            })?;
        Ok(Found::Batch(Json(report.into())))
    }
}
