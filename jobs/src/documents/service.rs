//! What the API calls: create, read, list, download, revoke and verify documents.
//!
//! Recording and enqueueing: the row is inserted first (status `queued`, with the id of its render
//! job derived from the document id), then the job is enqueued under that id. If the enqueue
//! fails the row is deleted again and the caller answers 503, so nothing is left half-done; and
//! because the job id is derived, enqueueing the same document twice is a no-op.

use chrono::NaiveDate;

use super::batches::BatchEmail;
use super::code::VerificationCode;
use super::fields::Checker;
use super::kinds::{DocumentData, DocumentKind};
use super::model::{Document, DocumentStatus, render_job_id};
use super::repo::{self, NewRow};
use super::{follow_up, from_payment};
use crate::db::DbError;
use crate::ids::{DocumentId, JobId, TenantId};
use crate::job_types::documents::RenderDocument;
use crate::platform::Services;
use crate::queue::{NewJob, QueueError};
use crate::registry::JobKind;
use crate::storage::{FileKey, StorageError, sha256_hex};
use crate::validation::{FieldError, Invalid};

/// Largest `metadata` object, serialised.
pub const MAX_METADATA_BYTES: usize = 4096;

/// Why a document operation failed; the API maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("stored file does not match its record: {0}")]
    Corrupt(String),
}

/// A client's request for a document.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub kind: DocumentKind,
    pub data: serde_json::Value,
    pub metadata: Option<serde_json::Value>,
    /// Certificates only: email the PDF to `data.recipient_email` once it is rendered.
    pub email: Option<BatchEmail>,
}

/// What the public verification page shows about a valid certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub kind: DocumentKind,
    pub recipient_name: String,
    pub title: String,
    pub issued_on: NaiveDate,
    pub issuer: String,
    pub credits: Option<f64>,
    pub sha256: Option<String>,
}

/// The base URL clients use, for verification links (`LONGSHORE_PUBLIC_URL` or host:port).
pub fn public_base(services: &Services) -> String {
    let c = &services.config;
    let base = c
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", c.host, c.port));
    base.trim_end_matches('/').to_owned()
}

/// Checks the client's metadata: a JSON object of bounded size.
pub fn check_metadata(metadata: Option<&serde_json::Value>) -> Result<(), Invalid> {
    match metadata {
        None => Ok(()),
        Some(m) if !m.is_object() => Err(Invalid::one("metadata", "must be a JSON object")),
        Some(m) if m.to_string().len() > MAX_METADATA_BYTES => Err(Invalid::one(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes as JSON"),
        )),
        Some(_) => Ok(()),
    }
}

/// Validates, records and enqueues a document for rendering.
pub async fn create(
    services: &Services,
    tenant: &TenantId,
    req: NewDocument,
    request_id: Option<String>,
) -> Result<Document, DocumentError> {
    let data = if from_payment::names_payment(req.kind, &req.data) {
        from_payment::resolve(&services.db, tenant, "data", &req.data).await?
    } else {
        req.data
    };
    let parsed = DocumentData::parse(req.kind, "data", &data);
    let mut errors = Vec::new();
    if let Err(Invalid(e)) = check_metadata(req.metadata.as_ref()) {
        errors.extend(e);
    }
    let follow_up = match (&req.email, &parsed) {
        (None, _) => None,
        (Some(spec), Ok(DocumentData::Certificate(c))) => {
            let mut check = Checker::default();
            spec.check_into(&mut check, "email", true);
            if let Err(Invalid(e)) = check.finish("") {
                errors.extend(e);
            }
            match &c.recipient_email {
                Some(to) => Some(follow_up::certificate_follow_up(Some(spec), to.clone())),
                None => {
                    errors.push(FieldError::new(
                        "data.recipient_email",
                        "is required to email the certificate",
                    ));
                    None
                }
            }
        }
        (Some(_), Ok(_)) => {
            errors.push(FieldError::new(
                "email",
                "only certificates can be emailed this way; attach the document to POST /v1/emails",
            ));
            None
        }
        (Some(_), Err(_)) => None,
    };
    let mut data = match parsed {
        Ok(d) if errors.is_empty() => {
            if follow_up.is_some() {
                super::batch_service::check_template_exists(services, tenant, req.email.as_ref())
                    .await?;
            }
            d
        }
        Ok(_) => return Err(Invalid(errors).into()),
        Err(Invalid(mut a)) => {
            a.extend(errors);
            return Err(Invalid(a).into());
        }
    };
    let tenant_name = repo::tenant_name(&services.db, tenant)
        .await?
        .unwrap_or_default();
    let issuer = match &mut data {
        DocumentData::Certificate(c) => c.issuer.get_or_insert_with(|| tenant_name.clone()).clone(),
        DocumentData::Receipt(_) => tenant_name,
        DocumentData::InvestorUpdate(d) => d.company.clone(),
    };
    let id = DocumentId::new();
    let verification = (req.kind == DocumentKind::Certificate).then(|| {
        let code = VerificationCode::generate();
        let url = format!("{}/v/{}", public_base(services), code.grouped());
        (code, url)
    });
    let row = NewRow {
        id: id.clone(),
        tenant: tenant.clone(),
        kind: req.kind,
        data: data.to_json(),
        metadata: req.metadata,
        job_id: render_job_id(&id),
        batch_id: None,
        issuer,
        verification,
        follow_up,
    };
    let document = repo::insert(&services.db, &row).await?;
    if let Err(e) = enqueue_render(services, tenant, &id, request_id).await {
        if let Err(del) = repo::delete(&services.db, tenant, &id).await {
            tracing::error!(document = %id, error = %del, "enqueue failed and the document row could not be removed");
        }
        return Err(e.into());
    }
    Ok(document)
}

/// Enqueues the render job of a recorded document (idempotent: the job id is derived).
pub async fn enqueue_render(
    services: &Services,
    tenant: &TenantId,
    id: &DocumentId,
    request_id: Option<String>,
) -> Result<JobId, QueueError> {
    let job_id = render_job_id(id);
    let payload = serde_json::json!({ "document_id": id });
    services
        .queue
        .enqueue(NewJob {
            id: job_id.clone(),
            tenant: tenant.clone(),
            job_type: RenderDocument::NAME.to_owned(),
            queue: RenderDocument::QUEUE.to_owned(),
            payload,
            max_attempts: RenderDocument::MAX_ATTEMPTS,
            run_at: None,
            request_id,
        })
        .await?;
    Ok(job_id)
}

/// One of the tenant's documents.
pub async fn get(
    services: &Services,
    tenant: &TenantId,
    id: &DocumentId,
) -> Result<Document, DocumentError> {
    repo::get(&services.db, tenant, id)
        .await?
        .ok_or(DocumentError::NotFound)
}

/// A page of the tenant's documents, newest first; the cursor is the last id of the previous page.
pub async fn list(
    services: &Services,
    tenant: &TenantId,
    kind: Option<DocumentKind>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Document>, Option<String>), DocumentError> {
    let mut docs = repo::list(&services.db, tenant, kind, cursor, limit + 1).await?;
    let next = if docs.len() > limit {
        docs.truncate(limit);
        docs.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok((docs, next))
}

/// A ready document and its bytes, checked against the recorded SHA-256.
pub async fn content(
    services: &Services,
    tenant: &TenantId,
    id: &DocumentId,
) -> Result<(Document, Vec<u8>), DocumentError> {
    let doc = get(services, tenant, id).await?;
    if doc.status != DocumentStatus::Ready {
        return Err(DocumentError::Conflict(format!(
            "the document is {}; its content exists once it is ready",
            doc.status
        )));
    }
    let key = doc
        .storage_key
        .clone()
        .ok_or_else(|| DocumentError::Corrupt("ready without a storage key".into()))?;
    let key = FileKey::new(key).map_err(|e| DocumentError::Corrupt(e.to_string()))?;
    let bytes = services.storage.get(&key).await?;
    if doc.sha256.as_deref() != Some(sha256_hex(&bytes).as_str()) {
        return Err(DocumentError::Corrupt(format!(
            "{id}: stored bytes do not match the recorded sha256"
        )));
    }
    Ok((doc, bytes))
}

/// Revokes one of the tenant's certificates; its code stops verifying. Idempotent.
pub async fn revoke(
    services: &Services,
    tenant: &TenantId,
    id: &DocumentId,
) -> Result<Document, DocumentError> {
    let doc = get(services, tenant, id).await?;
    if doc.kind != DocumentKind::Certificate {
        return Err(DocumentError::Conflict(format!(
            "only certificates can be revoked; this is a {}",
            doc.kind
        )));
    }
    repo::revoke(&services.db, tenant, id).await?;
    get(services, tenant, id).await
}

/// Public verification: a valid (well-formed, known, rendered, unrevoked) certificate's facts.
/// Malformed codes are refused before any lookup; every kind of failure looks the same.
pub async fn verify(
    services: &Services,
    code: &str,
) -> Result<Option<Verification>, DocumentError> {
    let Ok(code) = code.parse::<VerificationCode>() else {
        return Ok(None);
    };
    let Some(doc) = repo::get_by_code(&services.db, &code).await? else {
        return Ok(None);
    };
    if doc.kind != DocumentKind::Certificate
        || doc.status != DocumentStatus::Ready
        || doc.revoked_at.is_some()
    {
        return Ok(None);
    }
    let Ok(DocumentData::Certificate(c)) =
        DocumentData::from_stored(doc.kind, &doc.data.to_string())
    else {
        return Err(DocumentError::Corrupt(format!(
            "{}: certificate data does not decode",
            doc.id
        )));
    };
    Ok(Some(Verification {
        kind: doc.kind,
        recipient_name: c.recipient_name,
        title: c.course_title,
        issued_on: c.issued_on,
        issuer: doc.issuer,
        credits: c.credits,
        sha256: doc.sha256,
    }))
}
