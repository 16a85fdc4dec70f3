//! What the API calls: create (validate, render, record, enqueue), read, list and cancel emails.
//!
//! Inline attachments are written to the file store once the whole request is valid, before the
//! row is inserted (see [`super::inline`]); a storage failure records nothing (503).
//!
//! Recording and handing over: the row is inserted first (status `queued`, the id of its send
//! job derived from the email id), then the send intent is dispatched. If the dispatch fails
//! the row is deleted again and the caller answers 503: nothing is left half-done. Should the
//! queue lose the job after accepting it, the recovery sweep finds the row still `queued` and
//! dispatches it again; because the job id is derived, that is a no-op while the job exists.

use chrono::{DateTime, Utc};

use super::address::{self, MAX_RECIPIENTS};
use super::attachments::{AttachmentRef, Documents, Readiness, StoredFile};
pub use super::inline::MAX_ATTACHMENTS;
use super::inline::{AttachmentInput, InlineFile, Requested};
use super::model::{Counters, Email, EmailStatus, Event, send_job_id};
use super::{event_store, repo, settings, templates};
use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::{EmailId, TenantId};
use crate::intent::{Dispatch, Intent, Next};
use crate::queue::{Queue, QueueError};
use crate::storage::{FileStore, StorageError};
use crate::validation::{FieldError, Invalid, check_metadata};

/// Most tags per email, and their longest length.
pub const MAX_TAGS: usize = 10;
const MAX_TAG_LEN: usize = 64;
/// Most events returned with an email.
pub const MAX_EVENTS: usize = 1000;

/// Why an email operation failed; the API maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Inline attachments could not be written to the file store (retry later).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A client's request to send an email.
#[derive(Debug, Clone, Default)]
pub struct NewEmail {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub template: Option<String>,
    pub variables: Option<serde_json::Value>,
    /// Ready PDF documents of the same tenant, by id, and inline files (see [`super::inline`]).
    pub attachments: Vec<AttachmentInput>,
    pub track_opens: Option<bool>,
    pub track_clicks: Option<bool>,
    pub tags: Vec<String>,
    pub metadata: Option<serde_json::Value>,
    pub send_at: Option<DateTime<Utc>>,
}

/// The content after template rendering.
struct Content {
    subject: String,
    html: Option<String>,
    text: String,
}

async fn content(
    db: &Db,
    tenant: &TenantId,
    req: &NewEmail,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Content>, EmailError> {
    let (subject, html, text) = match &req.template {
        Some(name) => {
            if req.subject.is_some() || req.html.is_some() || req.text.is_some() {
                errors.push(FieldError::new(
                    "template",
                    "give either a template or subject and html/text, not both",
                ));
                return Ok(None);
            }
            if let Some(v) = &req.variables
                && !v.is_object()
            {
                errors.push(FieldError::new("variables", "must be a JSON object"));
                return Ok(None);
            }
            let Some(t) = templates::get(db, tenant, name).await? else {
                errors.push(FieldError::new(
                    "template",
                    format!("no template named `{name}`"),
                ));
                return Ok(None);
            };
            let vars = req
                .variables
                .clone()
                .unwrap_or_else(|| serde_json::json!({}));
            match templates::render(&t, &vars) {
                Ok(r) => (r.subject, r.html, r.text),
                Err(Invalid(mut e)) => {
                    errors.append(&mut e);
                    return Ok(None);
                }
            }
        }
        None => {
            let subject = req.subject.clone().unwrap_or_default();
            if subject.trim().is_empty() {
                errors.push(FieldError::new(
                    "subject",
                    "is required (or give a template)",
                ));
            }
            if req.html.is_none() && req.text.is_none() {
                errors.push(FieldError::new(
                    "html",
                    "give html, text or both (or a template)",
                ));
            }
            (subject, req.html.clone(), req.text.clone())
        }
    };
    if subject.len() > 998 || subject.contains(['\r', '\n']) {
        errors.push(FieldError::new(
            "subject",
            "must be one line of at most 998 bytes",
        ));
    }
    let text = match (text, &html) {
        (Some(t), _) => t,
        (None, Some(h)) => super::text::from_html(h),
        (None, None) => String::new(),
    };
    Ok(Some(Content {
        subject: subject.trim().to_owned(),
        html,
        text,
    }))
}

/// An attachment that passed validation: recorded as it is, or an inline file still to store.
enum Checked {
    Ready(AttachmentRef),
    Inline(InlineFile),
}

/// Parses the request's attachments and checks that its documents are the tenant's and ready.
async fn check_attachments(
    documents: &dyn Documents,
    tenant: &TenantId,
    items: &[AttachmentInput],
    errors: &mut Vec<FieldError>,
) -> Result<Vec<Checked>, EmailError> {
    let mut out = Vec::new();
    for (i, requested) in super::inline::parse(items, errors) {
        let id = match requested {
            Requested::Inline(file) => {
                out.push(Checked::Inline(file));
                continue;
            }
            Requested::Document(id) => id,
        };
        match documents.readiness(tenant, &id).await? {
            None => return Err(EmailError::NotFound(format!("no such document {id}"))),
            Some(Readiness::NotReady(status)) => {
                errors.push(FieldError::new(
                    format!("attachments[{i}].document_id"),
                    format!("the document is {status}; only ready documents can be attached"),
                ));
                continue;
            }
            Some(Readiness::Ready) => {}
        }
        out.push(Checked::Ready(AttachmentRef::Document(id.to_string())));
    }
    Ok(out)
}

fn check_tags(tags: &[String], errors: &mut Vec<FieldError>) {
    if tags.len() > MAX_TAGS {
        errors.push(FieldError::new("tags", format!("at most {MAX_TAGS}")));
    }
    for (i, t) in tags.iter().enumerate() {
        let ok = !t.is_empty() && t.len() <= MAX_TAG_LEN && !t.chars().any(char::is_control);
        if !ok {
            errors.push(FieldError::new(
                format!("tags[{i}]"),
                format!("must be 1 to {MAX_TAG_LEN} characters"),
            ));
        }
    }
}

/// An email Longshore itself sends on a tenant's behalf (a receipt, a certificate, a report):
/// the request as a client would give it, the id it must have (derived from what it carries),
/// and stored files to attach besides documents.
#[derive(Debug, Clone)]
pub struct InternalEmail {
    pub id: EmailId,
    pub request: NewEmail,
    pub files: Vec<StoredFile>,
}

/// What creating an email uses: the database, where its send intent goes, the documents it
/// may attach, and the file store its inline attachments are written to.
pub struct Creator<'a> {
    pub db: &'a Db,
    pub out: &'a dyn Dispatch,
    pub documents: &'a dyn Documents,
    pub storage: &'a dyn FileStore,
}

impl Creator<'_> {
    /// Validates, renders, records and enqueues an email.
    ///
    /// `id` is the email's id when the caller derived it (from an `Idempotency-Key`): an email
    /// already recorded under it is returned as it is (its send intent dispatched again while it
    /// is `queued`, a no-op when the job exists), so creating it again sends nothing twice. Its
    /// row is kept when the dispatch fails: the enqueue may have happened (its reply lost), and
    /// the retry or the recovery sweep hands it over.
    pub async fn create(
        &self,
        tenant: &TenantId,
        id: Option<EmailId>,
        req: NewEmail,
        request_id: Option<String>,
    ) -> Result<Email, EmailError> {
        let Some(id) = id else {
            let email = self
                .prepare(tenant, EmailId::new(), req, Vec::new(), request_id.clone())
                .await?;
            repo::insert(self.db, &email).await?;
            self.send_or_remove(&email, request_id).await?;
            return Ok(email);
        };
        if let Some(existing) = self.found_again(tenant, &id, request_id.clone()).await? {
            return Ok(existing);
        }
        let email = self
            .prepare(tenant, id, req, Vec::new(), request_id.clone())
            .await?;
        if let Err(err) = repo::insert(self.db, &email).await {
            // The same work running concurrently (a retry that took over a slow request's
            // key) recorded it first.
            return match self.found_again(tenant, &email.id, request_id).await? {
                Some(existing) => Ok(existing),
                None => Err(err.into()),
            };
        }
        self.out.dispatch(send_intent(&email, request_id)).await?;
        Ok(email)
    }

    /// The email recorded under `id`, if any, with its send intent dispatched again while it is
    /// `queued` (a no-op when its job exists).
    async fn found_again(
        &self,
        tenant: &TenantId,
        id: &EmailId,
        request_id: Option<String>,
    ) -> Result<Option<Email>, EmailError> {
        let Some(existing) = repo::get(self.db, tenant, id).await? else {
            return Ok(None);
        };
        if existing.status == EmailStatus::Queued {
            self.out
                .dispatch(send_intent(&existing, request_id))
                .await?;
        }
        Ok(Some(existing))
    }

    /// Creates an internal email idempotently on its id: if an email with that id exists it is
    /// returned as it is (and its send intent dispatched again while it is `queued`, which is a
    /// no-op when the job exists), so a re-run job or a replayed chain never creates a second
    /// email.
    pub async fn create_internal(
        &self,
        tenant: &TenantId,
        e: InternalEmail,
        request_id: Option<String>,
    ) -> Result<Email, EmailError> {
        let db = self.db;
        if let Some(existing) = self.found_again(tenant, &e.id, request_id.clone()).await? {
            return Ok(existing);
        }
        let email = self
            .prepare(tenant, e.id, e.request, e.files, request_id.clone())
            .await?;
        if let Err(err) = repo::insert(db, &email).await {
            // A concurrent run inserted it first: that one is the email.
            return match repo::get(db, tenant, &email.id).await? {
                Some(existing) => Ok(existing),
                None => Err(err.into()),
            };
        }
        self.send_or_remove(&email, request_id).await?;
        Ok(email)
    }

    /// Dispatches a recorded email's send intent; if that fails, removes the row so nothing is
    /// left half-done (the caller answers 503 or retries).
    async fn send_or_remove(
        &self,
        email: &Email,
        request_id: Option<String>,
    ) -> Result<(), EmailError> {
        if let Err(e) = self.out.dispatch(send_intent(email, request_id)).await {
            if let Err(del) = repo::delete(self.db, &email.tenant, &email.id).await {
                tracing::error!(email = %email.id, error = %del, "enqueue failed and the email row could not be removed");
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Validates and renders a request into the email to record under `id`.
    async fn prepare(
        &self,
        tenant: &TenantId,
        id: EmailId,
        req: NewEmail,
        files: Vec<StoredFile>,
        request_id: Option<String>,
    ) -> Result<Email, EmailError> {
        let mut errors = Vec::new();
        let defaults = settings::get(self.db, tenant).await?;
        let to = address::parse_list("to", &req.to, &mut errors);
        let cc = address::parse_list("cc", &req.cc, &mut errors);
        let bcc = address::parse_list("bcc", &req.bcc, &mut errors);
        if req.to.is_empty() {
            errors.push(FieldError::new("to", "at least one recipient is required"));
        }
        if req.to.len() + req.cc.len() + req.bcc.len() > MAX_RECIPIENTS {
            errors.push(FieldError::new(
                "to",
                format!("at most {MAX_RECIPIENTS} recipients in to, cc and bcc together"),
            ));
        }
        let from = match req.from.as_deref().or(defaults.from.as_deref()) {
            Some(f) => address::parse_one("from", Some(f), &mut errors),
            None => {
                errors.push(FieldError::new(
                    "from",
                    "is required: no sender default is set (PUT /v1/email-settings)",
                ));
                None
            }
        };
        let reply_to = address::parse_one(
            "reply_to",
            req.reply_to.as_deref().or(defaults.reply_to.as_deref()),
            &mut errors,
        );
        check_tags(&req.tags, &mut errors);
        if let Err(Invalid(mut e)) = check_metadata(req.metadata.as_ref()) {
            errors.append(&mut e);
        }
        let content = content(self.db, tenant, &req, &mut errors).await?;
        if !files.is_empty() && req.attachments.len() + files.len() > MAX_ATTACHMENTS {
            errors.push(FieldError::new(
                "attachments",
                format!("at most {MAX_ATTACHMENTS}"),
            ));
        }
        let checked =
            check_attachments(self.documents, tenant, &req.attachments, &mut errors).await?;
        let (Some(from), Some(content), true) = (from, content, errors.is_empty()) else {
            return Err(Invalid(errors).into());
        };
        // Only a valid request writes inline files (content-addressed: a retry writes nothing new).
        let mut attachments = Vec::with_capacity(checked.len() + files.len());
        for c in checked {
            attachments.push(match c {
                Checked::Ready(a) => a,
                Checked::Inline(file) => {
                    AttachmentRef::File(file.store(self.storage, tenant).await?)
                }
            });
        }
        attachments.extend(files.into_iter().map(AttachmentRef::File));
        let now = now_ms();
        let send_at = req
            .send_at
            .map(|t| t.timestamp_millis())
            .filter(|t| *t > now);
        let email = Email {
            message_id: format!("<{id}@{}>", from.domain().to_lowercase()),
            job_id: send_job_id(&id),
            id,
            tenant: tenant.clone(),
            status: EmailStatus::Queued,
            from: from.to_string(),
            reply_to: reply_to.map(|r| r.to_string()),
            to: to.iter().map(ToString::to_string).collect(),
            cc: cc.iter().map(ToString::to_string).collect(),
            bcc: bcc.iter().map(ToString::to_string).collect(),
            subject: content.subject,
            html: content.html,
            text: content.text,
            template: req.template,
            attachments,
            track_opens: req.track_opens.unwrap_or(true),
            track_clicks: req.track_clicks.unwrap_or(true),
            tags: req.tags,
            metadata: req.metadata,
            send_at,
            attempts: 0,
            last_reply: None,
            interrupted: false,
            suppressed: Vec::new(),
            request_id,
            created_at: now,
            updated_at: now,
            sent_at: None,
        };
        Ok(email)
    }
}

/// The intent that sends a recorded email (at its `send_at`, if later than now).
pub fn send_intent(email: &Email, request_id: Option<String>) -> Next {
    let intent = Intent::SendEmail {
        email: email.id.clone(),
        not_before: email.send_at,
    };
    Next::new(&email.tenant, intent, request_id)
}

/// One of the tenant's emails with its counters and events.
pub async fn get(
    db: &Db,
    tenant: &TenantId,
    id: &EmailId,
) -> Result<(Email, Counters, Vec<Event>), EmailError> {
    let email = repo::get(db, tenant, id)
        .await?
        .ok_or_else(|| EmailError::NotFound("no such email".into()))?;
    let counters = event_store::counters(db, tenant, id).await?;
    let events = event_store::list(db, tenant, id, MAX_EVENTS).await?;
    Ok((email, counters, events))
}

/// A page of the tenant's emails, newest first; the cursor is the last id of the previous page.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    status: Option<EmailStatus>,
    tag: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<(Email, Counters)>, Option<String>), EmailError> {
    let mut emails = repo::list(db, tenant, status, tag, cursor, limit + 1).await?;
    let next = if emails.len() > limit {
        emails.truncate(limit);
        emails.last().map(|e| e.id.to_string())
    } else {
        None
    };
    let ids: Vec<EmailId> = emails.iter().map(|e| e.id.clone()).collect();
    let counters = event_store::counters_many(db, tenant, &ids).await?;
    Ok((emails.into_iter().zip(counters).collect(), next))
}

/// Cancels a `queued` or `deferred` email and its job; 409 once it is being sent or final.
pub async fn cancel(
    db: &Db,
    queue: &dyn Queue,
    tenant: &TenantId,
    id: &EmailId,
) -> Result<Email, EmailError> {
    let email = repo::get(db, tenant, id)
        .await?
        .ok_or_else(|| EmailError::NotFound("no such email".into()))?;
    if !repo::cancel(db, tenant, id).await? {
        let now = repo::get(db, tenant, id)
            .await?
            .map(|e| e.status)
            .unwrap_or(email.status);
        if now == EmailStatus::Cancelled {
            return Ok(email);
        }
        return Err(EmailError::Conflict(format!(
            "the email is {now}, which can no longer be cancelled"
        )));
    }
    match queue.cancel(tenant, &email.job_id).await {
        Ok(_) | Err(QueueError::NotFound) | Err(QueueError::InvalidState(_)) => {}
        // The row says cancelled; a job that still runs sees that and does nothing.
        Err(e) => tracing::warn!(email = %id, error = %e, "could not cancel the send job"),
    }
    repo::get(db, tenant, id)
        .await?
        .ok_or_else(|| EmailError::NotFound("no such email".into()))
}
