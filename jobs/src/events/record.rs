//! Recording events in the transaction of the change that causes them.
//!
//! [`record`] runs on the caller's connection, inside its transaction: the event rows and
//! their fan-out (one delivery row per endpoint subscribed at that moment) commit or roll back
//! with the change, so there is no event without its change and no change without its event.
//! An event already recorded (the same [`crate::ids::EventId`], from a handler that ran twice)
//! is skipped with its fan-out.
//!
//! Events are recorded for tenants that have an event endpoint (enabled or not): for the others
//! nobody would receive them, and writing them cost the email path about a fifth of its
//! throughput (`longshore-bench email`: 840–945 emails/s before events, 696–795 with every
//! change recorded). [`listening`] lets a caller skip building events nobody records.
//!
//! On PostgreSQL every event of a call is written by one statement (a JSON array of rows into
//! a data-modifying CTE), so a batch of 256 sent emails costs one round trip, not 512; SQLite
//! is in-process and writes them one by one.

use sqlx::AnyConnection;

use super::courier;
use super::model::NewEvent;
use crate::clock::now_ms;
use crate::db::{DbError, Dialect};

/// Records `events` and their deliveries on `conn` (inside the caller's transaction); returns
/// how many were new. Workers hear of them at once through [`courier::wake`] (after a short
/// pause that lets the caller commit) and otherwise within their poll interval.
pub async fn record(
    conn: &mut AnyConnection,
    dialect: Dialect,
    events: &[NewEvent],
) -> Result<u64, DbError> {
    if events.is_empty() {
        return Ok(0);
    }
    let now = now_ms();
    let recorded = match dialect {
        Dialect::Postgres => record_postgres(conn, events, now).await?,
        Dialect::Sqlite => {
            let mut n = 0;
            for event in events {
                n += record_one(conn, event, now).await?;
            }
            n
        }
    };
    if recorded > 0 {
        courier::wake();
    }
    Ok(recorded)
}

/// Only for tenants with an endpoint (see the module documentation).
const LISTENING: &str = "EXISTS (SELECT 1 FROM event_endpoints p WHERE p.tenant_id = v.tid)";

/// Whether any of `tenants` has an event endpoint, i.e. whether their events are recorded.
pub async fn listening(conn: &mut AnyConnection, tenants: &[&str]) -> Result<bool, DbError> {
    if tenants.is_empty() {
        return Ok(false);
    }
    let marks: Vec<String> = (1..=tenants.len()).map(|i| format!("${i}")).collect();
    // A count rather than EXISTS: the two dialects agree on its type (an integer).
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM event_endpoints WHERE tenant_id IN ({}) LIMIT 1) x",
        marks.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    for t in tenants {
        q = q.bind(*t);
    }
    Ok(q.fetch_one(&mut *conn).await? > 0)
}

/// The fan-out's condition: subscribed to this type, its group (`email.*`), or everything.
/// (`WHERE` before `ON CONFLICT`: SQLite reads a join's `ON` followed by `ON CONFLICT` as
/// ambiguous otherwise.)
const SUBSCRIBED: &str = "s.event_type IN (x.type, x.grp, '*') WHERE s.endpoint_id IS NOT NULL";

async fn record_postgres(
    conn: &mut AnyConnection,
    events: &[NewEvent],
    now: i64,
) -> Result<u64, DbError> {
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id.as_str(), "tid": e.tenant.as_str(), "typ": e.kind.as_str(),
                "grp": format!("{}.*", e.kind.group()), "rid": e.resource_id,
                "body": e.body(), "at": e.occurred_at,
            })
        })
        .collect();
    let sql = format!(
        "WITH v AS (SELECT * FROM json_to_recordset($1::json) \
           AS v(id text, tid text, typ text, grp text, rid text, body text, at bigint)), \
         x AS (INSERT INTO events (id, tenant_id, type, resource_id, body, occurred_at, created_at) \
           SELECT id, tid, typ, rid, body, at, $2 FROM v WHERE {LISTENING} \
           ON CONFLICT (id) DO NOTHING \
           RETURNING id, tenant_id, type, split_part(type, '.', 1) || '.*' AS grp), \
         d AS (INSERT INTO event_deliveries (event_id, endpoint_id, tenant_id, status, \
           next_attempt_at, created_at, updated_at) \
           SELECT DISTINCT x.id, s.endpoint_id, x.tenant_id, 'pending', {due}, $2, $2 \
           FROM x JOIN event_subscriptions s ON s.tenant_id = x.tenant_id AND {SUBSCRIBED} \
           ON CONFLICT DO NOTHING) \
         SELECT count(*) FROM x",
        due = Dialect::Postgres.now_sql()
    );
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

async fn record_one(conn: &mut AnyConnection, e: &NewEvent, now: i64) -> Result<u64, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO events (id, tenant_id, type, resource_id, body, occurred_at, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7 \
         WHERE EXISTS (SELECT 1 FROM event_endpoints p WHERE p.tenant_id = $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(e.id.as_str())
    .bind(e.tenant.as_str())
    .bind(e.kind.as_str())
    .bind(e.resource_id.as_deref())
    .bind(e.body())
    .bind(e.occurred_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(0);
    }
    let sql = format!(
        "INSERT INTO event_deliveries (event_id, endpoint_id, tenant_id, status, next_attempt_at, \
         created_at, updated_at) \
         SELECT DISTINCT x.id, s.endpoint_id, x.tenant_id, 'pending', {due}, $5, $5 \
         FROM (SELECT $1 AS id, $2 AS tenant_id, $3 AS type, $4 AS grp) x \
         JOIN event_subscriptions s ON s.tenant_id = x.tenant_id AND {SUBSCRIBED} \
         ON CONFLICT DO NOTHING",
        due = Dialect::Sqlite.now_sql()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(e.id.as_str())
        .bind(e.tenant.as_str())
        .bind(e.kind.as_str())
        .bind(format!("{}.*", e.kind.group()))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(1)
}
