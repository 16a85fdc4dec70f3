//! What the API calls: create, read, list, download, revoke and verify documents.
//!
//! Recording and handing over: the row is inserted first (status `queued`, with the id of its
//! render job derived from the document id), then the render intent is dispatched. If that fails
//! the row is deleted again and the caller answers 503, so nothing is left half-done; a job the
//! queue loses later is dispatched again from the row by the recovery sweep, and because the job
//! id is derived, dispatching the same document twice is a no-op.
//!
//! A document created under an id the caller derived (from an `Idempotency-Key`) is created
//! once: creating it again returns the recorded one and hands its render over again while it
//! waits on it. Its row is kept when the dispatch fails, since the enqueue may have happened
//! (its reply lost) and a row deleted under its job could never be rendered; the retry or the
//! recovery sweep hands it over.

use chrono::NaiveDate;

use super::batches::BatchEmail;
use super::code::VerificationCode;
use super::fields::Checker;
use super::kinds::{DocumentData, DocumentKind};
use super::model::{Document, DocumentStatus, render_job_id};
use super::repo::{self, NewRow};
use super::{follow_up, from_payment};
use crate::db::{Db, DbError};
use crate::ids::{DocumentId, TenantId};
use crate::intent::{Dispatch, Intent, Next};
use crate::queue::QueueError;
use crate::storage::{FileKey, FileStore, StorageError, sha256_hex};
use crate::validation::{FieldError, Invalid};

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

/// Validates, records and enqueues a document for rendering.
///
/// `public_base` is the API's public URL, the base of a certificate's verification link. `id`
/// is the document's id when the caller derived it (see the module documentation); a fresh one
/// is minted without it.
pub async fn create(
    db: &Db,
    out: &dyn Dispatch,
    public_base: &str,
    tenant: &TenantId,
    id: Option<DocumentId>,
    req: NewDocument,
    request_id: Option<String>,
) -> Result<Document, DocumentError> {
    if let Some(id) = &id
        && let Some(existing) = repo::get(db, tenant, id).await?
    {
        return hand_over_again(out, existing, request_id).await;
    }
    let data = if from_payment::names_payment(req.kind, &req.data) {
        from_payment::resolve(db, tenant, "data", &req.data).await?
    } else {
        req.data
    };
    let parsed = DocumentData::parse(req.kind, "data", &data);
    let mut errors = Vec::new();
    if let Err(Invalid(e)) = crate::validation::check_metadata(req.metadata.as_ref()) {
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
                super::batch_service::check_template_exists(db, tenant, req.email.as_ref()).await?;
            }
            d
        }
        Ok(_) => return Err(Invalid(errors).into()),
        Err(Invalid(mut a)) => {
            a.extend(errors);
            return Err(Invalid(a).into());
        }
    };
    let tenant_name = repo::tenant_name(db, tenant).await?.unwrap_or_default();
    let issuer = match &mut data {
        DocumentData::Certificate(c) => c.issuer.get_or_insert_with(|| tenant_name.clone()).clone(),
        DocumentData::Receipt(_) => tenant_name,
        DocumentData::InvestorUpdate(d) => d.company.clone(),
    };
    let derived = id.is_some();
    let id = id.unwrap_or_default();
    let verification = (req.kind == DocumentKind::Certificate).then(|| {
        let code = VerificationCode::generate();
        let url = format!("{public_base}/v/{}", code.grouped());
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
    let document = match repo::insert(db, &row).await {
        Ok(document) => document,
        // The same work running concurrently (a retry that took over a slow request's key)
        // recorded it first.
        Err(e) if derived => match repo::get(db, tenant, &id).await? {
            Some(existing) => return hand_over_again(out, existing, request_id).await,
            None => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = out.dispatch(render_intent(tenant, &id, request_id)).await {
        if !derived && let Err(del) = repo::delete(db, tenant, &id).await {
            tracing::error!(document = %id, error = %del, "enqueue failed and the document row could not be removed");
        }
        return Err(e.into());
    }
    Ok(document)
}

/// A document created before, found again under its derived id: its render is handed over
/// again while it waits on it (a no-op while its job exists), so a row whose request died
/// before enqueuing gets its job now rather than at the next recovery sweep.
async fn hand_over_again(
    out: &dyn Dispatch,
    doc: Document,
    request_id: Option<String>,
) -> Result<Document, DocumentError> {
    if matches!(
        doc.status,
        DocumentStatus::Queued | DocumentStatus::Rendering
    ) {
        out.dispatch(render_intent(&doc.tenant, &doc.id, request_id))
            .await?;
    }
    Ok(doc)
}

/// The intent that renders a recorded document.
pub fn render_intent(tenant: &TenantId, id: &DocumentId, request_id: Option<String>) -> Next {
    let intent = Intent::RenderDocument {
        document: id.clone(),
    };
    Next::new(tenant, intent, request_id)
}

/// One of the tenant's documents.
pub async fn get(db: &Db, tenant: &TenantId, id: &DocumentId) -> Result<Document, DocumentError> {
    repo::get(db, tenant, id)
        .await?
        .ok_or(DocumentError::NotFound)
}

/// A page of the tenant's documents, newest first; the cursor is the last id of the previous page.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    kind: Option<DocumentKind>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Document>, Option<String>), DocumentError> {
    let mut docs = repo::list(db, tenant, kind, cursor, limit + 1).await?;
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
    db: &Db,
    storage: &dyn FileStore,
    tenant: &TenantId,
    id: &DocumentId,
) -> Result<(Document, Vec<u8>), DocumentError> {
    let doc = get(db, tenant, id).await?;
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
    let bytes = storage.get(&key).await?;
    if doc.sha256.as_deref() != Some(sha256_hex(&bytes).as_str()) {
        return Err(DocumentError::Corrupt(format!(
            "{id}: stored bytes do not match the recorded sha256"
        )));
    }
    Ok((doc, bytes))
}

/// Revokes one of the tenant's certificates; its code stops verifying. Idempotent.
pub async fn revoke(
    db: &Db,
    tenant: &TenantId,
    id: &DocumentId,
) -> Result<Document, DocumentError> {
    let doc = get(db, tenant, id).await?;
    if doc.kind != DocumentKind::Certificate {
        return Err(DocumentError::Conflict(format!(
            "only certificates can be revoked; this is a {}",
            doc.kind
        )));
    }
    repo::revoke(db, tenant, id).await?;
    get(db, tenant, id).await
}

/// Public verification: a valid (well-formed, known, rendered, unrevoked) certificate's facts.
/// Malformed codes are refused before any lookup; every kind of failure looks the same.
pub async fn verify(db: &Db, code: &str) -> Result<Option<Verification>, DocumentError> {
    let Ok(code) = code.parse::<VerificationCode>() else {
        return Ok(None);
    };
    let Some(doc) = repo::get_by_code(db, &code).await? else {
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
