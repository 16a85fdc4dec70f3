//! Email events in the database: tracking events written in batches (each with its event
//! back to the tenant's app, in the same transaction), an email's history, and its engagement
//! counters (computed from the events, human and machine apart).

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::app_events::{self, EmailFacts};
use super::model::{Counters, Engagement, Event, EventKind};
use crate::db::{Db, DbError, Dialect};
use crate::events::{self, NewEvent};
use crate::ids::{EmailId, TenantId};

/// An open, click or unsubscribe to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub email: EmailId,
    pub tenant: TenantId,
    pub kind: EventKind,
    pub at: i64,
    /// Why it looks automated; `None` for a person.
    pub machine: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub fingerprint: Option<String>,
    pub link: Option<String>,
    pub data: Option<serde_json::Value>,
    /// Names this sighting (a fresh ULID when the request was seen): the key of its app event
    /// ([`app_events::tracked`]), so a batch written again after a failure keeps its ids.
    pub sighting: String,
}

/// Columns bound per row of a batch insert.
const PER_ROW: usize = 10;
/// Rows per statement (keeps under SQLite's parameter limit).
pub const ROWS_PER_STATEMENT: usize = 90;

/// Inserts events with their app events, many rows per statement, in one transaction.
pub async fn insert_batch(db: &Db, events: &[Tracked]) -> Result<(), DbError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    insert_on(&mut tx, db.dialect(), events).await?;
    tx.commit().await?;
    Ok(())
}

/// [`insert_batch`] on `conn`, inside the caller's transaction: the history rows, many per
/// statement; one read of the emails' tags, metadata and recipients for all of them; then one
/// [`events::record`] of every app event (one statement on PostgreSQL).
pub async fn insert_on(
    conn: &mut AnyConnection,
    dialect: Dialect,
    events: &[Tracked],
) -> Result<(), DbError> {
    if events.is_empty() {
        return Ok(());
    }
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let marks: Vec<String> = (1..=PER_ROW)
                    .map(|c| format!("${}", r * PER_ROW + c))
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO email_events (email_id, tenant_id, kind, at, machine, user_agent, ip, fingerprint, link, data) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(e.email.as_str().to_owned())
                .bind(e.tenant.as_str().to_owned())
                .bind(e.kind.as_str())
                .bind(e.at)
                .bind(e.machine.clone())
                .bind(e.user_agent.clone())
                .bind(e.ip.clone())
                .bind(e.fingerprint.clone())
                .bind(e.link.clone())
                .bind(e.data.as_ref().map(|d| d.to_string()));
        }
        q.execute(&mut *conn).await?;
    }
    let mut tenants: Vec<&str> = events.iter().map(|e| e.tenant.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    if !events::record::listening(conn, &tenants).await? {
        return Ok(());
    }
    let facts = email_facts(conn, dialect, events).await?;
    let app: Vec<NewEvent> = events
        .iter()
        .filter_map(|t| {
            let known = facts
                .get(t.email.as_str())
                .filter(|(tenant, _)| *tenant == t.tenant.as_str())
                .map(|(_, f)| f);
            app_events::tracked(t, known)
        })
        .collect();
    events::record(conn, dialect, &app).await?;
    Ok(())
}

/// What the app events of `events` say about their emails, by email id (with the tenant it
/// belongs to), read in one query.
async fn email_facts(
    conn: &mut AnyConnection,
    dialect: Dialect,
    events: &[Tracked],
) -> Result<HashMap<String, (String, EmailFacts)>, DbError> {
    let mut ids: Vec<&str> = events.iter().map(|t| t.email.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let list = match dialect {
        Dialect::Postgres => "SELECT json_array_elements_text($1::json)",
        Dialect::Sqlite => "SELECT value FROM json_each($1)",
    };
    let sql = format!(
        "SELECT id, tenant_id, message_id, tags, metadata, recipient_keys FROM emails WHERE id IN ({list})"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
        .fetch_all(&mut *conn)
        .await?;
    let list_of = |text: String| serde_json::from_str::<Vec<String>>(&text).unwrap_or_default();
    rows.iter()
        .map(|r| {
            let facts = EmailFacts {
                message_id: r.try_get(2)?,
                tags: list_of(r.try_get(3)?),
                metadata: r
                    .try_get::<Option<String>, _>(4)?
                    .and_then(|t| serde_json::from_str(&t).ok()),
                recipients: list_of(r.try_get(5)?),
            };
            Ok((r.try_get(0)?, (r.try_get(1)?, facts)))
        })
        .collect()
}

/// An email's events in order, at most `limit`.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    email: &EmailId,
    limit: usize,
) -> Result<Vec<Event>, DbError> {
    let rows = sqlx::query("SELECT kind, at, machine, user_agent, ip, link, data FROM email_events WHERE email_id = $1 AND tenant_id = $2 ORDER BY at, id LIMIT $3")
        .bind(email.as_str())
        .bind(tenant.as_str())
        .bind(limit as i64)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(0)?;
            Ok(Event {
                kind: kind.parse().map_err(DbError::Unavailable)?,
                at: r.try_get(1)?,
                machine: r.try_get(2)?,
                user_agent: r.try_get(3)?,
                ip: r.try_get(4)?,
                link: r.try_get(5)?,
                data: r
                    .try_get::<Option<String>, _>(6)?
                    .and_then(|t| serde_json::from_str(&t).ok()),
            })
        })
        .collect()
}

/// Opens and clicks of an email, total and distinct, human and machine apart.
pub async fn counters(db: &Db, tenant: &TenantId, email: &EmailId) -> Result<Counters, DbError> {
    let mut all = counters_many(db, tenant, std::slice::from_ref(email)).await?;
    Ok(all.pop().unwrap_or_default())
}

/// [`counters`] of several emails in one query, in the order given.
pub async fn counters_many(
    db: &Db,
    tenant: &TenantId,
    emails: &[EmailId],
) -> Result<Vec<Counters>, DbError> {
    let mut out = vec![Counters::default(); emails.len()];
    if emails.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (2..emails.len() + 2).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT email_id, kind, CASE WHEN machine IS NULL THEN 0 ELSE 1 END AS m, COUNT(*), COUNT(DISTINCT fingerprint) \
         FROM email_events WHERE tenant_id = $1 AND email_id IN ({}) AND kind IN ('opened', 'clicked') \
         GROUP BY email_id, kind, CASE WHEN machine IS NULL THEN 0 ELSE 1 END",
        marks.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str());
    for e in emails {
        q = q.bind(e.as_str());
    }
    for r in q.fetch_all(db.pool()).await? {
        let id: String = r.try_get(0)?;
        let Some(slot) = emails.iter().position(|e| e.as_str() == id) else {
            continue;
        };
        let kind: String = r.try_get(1)?;
        let machine: i64 = r
            .try_get::<i32, _>(2)
            .map(i64::from)
            .or_else(|_| r.try_get::<i64, _>(2))?;
        let total = u64::try_from(r.try_get::<i64, _>(3)?).unwrap_or(0);
        let unique = u64::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0);
        let c = &mut out[slot];
        let e: &mut Engagement = if machine == 0 {
            &mut c.human
        } else {
            &mut c.machine
        };
        if kind == "opened" {
            e.opens = total;
            e.unique_opens = unique;
        } else {
            e.clicks = total;
            e.unique_clicks = unique;
        }
    }
    Ok(out)
}
