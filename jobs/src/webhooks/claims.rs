//! Inbox rows inside the apply transaction: claimed one at a time (read and locked) or a batch
//! at a time (read, written back only if unchanged), parked refunds looked up by payment, and the rows' new statuses written back, one
//! at a time or with one statement for a whole batch.

use super::inbox::InboxStatus;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::Provider;
use super::open_events::{self, Settled};
use crate::clock::now_ms;
use crate::db::{DbError, Dialect};
use crate::ids::{PaymentId, TenantId, WebhookEventId};
use crate::payments::bulk::push_placeholders;

/// An inbox row inside the apply transaction.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: WebhookEventId,
    pub provider: Provider,
    pub event_type: String,
    pub body: String,
    pub status: InboxStatus,
    pub occurred_at: Option<i64>,
    pub received_at: i64,
}

/// Reads and locks `tenant`'s inbox row for the rest of the transaction.
pub async fn claim(
    tx: &mut AnyConnection,
    dialect: Dialect,
    tenant: &TenantId,
    id: &WebhookEventId,
) -> Result<Option<Claimed>, DbError> {
    let sql = match dialect {
        Dialect::Postgres => {
            "SELECT id, provider, event_type, body, status, occurred_at, received_at FROM webhook_events WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
        }
        Dialect::Sqlite => {
            "SELECT id, provider, event_type, body, status, occurred_at, received_at FROM webhook_events WHERE tenant_id = $1 AND id = $2"
        }
    };
    let row = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    row.as_ref().map(decode_claimed).transpose()
}

/// Reads several inbox rows (any tenant; the caller checks), with their tenant, without locking
/// them: the batch path is optimistic. Its [`finish_many`] writes a row only if it still has the
/// status read here, and the batch is rolled back unless every row was written, so a row that a
/// concurrent transaction handled in between is never applied twice.
///
/// On PostgreSQL the statement text is fixed (the ids travel as one comma-joined parameter; ids
/// never contain commas), so it is prepared and planned once per connection.
pub async fn claim_many(
    tx: &mut AnyConnection,
    dialect: Dialect,
    ids: &[&WebhookEventId],
) -> Result<Vec<(TenantId, Claimed)>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    const SELECT: &str = "SELECT id, provider, event_type, body, status, occurred_at, received_at, tenant_id FROM webhook_events";
    let rows = match dialect {
        Dialect::Postgres => {
            let joined = ids
                .iter()
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(",");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE id = ANY(string_to_array($1, ','))"
            )))
            .bind(joined)
            .fetch_all(&mut *tx)
            .await?
        }
        Dialect::Sqlite => {
            let mut sql = format!("{SELECT} WHERE id IN (");
            for i in 0..ids.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", i + 1));
            }
            sql.push(')');
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                q = q.bind(id.as_str());
            }
            q.fetch_all(&mut *tx).await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok((
                TenantId::from_trusted(r.try_get::<String, _>(7)?),
                decode_claimed(r)?,
            ))
        })
        .collect()
}

/// The `deferred` rows of a payment, oldest event first.
pub async fn deferred_for(
    tx: &mut AnyConnection,
    payment: &PaymentId,
) -> Result<Vec<Claimed>, DbError> {
    let rows = sqlx::query(
        "SELECT e.id, e.provider, e.event_type, e.body, e.status, e.occurred_at, e.received_at \
         FROM webhook_events_open o JOIN webhook_events e ON e.id = o.id \
         WHERE o.payment_id = $1 AND o.status = 'deferred' ORDER BY e.occurred_at, e.id",
    )
    .bind(payment.as_str())
    .fetch_all(&mut *tx)
    .await?;
    rows.iter().map(decode_claimed).collect()
}

fn decode_claimed(r: &AnyRow) -> Result<Claimed, DbError> {
    Ok(Claimed {
        id: WebhookEventId::from_trusted(r.try_get::<String, _>(0)?),
        provider: r
            .try_get::<String, _>(1)?
            .parse()
            .map_err(DbError::Unavailable)?,
        event_type: r.try_get(2)?,
        body: r.try_get(3)?,
        status: r
            .try_get::<String, _>(4)?
            .parse()
            .map_err(DbError::Unavailable)?,
        occurred_at: r.try_get(5)?,
        received_at: r.try_get(6)?,
    })
}

/// Records how a row was handled, inside the apply transaction.
pub async fn finish(
    tx: &mut AnyConnection,
    id: &WebhookEventId,
    status: InboxStatus,
    reason: Option<&str>,
    payment: Option<&PaymentId>,
) -> Result<(), DbError> {
    let now = now_ms();
    sqlx::query("UPDATE webhook_events SET status = $1, reason = $2, payment_id = $3, updated_at = $4 WHERE id = $5")
        .bind(status.as_str())
        .bind(reason)
        .bind(payment.map(PaymentId::as_str))
        .bind(now)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let row = Settled {
        id,
        status,
        payment,
    };
    open_events::settle(tx, &[row], now).await
}

/// A row's new status, for [`finish_many`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finished {
    pub id: WebhookEventId,
    pub status: InboxStatus,
    pub reason: Option<String>,
    #[serde(rename = "payment_id")]
    pub payment: Option<PaymentId>,
    /// The status the row had when it was read: it is written only if it still has it.
    pub expect: InboxStatus,
}

/// Records how several rows were handled, with one statement per 200 rows; returns how many
/// rows were written (fewer than asked if some no longer had their expected status).
pub async fn finish_many(tx: &mut AnyConnection, rows: &[Finished]) -> Result<u64, DbError> {
    let now = now_ms();
    let mut written = 0;
    for chunk in rows.chunks(200) {
        let mut sql = String::from("WITH v (id, status, reason, payment_id, expect) AS (VALUES ");
        push_placeholders(&mut sql, chunk.len(), 5, 2);
        sql.push_str(
            ") UPDATE webhook_events SET status = v.status, reason = v.reason, payment_id = v.payment_id, updated_at = $1 \
             FROM v WHERE webhook_events.id = v.id AND webhook_events.status = v.expect",
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for f in chunk {
            q = q
                .bind(f.id.as_str())
                .bind(f.status.as_str())
                .bind(f.reason.as_deref())
                .bind(f.payment.as_ref().map(PaymentId::as_str))
                .bind(f.expect.as_str());
        }
        written += q.execute(&mut *tx).await?.rows_affected();
    }
    let settled: Vec<Settled<'_>> = rows
        .iter()
        .map(|f| Settled {
            id: &f.id,
            status: f.status,
            payment: f.payment.as_ref(),
        })
        .collect();
    open_events::settle(tx, &settled, now).await?;
    Ok(written)
}
