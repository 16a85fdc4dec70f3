//! The writes of one applied batch: every history line, every changed payment, every inbox
//! row's new status.
//!
//! On PostgreSQL they go as one statement of fixed text (data-modifying `WITH` parts fed by
//! `json_to_recordset`, two of which mirror the new statuses in [`super::open_events`]), so a
//! batch of any size costs one round trip and the statement is prepared and planned once per
//! connection. On SQLite (in-process, no round trips) they go as a few multi-row statements.

use sqlx::{AnyConnection, Row};

use super::claims::{self, Finished};
use crate::clock::now_ms;
use crate::db::{DbError, Dialect};
use crate::payments::bulk::{self, HistoryRow, StateRow};
use crate::payments::repo::Locked;

const PG_WRITE: &str = "WITH fin AS (\
 SELECT * FROM json_to_recordset($3::json) AS v (id text, status text, reason text, payment_id text, expect text)\
), h AS (\
 INSERT INTO payment_history (payment_id, seq, event_id, kind, amount, occurred_at, outcome, reason, status_after, recorded_at) \
 SELECT payment_id, seq, event_id, kind, amount, occurred_at, outcome, reason, status_after, $4 \
 FROM json_to_recordset($1::json) AS x (payment_id text, seq bigint, event_id text, kind text, amount bigint, occurred_at bigint, outcome text, reason text, status_after text)\
), p AS (\
 UPDATE payments SET status = v.status, captured_amount = v.captured_amount, refunded_amount = v.refunded_amount, \
 status_at = v.status_at, history_len = v.history_len, updated_at = $4 \
 FROM json_to_recordset($2::json) AS v (id text, status text, captured_amount bigint, refunded_amount bigint, status_at bigint, history_len bigint) \
 WHERE payments.id = v.id\
), f AS (\
 UPDATE webhook_events SET status = fin.status, reason = fin.reason, payment_id = fin.payment_id, updated_at = $4 \
 FROM fin WHERE webhook_events.id = fin.id AND webhook_events.status = fin.expect RETURNING 1\
), o AS (\
 INSERT INTO webhook_events_open (id, tenant_id, status, payment_id, updated_at) \
 SELECT e.id, e.tenant_id, fin.status, fin.payment_id, $4 FROM fin JOIN webhook_events e ON e.id = fin.id \
 WHERE fin.status IN ('received', 'deferred', 'failed') \
 ON CONFLICT (id) DO UPDATE SET status = excluded.status, payment_id = excluded.payment_id, updated_at = excluded.updated_at\
), c AS (\
 DELETE FROM webhook_events_open USING fin WHERE webhook_events_open.id = fin.id AND fin.status NOT IN ('received', 'deferred', 'failed')\
) SELECT count(*) FROM f";

/// Writes the batch; returns how many inbox rows were written (each only if it still had its
/// expected status).
pub async fn write(
    tx: &mut AnyConnection,
    dialect: Dialect,
    history: &[HistoryRow],
    payments: &[&Locked],
    finished: &[Finished],
) -> Result<u64, DbError> {
    match dialect {
        Dialect::Postgres => {
            let json = |v: Result<String, serde_json::Error>| {
                v.map_err(|e| DbError::Unavailable(format!("encode batch: {e}")))
            };
            let states: Vec<StateRow<'_>> = payments.iter().map(|p| StateRow::from(*p)).collect();
            let row = sqlx::query(PG_WRITE)
                .bind(json(serde_json::to_string(history))?)
                .bind(json(serde_json::to_string(&states))?)
                .bind(json(serde_json::to_string(finished))?)
                .bind(now_ms())
                .fetch_one(&mut *tx)
                .await?;
            Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
        }
        Dialect::Sqlite => {
            bulk::append_history(tx, history).await?;
            bulk::store_states(tx, payments).await?;
            claims::finish_many(tx, finished).await
        }
    }
}
