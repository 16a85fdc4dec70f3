//! Events are kept `LONGSHORE_EVENT_RETENTION_DAYS` (30 by default), with their deliveries
//! and attempt logs; the workers' retention sweep deletes older ones a bounded batch at a time.

use crate::db::{Db, DbError};

/// Deletes up to `limit` rows per table created before `before` (ms); returns how many events
/// went.
pub async fn purge_expired(db: &Db, before: i64, limit: i64) -> Result<u64, DbError> {
    let mut events = 0;
    for (table, time) in [
        ("event_attempts", "started_at"),
        ("event_deliveries", "created_at"),
        ("events", "created_at"),
    ] {
        let key = if table == "event_deliveries" {
            "(event_id, endpoint_id)"
        } else {
            "id"
        };
        let sql = format!(
            "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {time} < $1 LIMIT $2)"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(before)
            .bind(limit)
            .execute(db.pool())
            .await?;
        if table == "events" {
            events = done.rows_affected();
        }
    }
    Ok(events)
}
