//! The inbox rows still open, mirrored in a narrow table (`webhook_events_open`) that carries the
//! indexes on status.
//!
//! Nearly every inbox row changes status once, from `received` to `processed` or `ignored`, soon
//! after it is written. With no index on the columns that change, PostgreSQL makes that a HOT
//! update (the new version beside the old one, no index touched), which costs about a seventh
//! of an update that re-indexes the whole 1-3 KB row (measured: migration 0010).
//!
//! A row is *open* while it still needs something: its apply (`received`), its payment's
//! capture (`deferred`, a parked refund) or an operator (`failed`). Those are the rows the
//! sweeper, the parked refunds and the listing by those statuses look for, so they are found
//! here. A row enters when it is stored or replayed as `received`, follows its status while
//! open, and leaves when it is closed (`processed` or `ignored`). Both tables change in the same
//! transaction or statement.

use sqlx::AnyConnection;

use super::inbox::InboxStatus;
use crate::db::DbError;
use crate::ids::{PaymentId, WebhookEventId};
use crate::payments::bulk::push_placeholders;

/// A row's new status, as the inbox row got it.
#[derive(Debug, Clone, Copy)]
pub struct Settled<'a> {
    pub id: &'a WebhookEventId,
    pub status: InboxStatus,
    pub payment: Option<&'a PaymentId>,
}

/// Mirrors new statuses inside the caller's transaction, after the inbox rows were written: a
/// closed row leaves the table (one statement per 500), an open one is written to it (one
/// statement each, taking the tenant from its inbox row; such rows are the exception).
pub async fn settle(tx: &mut AnyConnection, rows: &[Settled<'_>], now: i64) -> Result<(), DbError> {
    let closed = rows
        .iter()
        .filter(|r| !r.status.is_open())
        .map(|r| r.id.as_str());
    remove(tx, closed).await?;
    for r in rows.iter().filter(|r| r.status.is_open()) {
        sqlx::query(
            "INSERT INTO webhook_events_open (id, tenant_id, status, payment_id, updated_at) \
             SELECT id, tenant_id, $1, $2, $3 FROM webhook_events WHERE id = $4 \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, payment_id = excluded.payment_id, updated_at = excluded.updated_at",
        )
        .bind(r.status.as_str())
        .bind(r.payment.map(PaymentId::as_str))
        .bind(now)
        .bind(r.id.as_str())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Removes rows `ids` (closed or deleted from the inbox), one statement per 500.
pub async fn remove<'a>(
    tx: &mut AnyConnection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), DbError> {
    let ids: Vec<&str> = ids.into_iter().collect();
    for chunk in ids.chunks(500) {
        let mut sql = String::from("DELETE FROM webhook_events_open WHERE id IN ");
        push_placeholders(&mut sql, 1, chunk.len(), 1);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}
