//! Certificate batches for the API: record and enqueue the expand job (or nothing: the row is
//! removed again if the enqueue fails), and report progress from the documents' statuses.

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
pub async fn create(
    db: &Db,
    out: &dyn Dispatch,
    public_base: &str,
    tenant: &TenantId,
    request: BatchRequest,
    request_id: Option<String>,
) -> Result<BatchReport, DocumentError> {
    request.check()?;
    check_template_exists(db, tenant, request.email.as_ref()).await?;
    let tenant_name = repo::tenant_name(db, tenant).await?.unwrap_or_default();
    let spec = BatchSpec {
        issuer: request.issuer.clone().unwrap_or(tenant_name),
        request,
        verify_base: public_base.to_owned(),
    };
    let id = BatchId::new();
    batches::insert(db, &id, tenant, &spec).await?;
    if let Err(e) = out.dispatch(expand_intent(tenant, &id, request_id)).await {
        if let Err(del) = batches::delete(db, tenant, &id).await {
            tracing::error!(batch = %id, error = %del, "enqueue failed and the batch row could not be removed");
        }
        return Err(e.into());
    }
    get(db, tenant, &id).await
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
