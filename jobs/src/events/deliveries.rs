//! Delivery rows: claimed by couriers under a lease, finished under the claim's token, failed
//! when their endpoint is disabled, replayed on request.
//!
//! A claim takes due deliveries endpoint by endpoint, never more per endpoint than its free
//! concurrency (its `max_concurrent` minus the attempts out now, counted across every
//! worker), so a slow or dead endpoint holds only its own slots and never the claims of
//! another endpoint or tenant. A claimed row's `next_attempt_at` becomes the end of its lease:
//! if its worker dies, the row is due again then and another worker takes it, under a new
//! token, so the dead worker's late outcome is not recorded (the receiver may see the event
//! twice, with one `webhook-id`).
//!
//! When a delivery is due, and when its lease ends, is the database's clock's business
//! ([`Dialect::now_sql`]): couriers pass durations (the lease, a retry delay, a wait), never
//! instants, so a worker whose clock is off neither takes over a live lease nor sends a retry
//! early.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::model::{Delivery, DeliveryStatus, EventAttempt};
use crate::clock::{from_ms, now_ms};
use crate::db::{Db, DbError, Dialect};
use crate::ids::{EventEndpointId, EventId, TenantId};

/// One delivery a courier took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub event: EventId,
    pub endpoint: EventEndpointId,
    pub tenant: TenantId,
    /// This attempt's number (every attempt of the delivery counts).
    pub attempt: u32,
    /// This attempt's number since the last replay (what the retry schedule counts).
    pub in_schedule: u32,
    pub token: String,
}

/// What a claim returns, per row.
const CLAIMED: &str = "event_id, endpoint_id, tenant_id, attempts, attempt_base";

/// Takes up to `limit` due deliveries (see the module documentation) under `token`, leased
/// for `lease_ms` from the database's now.
pub async fn claim(
    db: &Db,
    lease_ms: i64,
    token: &str,
    limit: usize,
) -> Result<Vec<Claimed>, DbError> {
    let now = db.dialect().now_sql();
    let in_flight = format!(
        "(SELECT count(*) FROM event_deliveries o WHERE o.endpoint_id = e.id \
         AND o.lease_token IS NOT NULL AND o.status = 'pending' AND o.next_attempt_at > {now})"
    );
    let sql = match db.dialect() {
        // Per endpoint, an index range of its due rows (LATERAL), locked without waiting on
        // another worker's claim.
        Dialect::Postgres => format!(
            "WITH c AS (SELECT d.event_id, d.endpoint_id FROM event_endpoints e \
               CROSS JOIN LATERAL (SELECT event_id, endpoint_id FROM event_deliveries d \
                 WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= {now} \
                 ORDER BY d.next_attempt_at LIMIT GREATEST(e.max_concurrent - {in_flight}, 0) \
                 FOR UPDATE SKIP LOCKED) d \
               WHERE e.enabled = 1 LIMIT $2) \
             UPDATE event_deliveries u SET lease_token = $3, attempts = u.attempts + 1, \
               next_attempt_at = {now} + $4, updated_at = $1 \
             FROM c WHERE u.event_id = c.event_id AND u.endpoint_id = c.endpoint_id \
             RETURNING u.event_id, u.endpoint_id, u.tenant_id, u.attempts, u.attempt_base"
        ),
        // One writer at a time: the statement is atomic by itself.
        Dialect::Sqlite => format!(
            "UPDATE event_deliveries SET lease_token = $3, attempts = attempts + 1, \
               next_attempt_at = {now} + $4, updated_at = $1 \
             WHERE (event_id, endpoint_id) IN (SELECT event_id, endpoint_id FROM ( \
               SELECT d.event_id, d.endpoint_id, \
                 ROW_NUMBER() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at) AS rn, \
                 e.max_concurrent - {in_flight} AS free \
               FROM event_deliveries d JOIN event_endpoints e ON e.id = d.endpoint_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= {now} AND e.enabled = 1) \
               WHERE rn <= free LIMIT $2) \
             RETURNING {CLAIMED}"
        ),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now_ms())
        .bind(limit as i64)
        .bind(token)
        .bind(lease_ms)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let attempts: i64 = r.try_get(3)?;
            let base: i64 = r.try_get(4)?;
            Ok(Claimed {
                event: EventId::from_trusted(r.try_get::<String, _>(0)?),
                endpoint: EventEndpointId::from_trusted(r.try_get::<String, _>(1)?),
                tenant: TenantId::from_trusted(r.try_get::<String, _>(2)?),
                attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                in_schedule: u32::try_from(attempts - base).unwrap_or(1).max(1),
                token: token.to_owned(),
            })
        })
        .collect()
}

/// The bodies of `events`, by id.
pub async fn bodies(db: &Db, events: &[&EventId]) -> Result<Vec<(EventId, String)>, DbError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=events.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, body FROM events WHERE id IN ({})",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for e in events {
        q = q.bind(e.as_str());
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok((
                EventId::from_trusted(r.try_get::<String, _>(0)?),
                r.try_get(1)?,
            ))
        })
        .collect()
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Succeeded,
    /// Try again this many milliseconds after the outcome is recorded (by the database's
    /// clock).
    RetryIn(i64),
    /// No attempts left (or the endpoint is gone): `failed`.
    Failed,
}

/// One attempt's outcome, recorded under its claim's token.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub claimed: Claimed,
    pub started_at: i64,
    pub latency_ms: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub excerpt: Option<String>,
    pub then: Then,
}

impl Outcome {
    fn status_word(&self) -> &'static str {
        match self.then {
            Then::Succeeded => DeliveryStatus::Succeeded.as_str(),
            Then::RetryIn(_) => DeliveryStatus::Pending.as_str(),
            Then::Failed => DeliveryStatus::Failed.as_str(),
        }
    }

    /// The retry delay in ms, if the delivery is tried again.
    fn next_in(&self) -> Option<i64> {
        match self.then {
            Then::RetryIn(ms) => Some(ms),
            _ => None,
        }
    }

    fn attempt_id(&self) -> String {
        let ms = u64::try_from(self.started_at).unwrap_or(0);
        format!("att_{}", ulid::Ulid::from_parts(ms, rand::random()))
    }
}

/// Records outcomes (the row's new state and the attempt log) in one transaction; returns,
/// per outcome, whether its claim still held (a late outcome of a lost lease is dropped).
pub async fn finish(db: &Db, outcomes: Vec<Outcome>, now: i64) -> Result<Vec<bool>, DbError> {
    let kept = match db.dialect() {
        Dialect::Postgres => finish_postgres(db, &outcomes, now).await?,
        Dialect::Sqlite => {
            let mut tx = db.pool().begin().await?;
            let mut kept = Vec::with_capacity(outcomes.len());
            for o in &outcomes {
                kept.push(finish_one(&mut tx, o, now).await?);
            }
            tx.commit().await?;
            kept
        }
    };
    for (o, _) in outcomes.iter().zip(&kept).filter(|(_, held)| **held) {
        crate::metrics::event_attempt(o.status_word());
    }
    Ok(kept)
}

async fn finish_postgres(db: &Db, outcomes: &[Outcome], now: i64) -> Result<Vec<bool>, DbError> {
    let rows: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "ev": o.claimed.event.as_str(), "ep": o.claimed.endpoint.as_str(),
                "tok": o.claimed.token, "st": o.status_word(), "nxt": o.next_in(),
                "aid": o.attempt_id(), "att": o.claimed.attempt, "at": o.started_at,
                "lat": o.latency_ms, "ok": i64::from(o.then == Then::Succeeded),
                "code": o.status, "err": o.error, "exc": o.excerpt,
            })
        })
        .collect();
    let sql = format!(
        "WITH v AS (SELECT * FROM json_to_recordset($1::json) AS v(ev text, ep text, tok text, \
           st text, nxt bigint, aid text, att bigint, at bigint, lat bigint, ok bigint, \
           code bigint, err text, exc text)), \
         u AS (UPDATE event_deliveries d SET status = v.st, \
           next_attempt_at = COALESCE({} + v.nxt, d.next_attempt_at), lease_token = NULL, \
           last_attempt_at = v.at, last_status = v.code, last_error = v.err, updated_at = $2 \
           FROM v WHERE d.event_id = v.ev AND d.endpoint_id = v.ep AND d.lease_token = v.tok \
           RETURNING d.event_id, d.endpoint_id, d.tenant_id), \
         a AS (INSERT INTO event_attempts (id, endpoint_id, event_id, attempt, tenant_id, \
           started_at, latency_ms, succeeded, status, error, excerpt) \
           SELECT v.aid, v.ep, v.ev, v.att, u.tenant_id, v.at, v.lat, v.ok, v.code, v.err, v.exc \
           FROM u JOIN v ON v.ev = u.event_id AND v.ep = u.endpoint_id \
           ON CONFLICT DO NOTHING) \
         SELECT event_id, endpoint_id FROM u",
        Dialect::Postgres.now_sql()
    );
    let kept = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now)
        .fetch_all(db.pool())
        .await?;
    let kept: std::collections::HashSet<(String, String)> = kept
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, DbError>>()?;
    Ok(outcomes
        .iter()
        .map(|o| {
            kept.contains(&(
                o.claimed.event.as_str().to_owned(),
                o.claimed.endpoint.as_str().to_owned(),
            ))
        })
        .collect())
}

async fn finish_one(conn: &mut AnyConnection, o: &Outcome, now: i64) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE event_deliveries SET status = $4, \
         next_attempt_at = COALESCE({} + $5, next_attempt_at), lease_token = NULL, \
         last_attempt_at = $6, last_status = $7, last_error = $8, updated_at = $9 \
         WHERE event_id = $1 AND endpoint_id = $2 AND lease_token = $3",
        Dialect::Sqlite.now_sql()
    );
    let updated = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(o.claimed.event.as_str())
        .bind(o.claimed.endpoint.as_str())
        .bind(&o.claimed.token)
        .bind(o.status_word())
        .bind(o.next_in())
        .bind(o.started_at)
        .bind(o.status)
        .bind(o.error.as_deref())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO event_attempts (id, endpoint_id, event_id, attempt, tenant_id, started_at, \
         latency_ms, succeeded, status, error, excerpt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
    )
    .bind(o.attempt_id())
    .bind(o.claimed.endpoint.as_str())
    .bind(o.claimed.event.as_str())
    .bind(i64::from(o.claimed.attempt))
    .bind(o.claimed.tenant.as_str())
    .bind(o.started_at)
    .bind(o.latency_ms)
    .bind(i64::from(o.then == Then::Succeeded))
    .bind(o.status)
    .bind(o.error.as_deref())
    .bind(o.excerpt.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Gives claims back unattempted (the endpoint's rate limit said wait): due again `wait_ms`
/// from the database's now, their attempt not counted.
pub async fn give_back(db: &Db, claims: &[Claimed], wait_ms: i64) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE event_deliveries SET lease_token = NULL, attempts = attempts - 1, \
         next_attempt_at = {} + $4 WHERE event_id = $1 AND endpoint_id = $2 AND lease_token = $3",
        db.dialect().now_sql()
    );
    let mut tx = db.pool().begin().await?;
    for c in claims {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(c.event.as_str())
            .bind(c.endpoint.as_str())
            .bind(&c.token)
            .bind(wait_ms)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Ends the endpoint's pending deliveries as `failed` (it was disabled); an attempt out now
/// keeps its claim and records its own outcome.
pub async fn fail_pending(
    conn: &mut AnyConnection,
    endpoint: &EventEndpointId,
    why: &str,
    now: i64,
) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE event_deliveries SET status = 'failed', last_error = $2, updated_at = $3 \
         WHERE endpoint_id = $1 AND status = 'pending' AND lease_token IS NULL",
    )
    .bind(endpoint.as_str())
    .bind(why)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Sends one event again: to every endpoint it was delivered to, or to `endpoint` only (which
/// then gets a delivery even if it had none). Returns how many deliveries were scheduled.
pub async fn replay_event(
    db: &Db,
    tenant: &TenantId,
    event: &EventId,
    endpoint: Option<&EventEndpointId>,
    now: i64,
) -> Result<u64, DbError> {
    let due = db.dialect().now_sql();
    let mut tx = db.pool().begin().await?;
    if let Some(endpoint) = endpoint {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO event_deliveries (event_id, endpoint_id, tenant_id, status, \
             next_attempt_at, created_at, updated_at) \
             SELECT v.id, p.id, v.tenant_id, 'pending', {due}, $4, $4 FROM events v \
             JOIN event_endpoints p ON p.tenant_id = v.tenant_id AND p.id = $3 \
             WHERE v.tenant_id = $1 AND v.id = $2 ON CONFLICT DO NOTHING"
        )))
        .bind(tenant.as_str())
        .bind(event.as_str())
        .bind(endpoint.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE event_deliveries SET status = 'pending', attempt_base = attempts, \
         next_attempt_at = {due}, updated_at = $4 \
         WHERE tenant_id = $1 AND event_id = $2 AND ($3 = '' OR endpoint_id = $3) \
         AND (status <> 'pending' OR attempts = 0)"
    )))
    .bind(tenant.as_str())
    .bind(event.as_str())
    .bind(endpoint.map_or("", |e| e.as_str()))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Sends again every `failed` delivery of the endpoint whose event came at or after `since`.
pub async fn replay_failed(
    db: &Db,
    tenant: &TenantId,
    endpoint: &EventEndpointId,
    since: i64,
    now: i64,
) -> Result<u64, DbError> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE event_deliveries SET status = 'pending', attempt_base = attempts, \
         next_attempt_at = {}, updated_at = $4 \
         WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'failed' AND created_at >= $3",
        db.dialect().now_sql()
    )))
    .bind(tenant.as_str())
    .bind(endpoint.as_str())
    .bind(since)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

fn delivery(r: &AnyRow) -> Result<Delivery, DbError> {
    let status: String = r.try_get(2)?;
    let st: DeliveryStatus = status.parse().map_err(DbError::Internal)?;
    let next: i64 = r.try_get(4)?;
    Ok(Delivery {
        event: EventId::from_trusted(r.try_get::<String, _>(0)?),
        endpoint: EventEndpointId::from_trusted(r.try_get::<String, _>(1)?),
        status: st,
        attempts: r.try_get(3)?,
        next_attempt_at: (st == DeliveryStatus::Pending).then(|| from_ms(next)),
        last_attempt_at: r.try_get::<Option<i64>, _>(5)?.map(from_ms),
        last_status: r.try_get(6)?,
        last_error: r.try_get(7)?,
    })
}

/// The deliveries of one event.
pub async fn of_event(
    db: &Db,
    tenant: &TenantId,
    event: &EventId,
) -> Result<Vec<Delivery>, DbError> {
    let rows = sqlx::query(
        "SELECT event_id, endpoint_id, status, attempts, next_attempt_at, last_attempt_at, \
         last_status, last_error FROM event_deliveries WHERE tenant_id = $1 AND event_id = $2 \
         ORDER BY endpoint_id",
    )
    .bind(tenant.as_str())
    .bind(event.as_str())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(delivery).collect()
}

/// A page of an endpoint's attempts, newest first, optionally of one event and of one outcome.
pub async fn attempts(
    db: &Db,
    tenant: &TenantId,
    endpoint: &EventEndpointId,
    event: Option<&EventId>,
    succeeded: Option<bool>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<EventAttempt>, Option<String>), DbError> {
    let rows = sqlx::query(
        "SELECT endpoint_id, event_id, attempt, started_at, latency_ms, succeeded, status, error, \
         excerpt, id FROM event_attempts \
         WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3 = '' OR event_id = $3) \
         AND ($4 < 0 OR succeeded = $4) AND ($5 = '' OR id < $5) ORDER BY id DESC LIMIT $6",
    )
    .bind(tenant.as_str())
    .bind(endpoint.as_str())
    .bind(event.map_or("", |e| e.as_str()))
    .bind(succeeded.map_or(-1, i64::from))
    .bind(cursor.unwrap_or(""))
    .bind(limit as i64 + 1)
    .fetch_all(db.pool())
    .await?;
    let mut found = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for r in &rows {
        found.push(EventAttempt {
            endpoint: EventEndpointId::from_trusted(r.try_get::<String, _>(0)?),
            event: EventId::from_trusted(r.try_get::<String, _>(1)?),
            attempt: r.try_get(2)?,
            started_at: from_ms(r.try_get(3)?),
            latency_ms: r.try_get(4)?,
            succeeded: r.try_get::<i64, _>(5)? != 0,
            status: r.try_get(6)?,
            error: r.try_get(7)?,
            excerpt: r.try_get(8)?,
        });
        ids.push(r.try_get::<String, _>(9)?);
    }
    let next = (found.len() > limit).then(|| {
        found.truncate(limit);
        ids[limit - 1].clone()
    });
    Ok((found, next))
}
