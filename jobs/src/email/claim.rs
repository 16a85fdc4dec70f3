//! The send claim: the idempotency record of an email's SMTP conversation, kept in the email
//! row (`status = 'sending'`, `claim_token`, `claim_until`). It is written before any
//! conversation and completed (released with the outcome) after it; see `delivery` for how it
//! keeps a retried, re-delivered or raced job from sending a second copy.
//!
//! When a claim ends is the database's clock's business ([`Dialect::now_sql`]): a claim is
//! taken for a duration, `claim_until` is the database's now plus it, and whether a claim has
//! expired is asked of the same clock, so a worker whose clock is off can neither take over a
//! live claim nor hold one past its end.
//!
//! Right before the message goes to the server the attempt marks its claim *transmitted*
//! ([`mark_transmitted`]: the token gains [`TRANSMITTED`]). An attempt that takes over an
//! expired claim so marked knows the server may already have the message (`interrupted = 2`,
//! [`Claimed::transmitted`]) and must not send it again.

use sqlx::Row;

use super::model::{Email, EmailStatus, EventKind};
use super::repo::{COLUMN_COUNT, COLUMNS, from_row, insert_event, json_text};
use crate::clock::now_ms;
use crate::db::{Db, DbError, Dialect};
use crate::events::{self, NewEvent};
use crate::ids::{EmailId, TenantId};

/// A claimed email and, when the database could tell in the same statement, which of its
/// recipients are suppressed.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub email: Email,
    /// `Some` on PostgreSQL (looked up by the claim itself); `None`: ask [`super::suppressions::which`].
    pub suppressed: Option<Vec<String>>,
    /// The claim took over from an attempt that died after it had started transmitting the
    /// message: the server may have accepted it, so it must not be sent again.
    pub transmitted: bool,
}

/// Appended to the claim token by [`mark_transmitted`].
pub const TRANSMITTED: &str = "+data";

/// The `SET` clause of a claim: `interrupted` is 0 for a fresh claim, 1 when it takes over an
/// expired one whose attempt had not started transmitting, 2 when it had.
pub(super) const CLAIM_SET: &str = "interrupted = CASE WHEN status = 'sending' THEN \
    (CASE WHEN claim_token LIKE '%+data' THEN 2 ELSE 1 END) ELSE 0 END, status = 'sending', \
    attempts = attempts + 1";

/// The claimable rows: `queued`, `deferred`, or `sending` with a claim expired at `now` (the
/// database's clock, [`Dialect::now_sql`]).
pub(super) fn claimable(now: &str) -> String {
    format!("(status IN ('queued', 'deferred') OR (status = 'sending' AND claim_until < {now}))")
}

/// Reads a claimed row: the email, then (PostgreSQL) the suppressed recipients at `COLUMN_COUNT`.
pub(super) fn claimed_from_row(
    row: &sqlx::any::AnyRow,
    dialect: Dialect,
) -> Result<Claimed, DbError> {
    let suppressed = match dialect {
        Dialect::Postgres => Some(
            row.try_get::<Option<String>, _>(COLUMN_COUNT)?
                .map(|s| s.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
        ),
        Dialect::Sqlite => None,
    };
    Ok(Claimed {
        email: from_row(row)?,
        suppressed,
        transmitted: row.try_get::<i64, _>(INTERRUPTED)? == 2,
    })
}

/// The position of `interrupted` in [`COLUMNS`].
const INTERRUPTED: usize = 22;

/// The PostgreSQL expression returning a claimed email's suppressed recipients.
pub(super) const SUPPRESSED_PG: &str = "(SELECT string_agg(s.address, chr(10)) FROM email_suppressions s \
    WHERE s.tenant_id = emails.tenant_id AND s.address IN \
    (SELECT json_array_elements_text(emails.recipient_keys::json)))";

/// Takes the send claim for `hold_ms` (from the database's now): from `queued` or `deferred`,
/// or from `sending` whose claim expired (its worker died mid-attempt; `interrupted` is then
/// set). Counts the attempt. `None` when another attempt holds a live claim or the email is
/// final. On PostgreSQL the same statement returns the suppressed recipients, saving a round
/// trip per email.
pub async fn claim(
    db: &Db,
    tenant: &TenantId,
    id: &EmailId,
    token: &str,
    hold_ms: i64,
) -> Result<Option<Claimed>, DbError> {
    let db_now = db.dialect().now_sql();
    let extra = match db.dialect() {
        Dialect::Postgres => format!(", {SUPPRESSED_PG}"),
        Dialect::Sqlite => String::new(),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE emails SET claim_token = $1, claim_until = {db_now} + $2, updated_at = $3, \
         {CLAIM_SET} WHERE id = $4 AND tenant_id = $5 AND {} RETURNING {COLUMNS}{extra}",
        claimable(db_now)
    )))
    .bind(token)
    .bind(hold_ms)
    .bind(now_ms())
    .bind(id.as_str())
    .bind(tenant.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| claimed_from_row(&r, db.dialect())).transpose()
}

/// Marks the claim held by `token` as transmitting, right before the message goes to the
/// server. False when the claim is no longer this attempt's: then nothing may be sent.
pub async fn mark_transmitted(db: &Db, id: &EmailId, token: &str) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE emails SET claim_token = claim_token || '+data' \
         WHERE id = $1 AND status = 'sending' AND claim_token = $2",
    )
    .bind(id.as_str())
    .bind(token)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How long the live claim on an email still lasts, in ms (0 if none), by the database's clock.
pub async fn claim_remaining(db: &Db, id: &EmailId) -> Result<i64, DbError> {
    let sql = format!(
        "SELECT claim_until - {} FROM emails WHERE id = $1 AND status = 'sending'",
        db.dialect().now_sql()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    let left: Option<i64> = match row {
        Some(r) => r.try_get(0)?,
        None => None,
    };
    Ok(left.map(|ms| ms.max(0)).unwrap_or(0))
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
    /// The events back to the tenant's app ([`super::app_events::outcome`]), recorded with the
    /// result if it changes the row. Built once per outcome, so a write that is retried
    /// records them once.
    pub events: Vec<NewEvent>,
}

/// Records an attempt's result and releases the claim, with its history event and its app
/// events ([`Finish::events`]), atomically.
///
/// `sent` is recorded whatever claim is current (the server accepted the message; that fact
/// wins); every other result only if `token` still holds the claim (a stale attempt changes
/// nothing, and records no event). Returns whether the row changed. On PostgreSQL the change and
/// its history event are one statement, and the app events one more, in one transaction; on
/// SQLite a local transaction too.
pub async fn finish(db: &Db, e: &Email, token: &str, f: &Finish) -> Result<bool, DbError> {
    let now = now_ms();
    let sent = f.status == EmailStatus::Sent;
    let guard = if sent {
        "status NOT IN ('sent', 'bounced', 'failed', 'suppressed', 'cancelled')"
    } else {
        // The attempt's token, before or after it was marked transmitted.
        "status = 'sending' AND (claim_token = $7 OR claim_token = $7 || '+data')"
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
    let mut tx = db.pool().begin().await?;
    let changed = if db.dialect() == Dialect::Postgres {
        let (k, d) = if sent { (7, 8) } else { (8, 9) };
        let sql = format!(
            "WITH u AS ({update} RETURNING id, tenant_id) INSERT INTO email_events (email_id, tenant_id, kind, at, data) \
             SELECT id, tenant_id, ${k}, $4, ${d} FROM u"
        );
        let done = bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .bind(f.event.as_str())
            .bind(data)
            .execute(&mut *tx)
            .await?;
        done.rows_affected() == 1
    } else {
        let done = bind(sqlx::query(sqlx::AssertSqlSafe(update)))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            insert_event(&mut tx, e, f.event, now, f.data.clone()).await?;
        }
        done.rows_affected() == 1
    };
    if changed {
        events::record(&mut tx, db.dialect(), &f.events).await?;
    }
    tx.commit().await?;
    Ok(changed)
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
/// A claim marked transmitted is handed back too: the caller knows nothing went out.
pub async fn release(db: &Db, id: &EmailId, token: &str) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE emails SET status = CASE WHEN first_deferred_at IS NULL THEN 'queued' ELSE 'deferred' END, \
         claim_token = NULL, claim_until = NULL, attempts = attempts - 1, updated_at = $1 \
         WHERE id = $2 AND (claim_token = $3 OR claim_token = $3 || '+data')",
    )
    .bind(now_ms())
    .bind(id.as_str())
    .bind(token)
    .execute(db.pool())
    .await?;
    Ok(())
}
