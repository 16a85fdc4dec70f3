//! Multi-row forms of the apply transaction's payment statements, so a batch of events costs a
//! handful of round trips instead of two or three per event: lock every payment of the batch
//! with one `SELECT … FOR UPDATE`, append every history line with one `INSERT`, store every
//! changed state with one `UPDATE … FROM (VALUES …)`.
//!
//! The statements are written once for both dialects (`IN (…)` lists rather than PostgreSQL
//! arrays, which the sqlx `Any` driver cannot bind; a `WITH v(…) AS (VALUES …)` source for the
//! updates, which SQLite ≥ 3.33 and PostgreSQL both accept).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::HistoryOutcome;
use super::machine::PaymentStatus;
use super::repo::{LOCKED_COLUMNS, Locked, PaymentRef, decode_locked};
use crate::clock::now_ms;
use crate::db::{DbError, Dialect};
use crate::ids::{PaymentId, TenantId, WebhookEventId};

/// Rows per multi-row statement: far below both dialects' bind-parameter limits.
const CHUNK: usize = 200;

/// Appends `($first, …), (…)`: `rows` groups of `cols` numbered placeholders.
pub(crate) fn push_placeholders(sql: &mut String, rows: usize, cols: usize, first: usize) {
    use std::fmt::Write;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", first + r * cols + c);
        }
        sql.push(')');
    }
}

/// The payments a batch names, locked for the rest of the transaction.
#[derive(Debug, Default)]
pub struct LockedSet {
    /// For each target asked for, in order, the payment it names (`None`: no such payment of
    /// that tenant).
    pub resolved: Vec<Option<PaymentId>>,
    /// The locked payments, by id.
    pub payments: HashMap<PaymentId, Locked>,
}

/// Finds and locks the payments `targets` name, in one statement.
///
/// References are resolved to ids first (without a lock: a payment's reference never changes),
/// then every payment is read with one `SELECT … ORDER BY id FOR UPDATE`, so concurrent batches
/// take their row locks in the same order and cannot deadlock on payments. SQLite's
/// `BEGIN IMMEDIATE` already serialises writers.
pub async fn lock_many(
    tx: &mut AnyConnection,
    dialect: Dialect,
    targets: &[(TenantId, PaymentRef)],
) -> Result<LockedSet, DbError> {
    let mut wanted: Vec<Option<String>> = Vec::with_capacity(targets.len());
    for (tenant, by) in targets {
        wanted.push(match by {
            PaymentRef::Id(id) => Some(id.clone()),
            PaymentRef::Reference(r) => sqlx::query(
                "SELECT id FROM payments WHERE tenant_id = $1 AND reference = $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(tenant.as_str())
            .bind(r.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get::<String, _>(0))
            .transpose()?,
        });
    }
    let mut ids: Vec<&str> = wanted.iter().flatten().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut payments = HashMap::with_capacity(ids.len());
    if dialect == Dialect::Postgres && !ids.is_empty() {
        // One fixed statement text (prepared and planned once per connection); the ids travel
        // as one comma-joined parameter, so any that contains a comma is no valid id anyway.
        ids.retain(|id| id.parse::<PaymentId>().is_ok());
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LOCKED_COLUMNS} FROM payments WHERE id = ANY(string_to_array($1, ',')) ORDER BY id FOR UPDATE"
        )))
        .bind(ids.join(","))
        .fetch_all(&mut *tx)
        .await?;
        ids.clear();
        for row in rows {
            let locked = decode_locked(&row)?;
            payments.insert(locked.id.clone(), locked);
        }
    }
    for chunk in ids.chunks(CHUNK) {
        let mut sql = format!("SELECT {LOCKED_COLUMNS} FROM payments WHERE id IN (");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i + 1));
        }
        sql.push_str(") ORDER BY id");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let locked = decode_locked(&row)?;
            payments.insert(locked.id.clone(), locked);
        }
    }
    let resolved = targets
        .iter()
        .zip(&wanted)
        .map(|((tenant, _), id)| {
            let p = payments.get(&PaymentId::from_trusted(id.clone()?))?;
            // Another tenant's payment is no payment at all.
            (&p.tenant == tenant).then(|| p.id.clone())
        })
        .collect();
    Ok(LockedSet { resolved, payments })
}

/// One history line, owned, for [`append_history`] (serialised with the column names, for
/// PostgreSQL's `json_to_recordset`).
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    #[serde(rename = "payment_id")]
    pub payment: PaymentId,
    pub seq: i64,
    #[serde(rename = "event_id")]
    pub event: WebhookEventId,
    pub kind: &'static str,
    pub amount: Option<i64>,
    pub occurred_at: i64,
    pub outcome: HistoryOutcome,
    pub reason: Option<String>,
    pub status_after: PaymentStatus,
}

/// Appends history lines with one `INSERT` per [`CHUNK`] rows.
pub async fn append_history(tx: &mut AnyConnection, rows: &[HistoryRow]) -> Result<(), DbError> {
    let now = now_ms();
    for chunk in rows.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO payment_history (payment_id, seq, event_id, kind, amount, occurred_at, outcome, reason, status_after, recorded_at) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 10, 1);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            q = q
                .bind(h.payment.as_str())
                .bind(h.seq)
                .bind(h.event.as_str())
                .bind(h.kind)
                .bind(h.amount)
                .bind(h.occurred_at)
                .bind(h.outcome.as_str())
                .bind(h.reason.as_deref())
                .bind(h.status_after.as_str())
                .bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// A payment's new state, serialised with the column names (PostgreSQL's `json_to_recordset`).
#[derive(Debug, Serialize)]
pub struct StateRow<'a> {
    pub id: &'a PaymentId,
    pub status: PaymentStatus,
    pub captured_amount: i64,
    pub refunded_amount: i64,
    pub status_at: Option<i64>,
    pub history_len: i64,
}

impl<'a> From<&'a Locked> for StateRow<'a> {
    fn from(p: &'a Locked) -> Self {
        StateRow {
            id: &p.id,
            status: p.state.status,
            captured_amount: p.state.captured,
            refunded_amount: p.state.refunded,
            status_at: p.state.status_at,
            history_len: p.history_len,
        }
    }
}

/// Stores the state and history length of several locked payments with one `UPDATE` per
/// [`CHUNK`] payments.
pub async fn store_states(tx: &mut AnyConnection, payments: &[&Locked]) -> Result<(), DbError> {
    let now = now_ms();
    for chunk in payments.chunks(CHUNK) {
        let mut sql = String::from(
            "WITH v (id, status, captured_amount, refunded_amount, status_at, history_len) AS (VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 6, 2);
        sql.push_str(
            ") UPDATE payments SET status = v.status, captured_amount = v.captured_amount, refunded_amount = v.refunded_amount, \
             status_at = v.status_at, history_len = v.history_len, updated_at = $1 FROM v WHERE payments.id = v.id",
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for p in chunk {
            let s = &p.state;
            q = q
                .bind(p.id.as_str())
                .bind(s.status.as_str())
                .bind(s.captured)
                .bind(s.refunded)
                .bind(s.status_at)
                .bind(p.history_len);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_then_columns() {
        let mut s = String::new();
        push_placeholders(&mut s, 2, 3, 2);
        assert_eq!(s, "($2, $3, $4), ($5, $6, $7)");
    }
}
