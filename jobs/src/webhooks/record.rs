//! Writing one applied event: the payment's history line, its (possibly unchanged) state and
//! the inbox row's new status, on the single-event path (the batch path is [`super::batch_writes`]).

use super::inbox::InboxStatus;
use sqlx::AnyConnection;

use super::open_events::{Settled, settle};
use crate::clock::now_ms;
use crate::db::DbError;
use crate::ids::WebhookEventId;
use crate::payments::HistoryOutcome;
use crate::payments::repo::Locked;

/// One history line to append.
#[derive(Debug, Clone)]
pub struct Decided<'a> {
    pub event: &'a WebhookEventId,
    pub kind: &'a str,
    pub amount: Option<i64>,
    pub occurred_at: i64,
    pub outcome: HistoryOutcome,
    pub reason: Option<&'a str>,
    /// When set, the inbox row `event` is marked with this status (the same reason, this
    /// payment) in the same round trip.
    pub inbox_status: Option<InboxStatus>,
}

/// Appends a history line and stores the payment's (possibly unchanged) state.
pub async fn record(
    tx: &mut AnyConnection,
    locked: &mut Locked,
    decided: Decided<'_>,
) -> Result<(), DbError> {
    let now = now_ms();
    locked.history_len += 1;
    if tx.backend_name() == "PostgreSQL" {
        // One statement (one round trip) for both writes.
        let s = &locked.state;
        let sql = match decided.inbox_status {
            None => {
                "WITH h AS (INSERT INTO payment_history (payment_id, seq, event_id, kind, amount, occurred_at, outcome, reason, status_after, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)) \
                 UPDATE payments SET status = $9, captured_amount = $11, refunded_amount = $12, status_at = $13, history_len = $2, updated_at = $10 WHERE id = $1 AND $14 = ''"
            }
            Some(_) => {
                "WITH h AS (INSERT INTO payment_history (payment_id, seq, event_id, kind, amount, occurred_at, outcome, reason, status_after, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)), \
                 f AS (UPDATE webhook_events SET status = $14, reason = $8, payment_id = $1, updated_at = $10 WHERE id = $3), \
                 o AS (INSERT INTO webhook_events_open (id, tenant_id, status, payment_id, updated_at) \
                       SELECT id, tenant_id, $14, $1, $10 FROM webhook_events WHERE id = $3 AND $14 IN ('received', 'deferred', 'failed') \
                       ON CONFLICT (id) DO UPDATE SET status = excluded.status, payment_id = excluded.payment_id, updated_at = excluded.updated_at), \
                 c AS (DELETE FROM webhook_events_open WHERE id = $3 AND $14 NOT IN ('received', 'deferred', 'failed')) \
                 UPDATE payments SET status = $9, captured_amount = $11, refunded_amount = $12, status_at = $13, history_len = $2, updated_at = $10 WHERE id = $1"
            }
        };
        sqlx::query(sql)
            .bind(locked.id.as_str())
            .bind(locked.history_len)
            .bind(decided.event.as_str())
            .bind(decided.kind)
            .bind(decided.amount)
            .bind(decided.occurred_at)
            .bind(decided.outcome.as_str())
            .bind(decided.reason)
            .bind(s.status.as_str())
            .bind(now)
            .bind(s.captured)
            .bind(s.refunded)
            .bind(s.status_at)
            .bind(decided.inbox_status.map_or("", InboxStatus::as_str))
            .execute(&mut *tx)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO payment_history (payment_id, seq, event_id, kind, amount, occurred_at, outcome, reason, status_after, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(locked.id.as_str())
    .bind(locked.history_len)
    .bind(decided.event.as_str())
    .bind(decided.kind)
    .bind(decided.amount)
    .bind(decided.occurred_at)
    .bind(decided.outcome.as_str())
    .bind(decided.reason)
    .bind(locked.state.status.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let s = &locked.state;
    sqlx::query(
        "UPDATE payments SET status = $1, captured_amount = $2, refunded_amount = $3, status_at = $4, history_len = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(s.status.as_str())
    .bind(s.captured)
    .bind(s.refunded)
    .bind(s.status_at)
    .bind(locked.history_len)
    .bind(now)
    .bind(locked.id.as_str())
    .execute(&mut *tx)
    .await?;
    if let Some(status) = decided.inbox_status {
        sqlx::query("UPDATE webhook_events SET status = $1, reason = $2, payment_id = $3, updated_at = $4 WHERE id = $5")
            .bind(status.as_str())
            .bind(decided.reason)
            .bind(locked.id.as_str())
            .bind(now)
            .bind(decided.event.as_str())
            .execute(&mut *tx)
            .await?;
        let row = Settled {
            id: decided.event,
            status,
            payment: Some(&locked.id),
        };
        settle(tx, &[row], now).await?;
    }
    Ok(())
}
