//! Certificate batches: one request names a course and up to 10,000 recipients; a
//! `certificate_batch.expand` job records one certificate per recipient (ids derived from the
//! batch, so running it twice changes nothing) and enqueues their render jobs. Progress is
//! counted from the documents themselves.
//!
//! E-mail: every recipient with an address gets their certificate attached once it is rendered
//! (a follow-up stored with the certificate, see [`super::follow_up`]): with the batch's
//! [`BatchEmail`] (a template, or a subject and HTML, rendered with the certificate's variables
//! such as `{{ recipient_name }}` and `{{ verification_url }}`), or a default message.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::certificate::{MAX_ISSUER, MAX_NAME, MAX_TITLE, check_credits};
use super::fields::Checker;
use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::{BatchId, DocumentId, JobId, TenantId};
use crate::validation::Invalid;
use crate::words::word_enum;

/// Most recipients in one batch.
pub const MAX_RECIPIENTS: usize = 10_000;

/// A request for one certificate per recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The course, event or programme, up to 200 characters.
    pub course_title: String,
    /// The date of issue (`YYYY-MM-DD`).
    pub issued_on: NaiveDate,
    /// Credits earned, e.g. CPD hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<f64>,
    /// Who issues the certificates; the tenant's name when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// 1 to 10,000 recipients.
    pub recipients: Vec<Recipient>,
    /// How to e-mail each certificate to recipients with an address; a default message when
    /// omitted. Subject and HTML may use `{{ recipient_name }}`, `{{ course_title }}`,
    /// `{{ issued_on }}`, `{{ credits }}`, `{{ issuer }}` and `{{ verification_url }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<BatchEmail>,
}

/// One recipient of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// The name printed on the certificate, up to 120 characters.
    pub name: String,
    /// Where to e-mail the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The e-mail to send with each certificate: a stored template, or a subject and HTML body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct BatchEmail {
    /// A stored template's name (`/v1/templates`), rendered with the certificate's variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The subject, with `subject` + `html` instead of a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The HTML body, up to 100,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

impl BatchEmail {
    /// Checks the email under `field`; with `allow_default`, an empty object means "the default
    /// message" (a single certificate opting in to email without choosing its content).
    pub fn check_into(&self, c: &mut Checker, field: &str, allow_default: bool) {
        match (&self.template, &self.subject, &self.html) {
            (None, None, None) if allow_default => {}
            (Some(t), None, None) => c.line(&format!("{field}.template"), t, 100),
            (None, Some(s), Some(h)) => {
                c.line(&format!("{field}.subject"), s, 200);
                c.paragraphs(&format!("{field}.html"), h, 100_000);
                let inline = crate::email::templates::Template {
                    name: "certificate-email".into(),
                    subject: s.clone(),
                    html: Some(h.clone()),
                    text: None,
                    created_at: 0,
                    updated_at: 0,
                };
                if let Err(Invalid(errors)) = crate::email::templates::check(&inline) {
                    for e in errors {
                        c.fail(format!("{field}.{}", e.field), e.message);
                    }
                }
            }
            _ if allow_default => c.fail(
                field,
                "give a template, or subject and html, or {} for the default message",
            ),
            _ => c.fail(field, "give either template, or subject and html"),
        }
    }
}

impl BatchRequest {
    /// Field checks beyond the types (field names relative to the body).
    pub fn check(&self) -> Result<(), Invalid> {
        let mut c = Checker::default();
        c.line("course_title", &self.course_title, MAX_TITLE);
        c.optional_line("issuer", self.issuer.as_deref(), MAX_ISSUER);
        check_credits(&mut c, "credits", self.credits);
        if c.count("recipients", self.recipients.len(), 1, MAX_RECIPIENTS) {
            for (i, r) in self.recipients.iter().enumerate() {
                c.line(&format!("recipients[{i}].name"), &r.name, MAX_NAME);
                if let Some(e) = &r.email {
                    c.email(&format!("recipients[{i}].email"), e);
                }
            }
        }
        if let Some(email) = &self.email {
            email.check_into(&mut c, "email", false);
        }
        c.finish("")
    }
}

/// What the expand job needs, stored with the batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchSpec {
    pub request: BatchRequest,
    /// The issuer printed (resolved from the tenant's name when not given).
    pub issuer: String,
    /// The base of verification URLs, e.g. `https://docs.example.com`.
    pub verify_base: String,
}

word_enum!(
    /// Whether a batch's documents are recorded yet.
    Expansion {
        /// Recorded; its expand job has not recorded the documents yet.
        Queued => "queued",
        /// Every document recorded and its render handed over.
        Expanded => "expanded",
    }
);

/// A batch as stored.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: BatchId,
    pub tenant: TenantId,
    pub status: Expansion,
    pub spec: BatchSpec,
    pub total: u32,
    pub job_id: JobId,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How far a batch's documents have got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub recorded: u32,
    pub rendered: u32,
    pub failed: u32,
}

/// The id of the job that expands `batch`.
pub fn expand_job_id(batch: &BatchId) -> JobId {
    JobId::from_trusted(format!(
        "job_expand-{}",
        batch.as_str().trim_start_matches("cbat_")
    ))
}

/// Records a batch (status `queued`).
pub async fn insert(
    db: &Db,
    id: &BatchId,
    tenant: &TenantId,
    spec: &BatchSpec,
) -> Result<(), DbError> {
    let now = now_ms();
    let spec_json = serde_json::to_string(spec).map_err(|e| DbError::Unavailable(e.to_string()))?;
    sqlx::query("INSERT INTO certificate_batches (id, tenant_id, status, spec, total, job_id, created_at, updated_at) VALUES ($1, $2, 'queued', $3, $4, $5, $6, $6)")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(spec_json)
        .bind(spec.request.recipients.len() as i64)
        .bind(expand_job_id(id).as_str().to_owned())
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// One of a tenant's batches.
pub async fn get(db: &Db, tenant: &TenantId, id: &BatchId) -> Result<Option<Batch>, DbError> {
    let row = sqlx::query("SELECT id, tenant_id, status, spec, total, job_id, created_at, updated_at FROM certificate_batches WHERE id = $1 AND tenant_id = $2")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else { return Ok(None) };
    let spec: String = r.try_get(3)?;
    Ok(Some(Batch {
        id: BatchId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        status: r
            .try_get::<String, _>(2)?
            .parse()
            .map_err(DbError::Unavailable)?,
        spec: serde_json::from_str(&spec)
            .map_err(|e| DbError::Unavailable(format!("corrupt batch spec: {e}")))?,
        total: u32::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
        job_id: JobId::from_trusted(r.try_get::<String, _>(5)?),
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
    }))
}

/// Batches not yet expanded that have not changed since `before` (ms), oldest first, as
/// (tenant, batch): what the recovery sweep re-dispatches.
pub async fn stalled(
    db: &Db,
    before: i64,
    limit: i64,
) -> Result<Vec<(TenantId, BatchId)>, DbError> {
    db.tenant_ids(
        "SELECT tenant_id, id FROM certificate_batches WHERE status = 'queued' AND updated_at < $1 ORDER BY updated_at LIMIT $2",
        before,
        limit,
        BatchId::from_trusted,
    )
    .await
}

/// Marks a batch as expanded (every document recorded and enqueued).
pub async fn mark_expanded(db: &Db, id: &BatchId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE certificate_batches SET status = 'expanded', updated_at = $1 WHERE id = $2",
    )
    .bind(now_ms())
    .bind(id.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Deletes a batch whose expand job could not be enqueued.
pub async fn delete(db: &Db, tenant: &TenantId, id: &BatchId) -> Result<(), DbError> {
    sqlx::query("DELETE FROM certificate_batches WHERE id = $1 AND tenant_id = $2")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Counts a batch's documents by status.
pub async fn progress(db: &Db, id: &BatchId) -> Result<Progress, DbError> {
    let rows =
        sqlx::query("SELECT status, COUNT(*) FROM documents WHERE batch_id = $1 GROUP BY status")
            .bind(id.as_str())
            .fetch_all(db.pool())
            .await?;
    let mut p = Progress::default();
    for r in rows {
        let status: String = r.try_get(0)?;
        let n = u32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0);
        p.recorded += n;
        match status.as_str() {
            "ready" => p.rendered += n,
            "failed" => p.failed += n,
            _ => {}
        }
    }
    Ok(p)
}

/// How far a batch's certificate emails have got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailProgress {
    /// Accepted by the mail server.
    pub sent: u32,
    /// Will not arrive: bounced, failed, suppressed, or could not be created.
    pub failed: u32,
}

/// Counts a batch's certificate emails by outcome.
pub async fn email_progress(db: &Db, id: &BatchId) -> Result<EmailProgress, DbError> {
    let rows = sqlx::query(
        "SELECT e.status, COUNT(*) FROM documents d JOIN emails e ON e.id = d.email_id WHERE d.batch_id = $1 GROUP BY e.status",
    )
    .bind(id.as_str())
    .fetch_all(db.pool())
    .await?;
    let mut p = EmailProgress::default();
    for r in rows {
        let status: String = r.try_get(0)?;
        let n = u32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0);
        match status.as_str() {
            "sent" => p.sent += n,
            "bounced" | "failed" | "suppressed" | "cancelled" => p.failed += n,
            _ => {}
        }
    }
    let not_created: i64 = sqlx::query(
        "SELECT COUNT(*) FROM documents WHERE batch_id = $1 AND email_id IS NULL AND email_error IS NOT NULL",
    )
    .bind(id.as_str())
    .fetch_one(db.pool())
    .await?
    .try_get(0)?;
    p.failed += u32::try_from(not_created).unwrap_or(0);
    Ok(p)
}

/// The ids of a batch's documents, in recipient order.
pub async fn document_ids(db: &Db, id: &BatchId) -> Result<Vec<DocumentId>, DbError> {
    let rows = sqlx::query("SELECT id FROM documents WHERE batch_id = $1 ORDER BY id")
        .bind(id.as_str())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok(DocumentId::from_trusted(r.try_get::<String, _>(0)?)))
        .collect()
}
