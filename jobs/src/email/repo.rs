//! Emails in the database (SQL shared by PostgreSQL and SQLite). Client-reachable reads are
//! scoped by tenant: another tenant's id is simply not found.
//!
//! The send claim lives in the email row (`status = 'sending'`, `claim_token`, `claim_until`):
//! it is the idempotency record of the SMTP conversation (see `delivery`).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{Email, EmailStatus, EventKind};
use crate::clock::now_ms;
use crate::db::{Db, DbError, Dialect};
use crate::ids::{EmailId, JobId, TenantId};

const COLUMNS: &str = "id, tenant_id, status, job_id, from_addr, reply_to, to_addrs, cc_addrs, \
    bcc_addrs, subject, html, text_body, template, attachments, track_opens, track_clicks, tags, \
    metadata, message_id, send_at, attempts, last_reply, interrupted, suppressed, request_id, \
    created_at, updated_at, sent_at";
/// How many columns [`COLUMNS`] names.
const COLUMN_COUNT: usize = 28;

fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(format!("corrupt email row: {what}"))
}

fn list_of(text: String) -> Result<Vec<String>, DbError> {
    serde_json::from_str(&text).map_err(corrupt)
}

fn json_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn from_row(r: &AnyRow) -> Result<Email, DbError> {
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
        attachments: list_of(r.try_get(13)?)?,
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
    .bind(json_text(&e.attachments))
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
    let data = e.send_at.map(|t| serde_json::json!({ "send_at": crate::clock::from_ms(t) }));
    insert_event(&mut tx, e, EventKind::Queued, e.created_at, data).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_event(
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

/// A page of a tenant's emails, newest first, after the `cursor` id.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    status: Option<EmailStatus>,
    tag: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Email>, DbError> {
    let mut sql = format!("SELECT {COLUMNS} FROM emails WHERE tenant_id = $1");
    let mut n = 1;
    if status.is_some() {
        n += 1;
        sql.push_str(&format!(" AND status = ${n}"));
    }
    if tag.is_some() {
        n += 1;
        sql.push_str(&format!(
            " AND id IN (SELECT email_id FROM email_tags WHERE tenant_id = $1 AND tag = ${n})"
        ));
    }
    if cursor.is_some() {
        n += 1;
        sql.push_str(&format!(" AND id < ${n}"));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str());
    if let Some(s) = status {
        q = q.bind(s.as_str());
    }
    if let Some(t) = tag {
        q = q.bind(t);
    }
    if let Some(c) = cursor {
        q = q.bind(c);
    }
    let rows = q.bind(limit as i64).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// A claimed email and, when the database could tell in the same statement, which of its
/// recipients are suppressed.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub email: Email,
    /// `Some` on PostgreSQL (looked up by the claim itself); `None`: ask [`super::suppressions::which`].
    pub suppressed: Option<Vec<String>>,
}

/// Takes the send claim: from `queued` or `deferred`, or from `sending` whose claim expired (its
/// worker died mid-attempt; `interrupted` is then set). Counts the attempt. `None` when another
/// attempt holds a live claim or the email is final. On PostgreSQL the same statement returns
/// the suppressed recipients, saving a round trip per email.
pub async fn claim(
    db: &Db,
    tenant: &TenantId,
    id: &EmailId,
    token: &str,
    until: i64,
) -> Result<Option<Claimed>, DbError> {
    let now = now_ms();
    let extra = match db.dialect() {
        Dialect::Postgres => ", (SELECT string_agg(s.address, chr(10)) FROM email_suppressions s \
            WHERE s.tenant_id = emails.tenant_id AND s.address IN \
            (SELECT json_array_elements_text(emails.recipient_keys::json)))",
        Dialect::Sqlite => "",
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE emails SET claim_token = $1, claim_until = $2, updated_at = $3, \
         interrupted = CASE WHEN status = 'sending' THEN 1 ELSE 0 END, status = 'sending', \
         attempts = attempts + 1 \
         WHERE id = $4 AND tenant_id = $5 AND (status IN ('queued', 'deferred') \
         OR (status = 'sending' AND claim_until < $3)) RETURNING {COLUMNS}{extra}"
    )))
    .bind(token)
    .bind(until)
    .bind(now)
    .bind(id.as_str())
    .bind(tenant.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let suppressed = match db.dialect() {
        Dialect::Postgres => Some(
            row.try_get::<Option<String>, _>(COLUMN_COUNT)?
                .map(|s| s.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
        ),
        Dialect::Sqlite => None,
    };
    Ok(Some(Claimed {
        email: from_row(&row)?,
        suppressed,
    }))
}

/// How long the live claim on an email still lasts, in ms (0 if none).
pub async fn claim_remaining(db: &Db, id: &EmailId) -> Result<i64, DbError> {
    let row = sqlx::query("SELECT claim_until FROM emails WHERE id = $1 AND status = 'sending'")
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    let until: Option<i64> = match row {
        Some(r) => r.try_get(0)?,
        None => None,
    };
    Ok(until.map(|u| (u - now_ms()).max(0)).unwrap_or(0))
}

/// An attempt's result, to record with [`finish`].
#[derive(Debug, Clone)]
pub struct Finish {
    pub status: EmailStatus,
    pub event: EventKind,
    pub reply: Option<String>,
    pub data: Option<serde_json::Value>,
    /// Recipients left out because they are suppressed.
    pub suppressed: Vec<String>,
}

/// Records an attempt's result and releases the claim, with its event, atomically.
///
/// `sent` is recorded whatever claim is current (the server accepted the message; that fact
/// wins); every other result only if `token` still holds the claim (a stale attempt changes
/// nothing). Returns whether the row changed. On PostgreSQL this is one statement (one round
/// trip on the hot path); on SQLite a local transaction.
pub async fn finish(db: &Db, e: &Email, token: &str, f: &Finish) -> Result<bool, DbError> {
    let now = now_ms();
    let sent = f.status == EmailStatus::Sent;
    let guard = if sent {
        "status NOT IN ('sent', 'bounced', 'failed', 'suppressed', 'cancelled')"
    } else {
        "status = 'sending' AND claim_token = $7"
    };
    let update = format!(
        "UPDATE emails SET status = $1, last_reply = $2, suppressed = $3, updated_at = $4, \
         sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END, \
         first_deferred_at = CASE WHEN $1 = 'deferred' THEN COALESCE(first_deferred_at, $4) ELSE first_deferred_at END, \
         claim_token = NULL, claim_until = NULL WHERE id = $5 AND tenant_id = $6 AND {guard}"
    );
    let bind = |q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>| {
        let q = q
            .bind(f.status.as_str())
            .bind(f.reply.clone())
            .bind((!f.suppressed.is_empty()).then(|| json_text(&f.suppressed)))
            .bind(now)
            .bind(e.id.as_str().to_owned())
            .bind(e.tenant.as_str().to_owned());
        if sent { q } else { q.bind(token.to_owned()) }
    };
    let data = f.data.as_ref().map(|d| d.to_string());
    if db.dialect() == Dialect::Postgres {
        let (k, d) = if sent { (7, 8) } else { (8, 9) };
        let sql = format!(
            "WITH u AS ({update} RETURNING id, tenant_id) INSERT INTO email_events (email_id, tenant_id, kind, at, data) \
             SELECT id, tenant_id, ${k}, $4, ${d} FROM u"
        );
        let done = bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .bind(f.event.as_str())
            .bind(data)
            .execute(db.pool())
            .await?;
        return Ok(done.rows_affected() == 1);
    }
    let mut tx = db.pool().begin().await?;
    let done = bind(sqlx::query(sqlx::AssertSqlSafe(update))).execute(&mut *tx).await?;
    if done.rows_affected() == 1 {
        insert_event(&mut tx, e, f.event, now, f.data.clone()).await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
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

/// When the email was first deferred (the start of its give-up clock), if ever.
pub async fn first_deferred_at(db: &Db, id: &EmailId) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT first_deferred_at FROM emails WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => None,
    })
}

/// Hands back a claim that was not used (no conversation took place): the email returns to
/// `deferred` if it had been deferred before, otherwise to `queued`, and the attempt is undone.
pub async fn release(db: &Db, id: &EmailId, token: &str) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE emails SET status = CASE WHEN first_deferred_at IS NULL THEN 'queued' ELSE 'deferred' END, \
         claim_token = NULL, claim_until = NULL, attempts = attempts - 1, updated_at = $1 \
         WHERE id = $2 AND claim_token = $3",
    )
    .bind(now_ms())
    .bind(id.as_str())
    .bind(token)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The `to` addresses of an email, whatever its tenant (the unsubscribe endpoint has a verified
/// token naming the tenant and email, not an API key).
pub async fn recipients(db: &Db, tenant: &TenantId, id: &EmailId) -> Result<Option<Vec<String>>, DbError> {
    let row = sqlx::query("SELECT to_addrs FROM emails WHERE id = $1 AND tenant_id = $2")
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| list_of(r.try_get(0)?)).transpose()
}
