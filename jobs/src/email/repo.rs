//! Emails in the database (SQL shared by PostgreSQL and SQLite). Client-reachable reads are
//! scoped by tenant: another tenant's id is simply not found.
//!
//! The send claim (the idempotency record of the SMTP conversation) is in [`super::claim`].

use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{Email, EmailStatus, EventKind};
use crate::clock::now_ms;
use crate::db::page::TenantPage;
use crate::db::{Db, DbError};
use crate::ids::{EmailId, JobId, TenantId};

pub(super) const COLUMNS: &str = "id, tenant_id, status, job_id, from_addr, reply_to, to_addrs, cc_addrs, \
    bcc_addrs, subject, html, text_body, template, attachments, track_opens, track_clicks, tags, \
    metadata, message_id, send_at, attempts, last_reply, interrupted, suppressed, request_id, \
    created_at, updated_at, sent_at";
/// How many columns [`COLUMNS`] names.
pub(super) const COLUMN_COUNT: usize = 28;

fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(format!("corrupt email row: {what}"))
}

fn list_of(text: String) -> Result<Vec<String>, DbError> {
    serde_json::from_str(&text).map_err(corrupt)
}

pub(super) fn json_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

pub(super) fn from_row(r: &AnyRow) -> Result<Email, DbError> {
    let status: String = r.try_get(2)?;
    Ok(Email {
        id: EmailId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        status: status.parse().map_err(corrupt)?,
        job_id: JobId::from_trusted(r.try_get::<String, _>(3)?),
        from: r.try_get(4)?,
        reply_to: r.try_get(5)?,
        to: list_of(r.try_get(6)?)?,
        cc: list_of(r.try_get(7)?)?,
        bcc: list_of(r.try_get(8)?)?,
        subject: r.try_get(9)?,
        html: r.try_get(10)?,
        text: r.try_get(11)?,
        template: r.try_get(12)?,
        attachments: serde_json::from_str(&r.try_get::<String, _>(13)?).map_err(corrupt)?,
        track_opens: r.try_get::<i64, _>(14)? != 0,
        track_clicks: r.try_get::<i64, _>(15)? != 0,
        tags: list_of(r.try_get(16)?)?,
        metadata: r
            .try_get::<Option<String>, _>(17)?
            .and_then(|t| serde_json::from_str(&t).ok()),
        message_id: r.try_get(18)?,
        send_at: r.try_get(19)?,
        attempts: u32::try_from(r.try_get::<i64, _>(20)?).unwrap_or(u32::MAX),
        last_reply: r.try_get(21)?,
        interrupted: r.try_get::<i64, _>(22)? != 0,
        suppressed: r
            .try_get::<Option<String>, _>(23)?
            .map(list_of)
            .transpose()?
            .unwrap_or_default(),
        request_id: r.try_get(24)?,
        created_at: r.try_get(25)?,
        updated_at: r.try_get(26)?,
        sent_at: r.try_get(27)?,
    })
}

/// The normalised addresses of every recipient, each once.
pub fn recipient_keys(e: &Email) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for raw in e.to.iter().chain(&e.cc).chain(&e.bcc) {
        let key = raw
            .parse::<super::address::Recipient>()
            .map(|r| r.key())
            .unwrap_or_else(|_| super::address::normalise(raw));
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Records a new email (status `queued`), its tags and its `queued` event, in one transaction.
pub async fn insert(db: &Db, e: &Email) -> Result<(), DbError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO emails (id, tenant_id, status, job_id, from_addr, reply_to, to_addrs, cc_addrs, \
         bcc_addrs, subject, html, text_body, template, attachments, track_opens, track_clicks, tags, \
         metadata, message_id, send_at, request_id, created_at, updated_at, recipient_keys) VALUES ($1, $2, $3, \
         $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, $23)",
    )
    .bind(e.id.as_str())
    .bind(e.tenant.as_str())
    .bind(e.status.as_str())
    .bind(e.job_id.as_str())
    .bind(&e.from)
    .bind(e.reply_to.as_deref())
    .bind(json_text(&e.to))
    .bind(json_text(&e.cc))
    .bind(json_text(&e.bcc))
    .bind(&e.subject)
    .bind(e.html.as_deref())
    .bind(&e.text)
    .bind(e.template.as_deref())
    .bind(serde_json::to_string(&e.attachments).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(e.track_opens))
    .bind(i64::from(e.track_clicks))
    .bind(json_text(&e.tags))
    .bind(e.metadata.as_ref().map(|m| m.to_string()))
    .bind(&e.message_id)
    .bind(e.send_at)
    .bind(e.request_id.as_deref())
    .bind(e.created_at)
    .bind(json_text(&recipient_keys(e)))
    .execute(&mut *tx)
    .await?;
    for tag in &e.tags {
        sqlx::query("INSERT INTO email_tags (tenant_id, tag, email_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(e.tenant.as_str())
            .bind(tag)
            .bind(e.id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    let data = e
        .send_at
        .map(|t| serde_json::json!({ "send_at": crate::clock::from_ms(t) }));
    insert_event(&mut tx, e, EventKind::Queued, e.created_at, data).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &Email,
    kind: EventKind,
    at: i64,
    data: Option<serde_json::Value>,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO email_events (email_id, tenant_id, kind, at, data) VALUES ($1, $2, $3, $4, $5)")
        .bind(e.id.as_str())
        .bind(e.tenant.as_str())
        .bind(kind.as_str())
        .bind(at)
        .bind(data.map(|d| d.to_string()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes an email that never got its job (the enqueue failed), with its tags and events.
pub async fn delete(db: &Db, tenant: &TenantId, id: &EmailId) -> Result<(), DbError> {
    let mut tx = db.pool().begin().await?;
    for sql in [
        "DELETE FROM email_events WHERE email_id = $1 AND tenant_id = $2",
        "DELETE FROM email_tags WHERE email_id = $1 AND tenant_id = $2",
        "DELETE FROM emails WHERE id = $1 AND tenant_id = $2",
    ] {
        sqlx::query(sql)
            .bind(id.as_str())
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One of a tenant's emails.
pub async fn get(db: &Db, tenant: &TenantId, id: &EmailId) -> Result<Option<Email>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM emails WHERE id = $1 AND tenant_id = $2"
    )))
    .bind(id.as_str())
    .bind(tenant.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// An email whose send job may have been lost, as the recovery sweep re-dispatches it.
pub struct Stalled {
    pub id: EmailId,
    pub tenant: TenantId,
    pub send_at: Option<i64>,
    pub request_id: Option<String>,
}

/// Emails waiting on their send job that have not changed since `before` (ms), oldest first:
/// `queued` ones already due, `sending` ones whose claim has expired, and `deferred` ones not
/// changed since `deferred_before` (older than the longest retry delay: their retry is overdue).
pub async fn stalled(
    db: &Db,
    before: i64,
    deferred_before: i64,
    limit: i64,
) -> Result<Vec<Stalled>, DbError> {
    let rows = sqlx::query(
        "SELECT id, tenant_id, send_at, request_id FROM emails \
         WHERE status IN ('queued', 'sending', 'deferred') AND updated_at < $1 \
         AND (status <> 'queued' OR send_at IS NULL OR send_at < $1) \
         AND (status <> 'sending' OR claim_until IS NULL OR claim_until < $1) \
         AND (status <> 'deferred' OR updated_at < $2) \
         ORDER BY updated_at LIMIT $3",
    )
    .bind(before)
    .bind(deferred_before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Stalled {
                id: EmailId::from_trusted(r.try_get::<String, _>(0)?),
                tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
                send_at: r.try_get(2)?,
                request_id: r.try_get(3)?,
            })
        })
        .collect()
}

/// A page of a tenant's emails, newest first, after the `cursor` id.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    status: Option<EmailStatus>,
    tag: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Email>, DbError> {
    let rows = TenantPage::new(&format!("SELECT {COLUMNS} FROM emails"), tenant)
        .filter("status = {}", status.map(|s| s.as_str()))
        .filter(
            "id IN (SELECT email_id FROM email_tags WHERE tenant_id = $1 AND tag = {})",
            tag,
        )
        .fetch(db, cursor, limit)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Cancels a `queued` or `deferred` email; false if it is past that.
pub async fn cancel(db: &Db, tenant: &TenantId, id: &EmailId) -> Result<bool, DbError> {
    let now = now_ms();
    let mut tx = db.pool().begin().await?;
    let done = sqlx::query("UPDATE emails SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND tenant_id = $3 AND status IN ('queued', 'deferred')")
        .bind(now)
        .bind(id.as_str())
        .bind(tenant.as_str())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 1 {
        sqlx::query("INSERT INTO email_events (email_id, tenant_id, kind, at) VALUES ($1, $2, 'cancelled', $3)")
            .bind(id.as_str())
            .bind(tenant.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// The `to` addresses of an email, whatever its tenant (the unsubscribe endpoint has a verified
/// token naming the tenant and email, not an API key).
pub async fn recipients(
    db: &Db,
    tenant: &TenantId,
    id: &EmailId,
) -> Result<Option<Vec<String>>, DbError> {
    let row = sqlx::query("SELECT to_addrs FROM emails WHERE id = $1 AND tenant_id = $2")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| list_of(r.try_get(0)?)).transpose()
}
