//! What the document jobs do, with their dependencies passed in: render one document, and
//! expand a batch into documents. Both are safe to run twice.
//!
//! Rendering is CPU-bound, so it runs on tokio's blocking pool and never on the async threads;
//! a semaphore sized to the machine's cores keeps a worker with high concurrency from running
//! dozens of renders at once (which would only add memory, not speed).

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use super::batches::{self, BatchSpec};
use super::certificate::CertificateData;
use super::code::VerificationCode;
use super::follow_up;
use super::kinds::{DocumentData, DocumentKind};
use super::model::{batch_document_id, render_job_id};
use super::render::{self, RenderError, RenderInput};
use super::render_log::{Ready, RenderLog};
use super::repo::{self, NewRow};
use super::service::render_intent;
use crate::attempt::JobMeta;
use crate::db::Db;
use crate::email::service::Creator;
use crate::error::JobError;
use crate::ids::{BatchId, DocumentId};
use crate::intent::Dispatch;
use crate::storage::{FileKey, FileStore};

/// What rendering a document uses.
pub struct Renderer<'a> {
    pub db: &'a Db,
    pub storage: &'a dyn FileStore,
    /// Group-committed claims and `ready` writes.
    pub renders: &'a RenderLog,
    /// Creates the document's follow-up email once it is ready.
    pub emails: &'a Creator<'a>,
}

/// Documents recorded per transaction while a batch expands.
const EXPAND_CHUNK: usize = 250;

static RENDER_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    Semaphore::new(cores)
});

/// Renders a document and stores it. When it cannot be rendered (a permanent error, or the
/// last attempt failing) its job dies, and [`fail_dead`] records why.
pub async fn render_document(
    ctx: &Renderer<'_>,
    meta: &JobMeta,
    id: &DocumentId,
) -> Result<(), JobError> {
    try_render(ctx, meta, id).await
}

/// The render job of `id` is dead with `error`: a document still `queued` or `rendering` is
/// marked `failed` with it (its `document.failed` event with it); a ready one is left alone.
pub async fn fail_dead(db: &Db, id: &DocumentId, error: &str) -> Result<(), JobError> {
    let failed = repo::mark_failed(db, id, error)
        .await
        .map_err(JobError::retryable)?;
    if failed {
        crate::metrics::document_rendered("failed");
    }
    Ok(())
}

async fn try_render(ctx: &Renderer<'_>, meta: &JobMeta, id: &DocumentId) -> Result<(), JobError> {
    let db = ctx.db;
    let Some(doc) = ctx
        .renders
        .claim(&meta.tenant, id)
        .await
        .map_err(JobError::retryable)?
    else {
        // Ready already (a repeated job: its follow-up is idempotent), or gone.
        return match repo::get(db, &meta.tenant, id)
            .await
            .map_err(JobError::retryable)?
        {
            Some(doc) => follow_up::run(ctx.emails, &doc, meta.request_id.clone()).await,
            None => Err(JobError::Permanent(format!("document {id} does not exist"))),
        };
    };
    let data = DocumentData::from_stored(doc.kind, &doc.data.to_string())
        .map_err(|e| JobError::Permanent(format!("stored data does not decode: {e}")))?;
    let verification = match (&doc.verification_code, &doc.verification_url) {
        (Some(code), Some(url)) => Some((code.clone(), url.clone())),
        _ => None,
    };
    let input = RenderInput {
        data,
        issuer: doc.issuer.clone(),
        verification,
        receipt_number: doc.receipt_number.clone(),
    };
    let rendered = {
        let _slot = RENDER_SLOTS.acquire().await.map_err(JobError::retryable)?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| render::render(&input)))
            .await
            .map_err(|e| JobError::Retryable(format!("render task failed: {e}")))?
            .map_err(|e: RenderError| JobError::Permanent(e.to_string()))?
    };
    let key = FileKey::new(format!("documents/{}/{}.pdf", meta.tenant, id))
        .map_err(JobError::permanent)?;
    let stored = ctx
        .storage
        .put(&key, rendered.pdf)
        .await
        .map_err(JobError::retryable)?;
    let ready = ctx
        .renders
        .ready(Ready {
            id: id.clone(),
            pages: rendered.pages,
            bytes: stored.bytes as i64,
            sha256: stored.sha256.clone(),
            storage_key: key.as_str().to_owned(),
        })
        .await
        .map_err(JobError::retryable)?;
    if !ready {
        // Failed meanwhile (its job died elsewhere while this worker was stalled): fenced off.
        tracing::warn!(document_id = %id, "a late render of a failed document was not recorded");
        return Ok(());
    }
    crate::metrics::document_rendered("ready");
    tracing::debug!(
        pages = rendered.pages,
        bytes = stored.bytes,
        "document rendered"
    );
    follow_up::run(ctx.emails, &doc, meta.request_id.clone()).await
}

/// Records one certificate per recipient of a batch and enqueues their render jobs.
pub async fn expand_batch(
    db: &Db,
    out: &dyn Dispatch,
    meta: &JobMeta,
    id: &BatchId,
) -> Result<(), JobError> {
    let batch = batches::get(db, &meta.tenant, id)
        .await
        .map_err(JobError::retryable)?
        .ok_or_else(|| JobError::Permanent(format!("batch {id} does not exist")))?;
    let recipients = batch.spec.request.recipients.len();
    for start in (0..recipients).step_by(EXPAND_CHUNK) {
        let end = (start + EXPAND_CHUNK).min(recipients);
        let rows: Vec<NewRow> = (start..end)
            .map(|n| member_row(&batch.spec, &batch.id, meta, n))
            .collect();
        repo::insert_many(db, &rows)
            .await
            .map_err(JobError::retryable)?;
        let renders = rows
            .iter()
            .map(|r| render_intent(&meta.tenant, &r.id, meta.request_id.clone()))
            .collect();
        for r in out.dispatch_many(renders).await {
            r.map_err(JobError::retryable)?;
        }
    }
    batches::mark_expanded(db, id)
        .await
        .map_err(JobError::retryable)?;
    Ok(())
}

fn member_row(spec: &BatchSpec, batch: &BatchId, meta: &JobMeta, n: usize) -> NewRow {
    let r = &spec.request;
    let recipient = &r.recipients[n];
    let data = CertificateData {
        recipient_name: recipient.name.clone(),
        course_title: r.course_title.clone(),
        issued_on: r.issued_on,
        credits: r.credits,
        issuer: Some(spec.issuer.clone()),
        recipient_email: recipient.email.clone(),
    };
    let id = batch_document_id(batch, n);
    let follow_up = recipient
        .email
        .clone()
        .map(|to| follow_up::certificate_follow_up(r.email.as_ref(), to));
    let code = VerificationCode::generate();
    let url = format!("{}/v/{}", spec.verify_base, code.grouped());
    NewRow {
        job_id: render_job_id(&id),
        id,
        tenant: meta.tenant.clone(),
        kind: DocumentKind::Certificate,
        data: DocumentData::Certificate(data).to_json(),
        metadata: None,
        batch_id: Some(batch.clone()),
        issuer: spec.issuer.clone(),
        verification: Some((code, url)),
        follow_up,
    }
}
