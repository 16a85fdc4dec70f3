//! Documents in the database (SQL shared by PostgreSQL and SQLite). Every read and write that a
//! client can reach is scoped by tenant: another tenant's id is simply not found.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::code::VerificationCode;
use super::events;
use super::follow_up::EmailFollowUp;
use super::kinds::DocumentKind;
use super::model::{Document, DocumentStatus};
use crate::clock::now_ms;
use crate::db::page::TenantPage;
use crate::db::{Db, DbError};
use crate::events::EventType;
use crate::ids::{BatchId, DocumentId, EmailId, JobId, TenantId};

pub(super) const COLUMNS: &str = "id, tenant_id, kind, status, data, metadata, job_id, batch_id, issuer, \
    verification_code, verification_url, receipt_number, pages, bytes, sha256, storage_key, \
    failure_reason, revoked_at, created_at, updated_at, rendered_at, follow_up, email_id, email_error";

const INSERT: &str = "INSERT INTO documents (id, tenant_id, kind, status, data, metadata, job_id, \
    batch_id, issuer, verification_code, verification_url, receipt_number, created_at, updated_at, \
    follow_up) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)";

/// A document to record (status `queued`).
#[derive(Debug, Clone)]
pub struct NewRow {
    pub id: DocumentId,
    pub tenant: TenantId,
    pub kind: DocumentKind,
    pub data: serde_json::Value,
    pub metadata: Option<serde_json::Value>,
    pub job_id: JobId,
    pub batch_id: Option<BatchId>,
    pub issuer: String,
    pub verification: Option<(VerificationCode, String)>,
    /// The email to send once it is ready.
    pub follow_up: Option<EmailFollowUp>,
}

fn corrupt(what: &str) -> DbError {
    DbError::Unavailable(format!("corrupt document row: {what}"))
}

fn parse_json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

pub(super) fn from_row(r: &AnyRow) -> Result<Document, DbError> {
    let kind: String = r.try_get(2)?;
    let status: String = r.try_get(3)?;
    let data: String = r.try_get(4)?;
    Ok(Document {
        id: DocumentId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        kind: kind.parse().map_err(|e: String| corrupt(&e))?,
        status: status.parse().map_err(|e: String| corrupt(&e))?,
        data: serde_json::from_str(&data).map_err(|e| corrupt(&e.to_string()))?,
        metadata: parse_json(r.try_get(5)?),
        job_id: JobId::from_trusted(r.try_get::<String, _>(6)?),
        batch_id: r
            .try_get::<Option<String>, _>(7)?
            .map(BatchId::from_trusted),
        issuer: r.try_get(8)?,
        verification_code: r
            .try_get::<Option<String>, _>(9)?
            .map(VerificationCode::from_trusted),
        verification_url: r.try_get(10)?,
        receipt_number: r.try_get(11)?,
        pages: r
            .try_get::<Option<i64>, _>(12)?
            .and_then(|p| u32::try_from(p).ok()),
        bytes: r.try_get(13)?,
        sha256: r.try_get(14)?,
        storage_key: r.try_get(15)?,
        failure_reason: r.try_get(16)?,
        revoked_at: r.try_get(17)?,
        created_at: r.try_get(18)?,
        updated_at: r.try_get(19)?,
        rendered_at: r.try_get(20)?,
        follow_up: r
            .try_get::<Option<String>, _>(21)?
            .map(|t| serde_json::from_str(&t).map_err(|e| corrupt(&e.to_string())))
            .transpose()?,
        email_id: r
            .try_get::<Option<String>, _>(22)?
            .map(EmailId::from_trusted),
        email_error: r.try_get(23)?,
    })
}

fn bind_new<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    row: &NewRow,
    receipt_number: Option<String>,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let (code, url) = match &row.verification {
        Some((c, u)) => (Some(c.as_str().to_owned()), Some(u.clone())),
        None => (None, None),
    };
    q.bind(row.id.as_str().to_owned())
        .bind(row.tenant.as_str().to_owned())
        .bind(row.kind.as_str())
        .bind(row.data.to_string())
        .bind(row.metadata.as_ref().map(|m| m.to_string()))
        .bind(row.job_id.as_str().to_owned())
        .bind(row.batch_id.as_ref().map(|b| b.as_str().to_owned()))
        .bind(row.issuer.clone())
        .bind(code)
        .bind(url)
        .bind(receipt_number)
        .bind(now)
        .bind(
            row.follow_up
                .as_ref()
                .and_then(|f| serde_json::to_string(f).ok()),
        )
}

/// Records a document. Receipts take the tenant's next receipt number in the same transaction,
/// so numbers are unique per tenant and stay with the document through any re-render.
pub async fn insert(db: &Db, row: &NewRow) -> Result<Document, DbError> {
    let now = now_ms();
    let mut number = None;
    if row.kind == DocumentKind::Receipt {
        let mut tx = db.pool().begin().await?;
        sqlx::query("INSERT INTO receipt_sequences (tenant_id, last_number) VALUES ($1, 0) ON CONFLICT (tenant_id) DO NOTHING")
            .bind(row.tenant.as_str())
            .execute(&mut *tx)
            .await?;
        let n: i64 = sqlx::query("UPDATE receipt_sequences SET last_number = last_number + 1 WHERE tenant_id = $1 RETURNING last_number")
            .bind(row.tenant.as_str())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        number = Some(format!("R-{n:06}"));
        bind_new(sqlx::query(INSERT), row, number.clone(), now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    } else {
        bind_new(sqlx::query(INSERT), row, None, now)
            .execute(db.pool())
            .await?;
    }
    let (verification_code, verification_url) = match &row.verification {
        Some((c, u)) => (Some(c.clone()), Some(u.clone())),
        None => (None, None),
    };
    Ok(Document {
        id: row.id.clone(),
        tenant: row.tenant.clone(),
        kind: row.kind,
        status: DocumentStatus::Queued,
        data: row.data.clone(),
        metadata: row.metadata.clone(),
        job_id: row.job_id.clone(),
        batch_id: row.batch_id.clone(),
        issuer: row.issuer.clone(),
        verification_code,
        verification_url,
        receipt_number: number,
        pages: None,
        bytes: None,
        sha256: None,
        storage_key: None,
        failure_reason: None,
        revoked_at: None,
        created_at: now,
        updated_at: now,
        rendered_at: None,
        follow_up: row.follow_up.clone(),
        email_id: None,
        email_error: None,
    })
}

/// Records many documents of a batch; ids already present are left as they are.
pub async fn insert_many(db: &Db, rows: &[NewRow]) -> Result<(), DbError> {
    let now = now_ms();
    let sql = format!("{INSERT} ON CONFLICT (id) DO NOTHING");
    let mut tx = db.pool().begin().await?;
    for row in rows {
        bind_new(
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())),
            row,
            None,
            now,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One of a tenant's documents.
pub async fn get(db: &Db, tenant: &TenantId, id: &DocumentId) -> Result<Option<Document>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM documents WHERE id = $1 AND tenant_id = $2"
    )))
    .bind(id.as_str())
    .bind(tenant.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The document carrying a verification code, whatever its tenant (public verification).
pub async fn get_by_code(db: &Db, code: &VerificationCode) -> Result<Option<Document>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM documents WHERE verification_code = $1"
    )))
    .bind(code.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A page of a tenant's documents, newest first, after the `cursor` id.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    kind: Option<DocumentKind>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Document>, DbError> {
    let rows = TenantPage::new(&format!("SELECT {COLUMNS} FROM documents"), tenant)
        .filter("kind = {}", kind.map(|k| k.as_str()))
        .fetch(db, cursor, limit)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Claims a tenant's document for rendering: moves it to `rendering` (from anything but
/// `ready`) and returns it, in one statement. `None` if it is ready already or does not exist.
pub async fn claim_for_render(
    db: &Db,
    tenant: &TenantId,
    id: &DocumentId,
) -> Result<Option<Document>, DbError> {
    let sql = format!(
        "UPDATE documents SET status = 'rendering', updated_at = $1 WHERE id = $2 AND tenant_id = $3 AND status <> 'ready' RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now_ms())
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Documents waiting on their render job (`queued` or `rendering`) that have not changed since
/// `before` (ms), oldest first, as (tenant, document): what the recovery sweep re-dispatches.
pub async fn stalled(
    db: &Db,
    before: i64,
    limit: i64,
) -> Result<Vec<(TenantId, DocumentId)>, DbError> {
    db.tenant_ids(
        "SELECT tenant_id, id FROM documents WHERE status IN ('queued', 'rendering') AND updated_at < $1 ORDER BY updated_at LIMIT $2",
        before,
        limit,
        DocumentId::from_trusted,
    )
    .await
}

/// Records a rendered, stored document with its `document.ready` event (and its batch's
/// completion), in one transaction. Only a document waiting on its render (`queued` or
/// `rendering`) becomes ready: a second render of a ready one records nothing, and a render
/// that finishes after the document was failed (a paused worker whose lease lapsed and whose
/// job then died elsewhere) is fenced off. True when this call made it ready.
pub async fn mark_ready(
    db: &Db,
    id: &DocumentId,
    pages: u32,
    bytes: i64,
    sha256: &str,
    key: &str,
) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE documents SET status = 'ready', pages = $1, bytes = $2, sha256 = $3, storage_key = $4, \
         failure_reason = NULL, updated_at = $5, rendered_at = $5 \
         WHERE id = $6 AND status IN ('queued', 'rendering') RETURNING {COLUMNS}"
    );
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(pages))
        .bind(bytes)
        .bind(sha256)
        .bind(key)
        .bind(now_ms())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let changed = row.as_ref().map(from_row).transpose()?;
    record_and_commit(tx, db, EventType::DocumentReady, changed).await
}

/// Whether a document is `ready`.
pub async fn is_ready(db: &Db, id: &DocumentId) -> Result<bool, DbError> {
    let row = sqlx::query("SELECT 1 FROM documents WHERE id = $1 AND status = 'ready'")
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

/// Records why a document could not be rendered, with its `document.failed` event (and its
/// batch's completion), in one transaction. Only a document waiting on its render (`queued` or
/// `rendering`) fails: a ready one stays ready, and a failure already recorded is not recorded
/// again. True when this call made it fail.
pub async fn mark_failed(db: &Db, id: &DocumentId, reason: &str) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE documents SET status = 'failed', failure_reason = $1, updated_at = $2 \
         WHERE id = $3 AND status IN ('queued', 'rendering') RETURNING {COLUMNS}"
    );
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reason)
        .bind(now_ms())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let changed = row.as_ref().map(from_row).transpose()?;
    record_and_commit(tx, db, EventType::DocumentFailed, changed).await
}

/// Revokes a tenant's certificate with its `document.revoked` event, in one transaction
/// (idempotent: the first revocation time is kept and only it records the event). True when
/// this call revoked it.
pub async fn revoke(db: &Db, tenant: &TenantId, id: &DocumentId) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE documents SET revoked_at = $1, updated_at = $1 \
         WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL RETURNING {COLUMNS}"
    );
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now_ms())
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let changed = row.as_ref().map(from_row).transpose()?;
    record_and_commit(tx, db, EventType::DocumentRevoked, changed).await
}

/// Records the event of the document a fenced statement changed (none: nothing to record)
/// and commits; true when there was one.
async fn record_and_commit(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    db: &Db,
    kind: EventType,
    changed: Option<Document>,
) -> Result<bool, DbError> {
    let Some(doc) = changed else {
        return Ok(false);
    };
    events::record_changes(&mut tx, db.dialect(), kind, std::slice::from_ref(&doc)).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes a document that never got its job (the enqueue failed).
pub async fn delete(db: &Db, tenant: &TenantId, id: &DocumentId) -> Result<(), DbError> {
    sqlx::query("DELETE FROM documents WHERE id = $1 AND tenant_id = $2")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The tenant's name (the default issuer), if the tenant exists.
pub async fn tenant_name(db: &Db, tenant: &TenantId) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT name FROM tenants WHERE id = $1")
        .bind(tenant.as_str())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Records the follow-up email of a document (and clears an earlier failure reason).
pub async fn set_email(db: &Db, id: &DocumentId, email: &EmailId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE documents SET email_id = $1, email_error = NULL, updated_at = $2 WHERE id = $3",
    )
    .bind(email.as_str())
    .bind(now_ms())
    .bind(id.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records why a document's follow-up email could not be created.
pub async fn set_email_error(db: &Db, id: &DocumentId, reason: &str) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE documents SET email_error = $1, updated_at = $2 WHERE id = $3 AND email_id IS NULL",
    )
    .bind(reason)
    .bind(now_ms())
    .bind(id.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}
