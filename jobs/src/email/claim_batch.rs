//! The send claim's hot writes for many emails in one PostgreSQL statement each: claims,
//! transmitted marks and `sent` outcomes of concurrent delivery attempts, run by
//! [`super::send_log`] through a [`crate::db::batcher::Batcher`]. Same conditions and effects as the
//! one-email statements in [`super::claim`]; rows travel as one JSON array (the `Any` driver
//! binds no arrays).

use std::collections::HashSet;

use serde_json::json;
use sqlx::Row;

use super::claim::{CLAIM_SET, Claimed, Finish, SUPPRESSED_PG, claimable, claimed_from_row};
use super::repo::{COLUMN_COUNT, COLUMNS, json_text};
use crate::clock::now_ms;
use crate::db::{Db, DbError, Dialect};
use crate::events::{self, NewEvent};
use crate::ids::{EmailId, TenantId};

/// Requests per statement, at most.
pub const MAX_BATCH: usize = 256;

/// One claim to take.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub tenant: TenantId,
    pub id: EmailId,
    pub token: String,
    /// How long the claim lasts, from the database's now.
    pub hold_ms: i64,
}

/// One claim to mark transmitted.
#[derive(Debug, Clone)]
pub struct MarkRequest {
    pub id: EmailId,
    pub token: String,
}

/// One `sent` outcome to record.
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub tenant: TenantId,
    pub id: EmailId,
    pub finish: Finish,
}

/// Takes the claims; each result is what [`super::claim::claim`] would have returned. Of two
/// requests for one email, at most one gets it.
pub async fn claim_many(
    db: Db,
    requests: Vec<ClaimRequest>,
) -> Result<Vec<Option<Claimed>>, DbError> {
    let rows: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| json!({"eid": r.id.as_str(), "tid": r.tenant.as_str(), "tok": r.token, "hold": r.hold_ms}))
        .collect();
    let db_now = Dialect::Postgres.now_sql();
    let sql = format!(
        "UPDATE emails SET claim_token = v.tok, claim_until = {db_now} + v.hold, updated_at = $2, {CLAIM_SET} \
         FROM json_to_recordset($1::json) AS v(eid text, tid text, tok text, hold bigint) \
         WHERE id = v.eid AND tenant_id = v.tid AND {} \
         RETURNING {COLUMNS}, {SUPPRESSED_PG}, claim_token",
        claimable(db_now)
    );
    let found = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now_ms())
        .fetch_all(db.pool())
        .await?;
    let mut claimed = Vec::with_capacity(found.len());
    for row in &found {
        let token: String = row.try_get(COLUMN_COUNT + 1)?;
        claimed.push((token, Some(claimed_from_row(row, Dialect::Postgres)?)));
    }
    Ok(requests
        .iter()
        .map(|r| {
            claimed
                .iter_mut()
                .find(|(token, c)| {
                    *token == r.token && c.as_ref().is_some_and(|c| c.email.id == r.id)
                })
                .and_then(|(_, c)| c.take())
        })
        .collect())
}

/// Marks the claims transmitted; each result says whether the claim was still the request's.
///
/// A matching token implies `status = 'sending'` (every write that leaves `sending` clears the
/// token, and tokens name one attempt). Leaving the status out of the condition matters: with it,
/// PostgreSQL's generic plan picked a bitmap scan of the status index over the whole table (650
/// pages per batch) instead of one primary-key probe per row.
pub async fn mark_many(db: Db, requests: Vec<MarkRequest>) -> Result<Vec<bool>, DbError> {
    let rows: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| json!({"eid": r.id.as_str(), "tok": r.token}))
        .collect();
    let marked = sqlx::query(
        "UPDATE emails SET claim_token = claim_token || '+data' \
         FROM json_to_recordset($1::json) AS v(eid text, tok text) \
         WHERE id = v.eid AND claim_token = v.tok RETURNING id",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .fetch_all(db.pool())
    .await?;
    let marked: HashSet<String> = marked
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    Ok(requests
        .iter()
        .map(|r| marked.contains(r.id.as_str()))
        .collect())
}

/// Records `sent` outcomes with their history events and app events ([`Finish::events`]),
/// whatever claim is current (as [`super::claim::finish`] does for `sent`); each result says
/// whether the row changed. One transaction per batch: the statement that changes the rows,
/// then one [`events::record`] with the app events of the rows it changed (its `RETURNING`
/// rows), never of a request that changed nothing.
pub async fn sent_many(db: Db, requests: Vec<SentRequest>) -> Result<Vec<bool>, DbError> {
    let rows: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| {
            let f = &r.finish;
            json!({
                "eid": r.id.as_str(), "tid": r.tenant.as_str(), "reply": f.reply,
                "supp": (!f.suppressed.is_empty()).then(|| json_text(&f.suppressed)),
                "data": f.data.as_ref().map(|d| d.to_string()),
            })
        })
        .collect();
    let mut tx = db.pool().begin().await?;
    let changed = sqlx::query(
        "WITH v AS (SELECT * FROM json_to_recordset($1::json) AS v(eid text, tid text, reply text, supp text, data text)), \
         u AS (UPDATE emails SET status = 'sent', last_reply = v.reply, suppressed = v.supp, updated_at = $2, \
         sent_at = $2, claim_token = NULL, claim_until = NULL FROM v \
         WHERE emails.id = v.eid AND emails.tenant_id = v.tid \
         AND emails.status NOT IN ('sent', 'bounced', 'failed', 'suppressed', 'cancelled') \
         RETURNING emails.id AS eid, emails.tenant_id AS tid, v.data AS data) \
         INSERT INTO email_events (email_id, tenant_id, kind, at, data) \
         SELECT eid, tid, 'sent', $2, data FROM u RETURNING email_id",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .bind(now_ms())
    .fetch_all(&mut *tx)
    .await?;
    let mut changed: HashSet<String> = changed
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    // A duplicate request for one email changed nothing: the first one did.
    let results: Vec<bool> = requests
        .iter()
        .map(|r| changed.remove(r.id.as_str()))
        .collect();
    let events: Vec<NewEvent> = requests
        .into_iter()
        .zip(&results)
        .filter(|(_, changed)| **changed)
        .flat_map(|(r, _)| r.finish.events)
        .collect();
    events::record(&mut tx, Dialect::Postgres, &events).await?;
    tx.commit().await?;
    Ok(results)
}
