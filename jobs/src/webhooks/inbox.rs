//! The inbox: every verified delivery, one row per (endpoint, gateway event id).
//!
//! The unique key is the deduplication: a second delivery of the same event inserts nothing. Rows
//! are kept [`crate::config::Config::webhook_retention_days`] (at least 30 days), far longer than
//! any gateway retries, in the database rather than behind a short Redis TTL.
//!
//! Status: `received` (stored, waiting for its apply job) → `processed` (applied), `ignored`
//! (no effect: unknown type, or the state machine's reason), `deferred` (a refund waiting for
//! its payment to succeed) or `failed` (unreadable, no such payment, or the job gave up).

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Provider;
use super::open_events::{self, Settled};
use crate::clock::now_ms;
use crate::db::{Db, DbError, Dialect};
use crate::ids::{JobId, PaymentId, TenantId, WebhookEndpointId, WebhookEventId};
use crate::intent::{Intent, Next};
use crate::payments::bulk::push_placeholders;
use crate::payments::{ListQuery, Page};
use crate::words::word_enum;

word_enum!(
    /// Every status an inbox row can have.
    InboxStatus {
        /// Stored; its apply job is due (open).
        Received => "received",
        /// Applied to its payment, payout or expense.
        Processed => "processed",
        /// Nothing to do (an unknown event type, a repeat, an out-of-order event).
        Ignored => "ignored",
        /// A refund parked until its payment is captured (open).
        Deferred => "deferred",
        /// Could not be applied; waits for an operator's replay (open).
        Failed => "failed",
    }
);

impl InboxStatus {
    /// Whether rows with this status are still waiting on something (the sweeper, a
    /// payment's capture, an operator), and so mirrored in `webhook_events_open`.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            InboxStatus::Received | InboxStatus::Deferred | InboxStatus::Failed
        )
    }
}

/// A delivery to store.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub tenant: &'a TenantId,
    pub endpoint: &'a WebhookEndpointId,
    pub provider: Provider,
    /// The gateway's event id (Stripe's `id`, Standard Webhooks' `webhook-id`).
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub occurred_at: Option<i64>,
    pub body: &'a str,
    /// `received`, or `ignored` for types Longshore does not act on.
    pub status: InboxStatus,
    pub reason: Option<&'a str>,
}

/// Inserts a delivery; `None` if this endpoint already received this event id.
pub async fn insert(db: &Db, e: &NewEvent<'_>) -> Result<Option<WebhookEventId>, DbError> {
    Ok(insert_many(db, std::slice::from_ref(e))
        .await?
        .pop()
        .flatten())
}

/// Inserts several deliveries in one statement (one round trip, one commit); for each, in
/// order, its new row id, or `None` if this endpoint already had this event id (earlier, or
/// earlier in the same batch).
pub async fn insert_many(
    db: &Db,
    events: &[NewEvent<'_>],
) -> Result<Vec<Option<WebhookEventId>>, DbError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_ms();
    let ids: Vec<WebhookEventId> = events.iter().map(|_| WebhookEventId::new()).collect();
    let mut sql = String::with_capacity(200 + events.len() * 64);
    sql.push_str(
        "INSERT INTO webhook_events (id, tenant_id, endpoint_id, provider, event_id, event_type, occurred_at, body, status, reason, replays, received_at, updated_at) VALUES ",
    );
    for i in 0..events.len() {
        let b = i * 11;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 0, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9,
            b + 10,
            b + 11,
            b + 11
        ));
    }
    sql.push_str(" ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id");
    if db.dialect() == Dialect::Postgres {
        // The new `received` rows are open: they enter that table in the same statement.
        sql.insert_str(0, "WITH e AS (");
        sql.push_str(
            ", tenant_id, status, updated_at), o AS (INSERT INTO webhook_events_open (id, tenant_id, status, updated_at) \
             SELECT id, tenant_id, status, updated_at FROM e WHERE status = 'received') SELECT id FROM e",
        );
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (id, e) in ids.iter().zip(events) {
        q = q
            .bind(id.as_str())
            .bind(e.tenant.as_str())
            .bind(e.endpoint.as_str())
            .bind(e.provider.as_str())
            .bind(e.event_id)
            .bind(e.event_type)
            .bind(e.occurred_at)
            .bind(e.body)
            .bind(e.status.as_str())
            .bind(e.reason)
            .bind(now);
    }
    let rows = match db.dialect() {
        Dialect::Postgres => q.fetch_all(db.pool()).await?,
        Dialect::Sqlite => {
            let mut tx = db.pool().begin_with("BEGIN IMMEDIATE").await?;
            let rows = q.fetch_all(&mut *tx).await?;
            if !rows.is_empty() {
                let mut sql = String::from(
                    "INSERT INTO webhook_events_open (id, tenant_id, status, updated_at) \
                     SELECT id, tenant_id, status, updated_at FROM webhook_events WHERE status = 'received' AND id IN ",
                );
                push_placeholders(&mut sql, 1, rows.len(), 1);
                let mut copy = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in &rows {
                    copy = copy.bind(r.try_get::<String, _>(0)?);
                }
                copy.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            rows
        }
    };
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    for r in &rows {
        inserted.insert(r.try_get::<String, _>(0)?);
    }
    Ok(ids
        .into_iter()
        .map(|id| inserted.contains(id.as_str()).then_some(id))
        .collect())
}

/// The intent that applies an inbox row (`replays`: how often an operator replayed it).
pub fn apply_intent(
    tenant: &TenantId,
    event: &WebhookEventId,
    replays: i64,
    request_id: Option<String>,
) -> Next {
    let intent = Intent::ApplyEvent {
        event: event.clone(),
        replays,
    };
    Next::new(tenant, intent, request_id)
}

/// The apply job's id for an inbox row: derived, so enqueueing it twice is a no-op. Each replay
/// gets a fresh one (`-r<n>`), since the first job already exists.
pub fn apply_job_id(id: &WebhookEventId, replays: i64) -> Result<JobId, DbError> {
    let raw = if replays == 0 {
        format!("job_{id}")
    } else {
        format!("job_{id}-r{replays}")
    };
    raw.parse()
        .map_err(|_| DbError::Unavailable(format!("cannot derive a job id from {id}")))
}

/// An inbox row as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxEvent {
    pub id: WebhookEventId,
    pub endpoint: WebhookEndpointId,
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    pub status: InboxStatus,
    pub reason: Option<String>,
    pub payment: Option<PaymentId>,
    pub occurred_at: Option<i64>,
    pub replays: i64,
    pub received_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, endpoint_id, provider, event_id, event_type, status, reason, payment_id, occurred_at, replays, received_at, updated_at";

fn decode(r: &AnyRow) -> Result<InboxEvent, DbError> {
    Ok(InboxEvent {
        id: WebhookEventId::from_trusted(r.try_get::<String, _>(0)?),
        endpoint: WebhookEndpointId::from_trusted(r.try_get::<String, _>(1)?),
        provider: r.try_get(2)?,
        event_id: r.try_get(3)?,
        event_type: r.try_get(4)?,
        status: r
            .try_get::<String, _>(5)?
            .parse()
            .map_err(DbError::Unavailable)?,
        reason: r.try_get(6)?,
        payment: r
            .try_get::<Option<String>, _>(7)?
            .map(PaymentId::from_trusted),
        occurred_at: r.try_get(8)?,
        replays: r.try_get(9)?,
        received_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
    })
}

/// One inbox row of `tenant`.
pub async fn get(
    db: &Db,
    tenant: &TenantId,
    id: &WebhookEventId,
) -> Result<Option<InboxEvent>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_events WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(decode).transpose()
}

/// A page of `tenant`'s inbox, newest first.
pub async fn list(db: &Db, tenant: &TenantId, q: &ListQuery) -> Result<Page<InboxEvent>, DbError> {
    // One static statement per filter. Open rows are found through the open table's
    // (tenant_id, status, id) index; closed ones (nearly all) and the whole inbox through the
    // inbox's (tenant_id, id) index.
    let sql = match q.status.as_deref() {
        Some(status) if status.parse().is_ok_and(InboxStatus::is_open) => {
            "SELECT e.id, e.endpoint_id, e.provider, e.event_id, e.event_type, e.status, e.reason, e.payment_id, e.occurred_at, e.replays, e.received_at, e.updated_at \
                    FROM webhook_events_open o JOIN webhook_events e ON e.id = o.id \
                    WHERE o.tenant_id = $1 AND o.status = $2 AND o.id < $3 ORDER BY o.id DESC LIMIT $4"
        }
        Some(_) => {
            "SELECT id, endpoint_id, provider, event_id, event_type, status, reason, payment_id, occurred_at, replays, received_at, updated_at \
                    FROM webhook_events WHERE tenant_id = $1 AND status = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
        }
        None => {
            "SELECT id, endpoint_id, provider, event_id, event_type, status, reason, payment_id, occurred_at, replays, received_at, updated_at \
                 FROM webhook_events WHERE tenant_id = $1 AND $2 = '' AND id < $3 ORDER BY id DESC LIMIT $4"
        }
    };
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(q.status.as_deref().unwrap_or(""))
        .bind(q.cursor.as_deref().unwrap_or(CURSOR_START))
        .bind(q.limit + 1)
        .fetch_all(db.pool())
        .await?;
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(items, q.limit, |e| e.id.to_string()))
}

/// Sorts after every id (ids are ASCII letters, digits, `_` and `-`): the first page's cursor.
const CURSOR_START: &str = "~";

/// What a replay request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reopened {
    /// Back to `received`; enqueue the apply job with this replay count.
    Yes {
        replays: i64,
    },
    /// `received` (still in flight) or `processed` (its effect happened; applying it again
    /// would double it).
    NotReplayable(InboxStatus),
    NotFound,
}

/// Puts an `ignored`, `deferred` or `failed` row back to `received` for another apply.
pub async fn reopen(db: &Db, tenant: &TenantId, id: &WebhookEventId) -> Result<Reopened, DbError> {
    let now = now_ms();
    let mut tx = super::apply::begin(db).await?;
    let done = sqlx::query(
        "UPDATE webhook_events SET status = 'received', reason = NULL, replays = replays + 1, updated_at = $1 \
         WHERE tenant_id = $2 AND id = $3 AND status IN ('ignored', 'deferred', 'failed')",
    )
    .bind(now)
    .bind(tenant.as_str())
    .bind(id.as_str())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        let row = Settled {
            id,
            status: InboxStatus::Received,
            payment: None,
        };
        open_events::settle(&mut tx, &[row], now).await?;
    }
    tx.commit().await?;
    let Some(row) = get(db, tenant, id).await? else {
        return Ok(Reopened::NotFound);
    };
    if done.rows_affected() == 1 {
        Ok(Reopened::Yes {
            replays: row.replays,
        })
    } else {
        Ok(Reopened::NotReplayable(row.status))
    }
}

/// Rows still `received` since before `before` (epoch ms): the sweeper's work list.
pub async fn stalled(
    db: &Db,
    before: i64,
    max: i64,
) -> Result<Vec<(TenantId, WebhookEventId, i64)>, DbError> {
    let rows = sqlx::query(
        "SELECT o.tenant_id, o.id, e.replays FROM webhook_events_open o JOIN webhook_events e ON e.id = o.id \
         WHERE o.status = 'received' AND o.updated_at < $1 ORDER BY o.updated_at LIMIT $2",
    )
    .bind(before)
    .bind(max)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                TenantId::from_trusted(r.try_get::<String, _>(0)?),
                WebhookEventId::from_trusted(r.try_get::<String, _>(1)?),
                r.try_get(2)?,
            ))
        })
        .collect()
}

/// Marks a still-`received` row `failed` (its job gave up); false if it had moved on.
pub async fn fail_if_received(db: &Db, id: &WebhookEventId, reason: &str) -> Result<bool, DbError> {
    let now = now_ms();
    let mut tx = super::apply::begin(db).await?;
    let done = sqlx::query("UPDATE webhook_events SET status = 'failed', reason = $1, updated_at = $2 WHERE id = $3 AND status = 'received'")
        .bind(reason)
        .bind(now)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let failed = done.rows_affected() == 1;
    if failed {
        let row = Settled {
            id,
            status: InboxStatus::Failed,
            payment: None,
        };
        open_events::settle(&mut tx, &[row], now).await?;
    }
    tx.commit().await?;
    Ok(failed)
}

/// Deletes up to `max` finished rows received before `before`; returns how many.
///
/// Row ids are ULIDs minted at intake, so "received before" is an id range: the primary key
/// finds the old rows without reading the whole inbox.
pub async fn purge(db: &Db, before: i64, max: i64) -> Result<u64, DbError> {
    let mut tx = super::apply::begin(db).await?;
    let gone = sqlx::query(
        "DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events WHERE id < $1 AND received_at < $2 AND status IN ('processed', 'ignored', 'failed') ORDER BY id LIMIT $3) RETURNING id, status",
    )
    .bind(WebhookEventId::first_at(before).as_str())
    .bind(before)
    .bind(max)
    .fetch_all(&mut *tx)
    .await?;
    // Failed rows also leave the open table.
    let mut mirrored = Vec::new();
    for r in &gone {
        let status = r.try_get::<String, _>(1)?;
        if status.parse().is_ok_and(InboxStatus::is_open) {
            mirrored.push(r.try_get::<String, _>(0)?);
        }
    }
    open_events::remove(&mut tx, mirrored.iter().map(String::as_str)).await?;
    tx.commit().await?;
    Ok(gone.len() as u64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::now_ms;

    /// Stores a Standard Webhooks delivery with a fresh endpoint and event id; returns its row.
    pub(crate) async fn store(
        db: &Db,
        tenant: &TenantId,
        event_type: &str,
        occurred_at: Option<i64>,
        body: &str,
        status: InboxStatus,
    ) -> WebhookEventId {
        let endpoint = WebhookEndpointId::new();
        let event_id = WebhookEventId::new().to_string();
        let new = NewEvent {
            tenant,
            endpoint: &endpoint,
            provider: Provider::Standard,
            event_id: &event_id,
            event_type,
            occurred_at,
            body,
            status,
            reason: None,
        };
        insert(db, &new).await.expect("insert").expect("new row")
    }

    /// The ids `tenant`'s listing shows for `status`.
    async fn listed(db: &Db, tenant: &TenantId, status: InboxStatus) -> Vec<WebhookEventId> {
        let q = ListQuery {
            status: Some(status.to_string()),
            cursor: None,
            limit: 100,
        };
        let page = list(db, tenant, &q).await.expect("list");
        page.items.into_iter().map(|e| e.id).collect()
    }

    /// How many rows the open table holds for `id` (0 or 1).
    async fn mirrored(db: &Db, id: &WebhookEventId) -> i64 {
        sqlx::query("SELECT count(*) FROM webhook_events_open WHERE id = $1")
            .bind(id.as_str())
            .fetch_one(db.pool())
            .await
            .expect("count")
            .try_get(0)
            .expect("count")
    }

    #[tokio::test]
    async fn a_row_is_found_by_status_through_every_change_and_leaves_the_open_table_once_closed() {
        for (db, _dir) in crate::db::test_databases().await {
            let tenant = TenantId::new();
            let applied = store(
                &db,
                &tenant,
                "payment.succeeded",
                None,
                "{}",
                InboxStatus::Received,
            )
            .await;
            let given_up = store(
                &db,
                &tenant,
                "payment.succeeded",
                None,
                "{}",
                InboxStatus::Received,
            )
            .await;
            let unknown = store(
                &db,
                &tenant,
                "customer.created",
                None,
                "{}",
                InboxStatus::Ignored,
            )
            .await;

            assert_eq!(
                listed(&db, &tenant, InboxStatus::Received).await,
                vec![given_up.clone(), applied.clone()]
            );
            assert_eq!(
                listed(&db, &tenant, InboxStatus::Ignored).await,
                vec![unknown.clone()]
            );
            // Stored closed: never open.
            assert_eq!(mirrored(&db, &unknown).await, 0);
            assert_eq!(mirrored(&db, &applied).await, 1);
            let stalled_ids: Vec<WebhookEventId> = stalled(&db, now_ms() + 1_000, 100)
                .await
                .expect("stalled")
                .into_iter()
                .map(|(_, id, _)| id)
                .collect();
            assert!(stalled_ids.contains(&applied) && stalled_ids.contains(&given_up));
            assert!(!stalled_ids.contains(&unknown));

            // Applied: processed, found through the inbox itself, gone from the mirror.
            let mut tx = super::super::apply::begin(&db).await.expect("begin");
            crate::webhooks::claims::finish(&mut tx, &applied, InboxStatus::Processed, None, None)
                .await
                .expect("finish");
            tx.commit().await.expect("commit");
            assert_eq!(
                listed(&db, &tenant, InboxStatus::Processed).await,
                vec![applied.clone()]
            );
            assert_eq!(mirrored(&db, &applied).await, 0);

            // Given up: failed, then replayed back to received.
            assert!(
                fail_if_received(&db, &given_up, "gave up")
                    .await
                    .expect("fail")
            );
            assert_eq!(
                listed(&db, &tenant, InboxStatus::Failed).await,
                vec![given_up.clone()]
            );
            assert_eq!(
                listed(&db, &tenant, InboxStatus::Received).await,
                Vec::<WebhookEventId>::new()
            );
            assert!(matches!(
                reopen(&db, &tenant, &given_up).await.expect("reopen"),
                Reopened::Yes { replays: 1 }
            ));
            assert_eq!(
                listed(&db, &tenant, InboxStatus::Received).await,
                vec![given_up.clone()]
            );
            assert_eq!(
                listed(&db, &tenant, InboxStatus::Failed).await,
                Vec::<WebhookEventId>::new()
            );

            // Failed again, then purged with the closed rows: gone from both tables.
            assert!(
                fail_if_received(&db, &given_up, "gave up")
                    .await
                    .expect("fail")
            );
            assert_eq!(purge(&db, now_ms() + 1_000, 10).await.expect("purge"), 3);
            assert_eq!(mirrored(&db, &given_up).await, 0);
            assert!(get(&db, &tenant, &given_up).await.expect("get").is_none());
        }
    }

    #[tokio::test]
    async fn purge_deletes_only_handled_rows_received_before_the_cutoff() {
        for (db, _dir) in crate::db::test_databases().await {
            let tenant = TenantId::new();
            let handled = store(
                &db,
                &tenant,
                "customer.created",
                None,
                "{}",
                InboxStatus::Ignored,
            )
            .await;
            let waiting = store(
                &db,
                &tenant,
                "payment.succeeded",
                None,
                "{}",
                InboxStatus::Received,
            )
            .await;

            // A cutoff before both rows were received deletes nothing.
            assert_eq!(purge(&db, now_ms() - 60_000, 10).await.expect("purge"), 0);
            // A cutoff after both deletes the handled row and keeps the one still waiting.
            assert_eq!(purge(&db, now_ms() + 1_000, 10).await.expect("purge"), 1);
            assert!(get(&db, &tenant, &handled).await.expect("get").is_none());
            assert!(get(&db, &tenant, &waiting).await.expect("get").is_some());
        }
    }
}
