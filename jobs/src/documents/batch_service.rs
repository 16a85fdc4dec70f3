//! Certificate batches for the API: record and enqueue the expand job (or nothing: the row is
//! removed again if the enqueue fails), and report progress from the documents' statuses.
//!
//! A batch created under an id the caller derived (from an `Idempotency-Key`) is created once,
//! as documents are (see [`super::service`]): creating it again returns the recorded batch and
//! hands its expansion over again while it is not expanded; its row is kept when the dispatch
//! fails, for the retry or the recovery sweep to hand over. Its certificates' ids derive from
//! the batch id, so however often it expands there is one certificate per recipient.

use super::batches::{self, BatchEmail, BatchRequest, BatchSpec, Expansion, Progress};
use super::repo;
use super::service::DocumentError;
use crate::db::Db;
use crate::email::templates;
use crate::ids::{BatchId, DocumentId, TenantId};
use crate::intent::{Dispatch, Intent, Next};
use crate::validation::Invalid;

/// Where a batch stands, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    /// Recorded; its certificates are not all recorded yet.
    Queued,
    /// Certificates are being rendered.
    Rendering,
    /// Every certificate is ready or failed.
    Completed,
}

impl BatchStatus {
    /// The name the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Queued => "queued",
            BatchStatus::Rendering => "rendering",
            BatchStatus::Completed => "completed",
        }
    }
}

/// A batch with its progress.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub batch: batches::Batch,
    pub status: BatchStatus,
    pub progress: Progress,
    /// Certificate emails accepted by the mail server.
    pub emailed: u32,
    /// Certificate emails that will not arrive (bounced, failed, suppressed, not created).
    pub email_failed: u32,
    /// Recipients with an email address.
    pub email_recipients: u32,
    pub document_ids: Vec<DocumentId>,
}

/// A certificate email naming a stored template must name one that exists, so the mistake is a
/// 422 now rather than an `email_error` on every document later.
pub(crate) async fn check_template_exists(
    db: &Db,
    tenant: &TenantId,
    email: Option<&BatchEmail>,
) -> Result<(), DocumentError> {
    if let Some(name) = email.and_then(|e| e.template.as_deref())
        && templates::get(db, tenant, name).await?.is_none()
    {
        return Err(Invalid::one("email.template", format!("no template named `{name}`")).into());
    }
    Ok(())
}

/// The intent that expands a recorded batch.
pub fn expand_intent(tenant: &TenantId, id: &BatchId, request_id: Option<String>) -> Next {
    Next::new(
        tenant,
        Intent::ExpandBatch { batch: id.clone() },
        request_id,
    )
}

/// Validates, records and enqueues a batch (`public_base`: the base of verification links).
/// `id` is the batch's id when the caller derived it (see the module documentation); a fresh
/// one is minted without it.
pub async fn create(
    db: &Db,
    out: &dyn Dispatch,
    public_base: &str,
    tenant: &TenantId,
    id: Option<BatchId>,
    request: BatchRequest,
    request_id: Option<String>,
) -> Result<BatchReport, DocumentError> {
    if let Some(id) = &id
        && let Some(existing) = batches::get(db, tenant, id).await?
    {
        return hand_over_again(db, out, existing, request_id).await;
    }
    request.check()?;
    check_template_exists(db, tenant, request.email.as_ref()).await?;
    let tenant_name = repo::tenant_name(db, tenant).await?.unwrap_or_default();
    let spec = BatchSpec {
        issuer: request.issuer.clone().unwrap_or(tenant_name),
        request,
        verify_base: public_base.to_owned(),
    };
    let derived = id.is_some();
    let id = id.unwrap_or_default();
    if let Err(e) = batches::insert(db, &id, tenant, &spec).await {
        // The same work running concurrently (a retry that took over a slow request's key)
        // recorded it first.
        return match batches::get(db, tenant, &id).await? {
            Some(existing) if derived => hand_over_again(db, out, existing, request_id).await,
            _ => Err(e.into()),
        };
    }
    if let Err(e) = out.dispatch(expand_intent(tenant, &id, request_id)).await {
        if !derived && let Err(del) = batches::delete(db, tenant, &id).await {
            tracing::error!(batch = %id, error = %del, "enqueue failed and the batch row could not be removed");
        }
        return Err(e.into());
    }
    get(db, tenant, &id).await
}

/// A batch created before, found again under its derived id: its expansion is handed over
/// again while it is not expanded (a no-op while its job exists), so a row whose request died
/// before enqueuing gets its job now rather than at the next recovery sweep.
async fn hand_over_again(
    db: &Db,
    out: &dyn Dispatch,
    batch: batches::Batch,
    request_id: Option<String>,
) -> Result<BatchReport, DocumentError> {
    if batch.status == Expansion::Queued {
        out.dispatch(expand_intent(&batch.tenant, &batch.id, request_id))
            .await?;
    }
    get(db, &batch.tenant, &batch.id).await
}

/// One of the tenant's batches with its progress.
pub async fn get(db: &Db, tenant: &TenantId, id: &BatchId) -> Result<BatchReport, DocumentError> {
    let batch = batches::get(db, tenant, id)
        .await?
        .ok_or(DocumentError::NotFound)?;
    let progress = batches::progress(db, id).await?;
    let document_ids = batches::document_ids(db, id).await?;
    let emails = batches::email_progress(db, id).await?;
    let email_recipients = batch
        .spec
        .request
        .recipients
        .iter()
        .filter(|r| r.email.is_some())
        .count() as u32;
    let status = if batch.status == Expansion::Queued {
        BatchStatus::Queued
    } else if progress.rendered + progress.failed >= batch.total {
        BatchStatus::Completed
    } else {
        BatchStatus::Rendering
    };
    Ok(BatchReport {
        batch,
        status,
        progress,
        emailed: emails.sent,
        email_failed: emails.failed,
        email_recipients,
        document_ids,
    })
}
