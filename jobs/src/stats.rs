//! Throughput and failures per queue and minute (`job_minutes`): what the dashboard's queue
//! rates and history charts read. Written by the job history writer
//! ([`crate::reports::job_runs`]) in the transaction that inserts the runs, a handful of upserts
//! per batch; kept [`RETENTION_DAYS`]. At most one row per queue and minute: 7 days of six
//! queues are about 60,000 rows, and a day's totals read 8,640 rows by primary key.

use std::collections::BTreeMap;

use crate::db::{Db, DbError};
use crate::queue::JobState;
use crate::reports::job_runs::JobRun;

/// How long the per-minute aggregates are kept (the dashboard shows 7 days).
pub const RETENTION_DAYS: i64 = 8;
/// Upserts per statement (6 parameters each).
const ROWS_PER_STATEMENT: usize = 100;

/// Outcomes in one minute (or a sum of minutes) of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub succeeded: i64,
    pub retried: i64,
    pub dead: i64,
    pub cancelled: i64,
}

impl Counts {
    fn add(&mut self, state: &str) {
        match state.parse() {
            Ok(JobState::Succeeded) => self.succeeded += 1,
            Ok(JobState::Retrying) => self.retried += 1,
            Ok(JobState::Dead) => self.dead += 1,
            Ok(JobState::Cancelled) => self.cancelled += 1,
            _ => {}
        }
    }

    /// Attempts that ended (every outcome counted).
    pub fn attempts(&self) -> i64 {
        self.succeeded + self.retried + self.dead + self.cancelled
    }

    /// Attempts that failed (retried or dead).
    pub fn failed(&self) -> i64 {
        self.retried + self.dead
    }

    /// Failed attempts as a share of the attempts, `None` when there were none.
    pub fn failure_rate(&self) -> Option<f64> {
        let all = self.attempts();
        (all > 0).then(|| self.failed() as f64 / all as f64)
    }
}

/// Adds a batch of runs to their minutes, inside the caller's transaction.
pub async fn add_runs(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    runs: &[JobRun],
) -> Result<(), DbError> {
    let mut minutes: BTreeMap<(i64, &str), Counts> = BTreeMap::new();
    for run in runs {
        minutes
            .entry((run.finished_at.div_euclid(60_000), run.queue.as_str()))
            .or_default()
            .add(run.state);
    }
    let rows: Vec<_> = minutes.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let marks: Vec<String> = (1..=6).map(|c| format!("${}", r * 6 + c)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO job_minutes (minute, queue, succeeded, retried, dead, cancelled) \
             VALUES {} ON CONFLICT (minute, queue) DO UPDATE SET \
             succeeded = job_minutes.succeeded + excluded.succeeded, \
             retried = job_minutes.retried + excluded.retried, \
             dead = job_minutes.dead + excluded.dead, \
             cancelled = job_minutes.cancelled + excluded.cancelled",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((minute, queue), c) in chunk {
            q = q
                .bind(*minute)
                .bind(queue.to_string())
                .bind(c.succeeded)
                .bind(c.retried)
                .bind(c.dead)
                .bind(c.cancelled);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Each queue's outcomes since `since_ms`.
pub async fn by_queue_since(db: &Db, since_ms: i64) -> Result<BTreeMap<String, Counts>, DbError> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT queue, CAST(SUM(succeeded) AS BIGINT), CAST(SUM(retried) AS BIGINT), \
         CAST(SUM(dead) AS BIGINT), CAST(SUM(cancelled) AS BIGINT) \
         FROM job_minutes WHERE minute >= $1 GROUP BY queue",
    )
    .bind(since_ms.div_euclid(60_000))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(queue, succeeded, retried, dead, cancelled)| {
            let counts = Counts {
                succeeded,
                retried,
                dead,
                cancelled,
            };
            (queue, counts)
        })
        .collect())
}

/// Every queue's outcomes since `since_ms`, in buckets of `bucket_minutes` (oldest first; a
/// bucket without any run is absent). Bucket starts are epoch minutes.
pub async fn history(
    db: &Db,
    since_ms: i64,
    bucket_minutes: i64,
) -> Result<Vec<(i64, Counts)>, DbError> {
    let bucket = bucket_minutes.max(1);
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT (minute / $2) * $2, CAST(SUM(succeeded) AS BIGINT), CAST(SUM(retried) AS BIGINT), \
         CAST(SUM(dead) AS BIGINT), CAST(SUM(cancelled) AS BIGINT) \
         FROM job_minutes WHERE minute >= $1 GROUP BY 1 ORDER BY 1",
    )
    .bind(since_ms.div_euclid(60_000))
    .bind(bucket)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(start, succeeded, retried, dead, cancelled)| {
            let counts = Counts {
                succeeded,
                retried,
                dead,
                cancelled,
            };
            (start, counts)
        })
        .collect())
}

/// Deletes minutes older than `before_ms`.
pub async fn purge(db: &Db, before_ms: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM job_minutes WHERE minute < $1")
        .bind(before_ms.div_euclid(60_000))
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::job_runs;

    fn run(queue: &str, state: &'static str, finished_at: i64) -> JobRun {
        JobRun {
            job_id: crate::ids::JobId::new().to_string(),
            tenant: "ten_1".into(),
            job_type: "diagnostic.noop".into(),
            queue: queue.into(),
            state,
            attempts: 1,
            created_at: finished_at - 10,
            started_at: Some(finished_at - 5),
            finished_at,
        }
    }

    #[tokio::test]
    async fn runs_add_up_per_queue_and_minute_across_batches_in_both_dialects() {
        for (db, _dir) in crate::db::test_databases().await {
            let minute = 29_000_000 * 60_000; // an epoch minute, in ms
            let first = vec![
                run("email", "succeeded", minute + 1_000),
                run("email", "succeeded", minute + 59_999),
                run("email", "retrying", minute + 30_000),
                run("default", "dead", minute + 2_000),
                run("email", "succeeded", minute + 60_000), // the next minute
            ];
            job_runs::insert(&db, &first).await.unwrap();
            let second = vec![
                run("email", "succeeded", minute + 10_000),
                run("email", "cancelled", minute + 11_000),
            ];
            job_runs::insert(&db, &second).await.unwrap();

            let since = by_queue_since(&db, minute).await.unwrap();
            let email = since["email"];
            assert_eq!(
                (email.succeeded, email.retried, email.dead, email.cancelled),
                (4, 1, 0, 1)
            );
            assert_eq!(since["default"].dead, 1);
            assert_eq!(email.failure_rate(), Some(1.0 / 6.0));
            let later = by_queue_since(&db, minute + 60_000).await.unwrap();
            assert_eq!(later["email"].succeeded, 1, "only the next minute");
            assert!(!later.contains_key("default"));

            let hours = history(&db, minute, 60).await.unwrap();
            let total: i64 = hours.iter().map(|(_, c)| c.attempts()).sum();
            assert_eq!(total, 7, "every run counted once: {hours:?}");
            assert_eq!(hours.len(), 1, "one hour bucket");
            let minutes = history(&db, minute, 1).await.unwrap();
            assert_eq!(
                minutes.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
                vec![minute / 60_000, minute / 60_000 + 1]
            );

            assert_eq!(purge(&db, minute + 60_000).await.unwrap(), 2);
            assert_eq!(history(&db, 0, 1).await.unwrap().len(), 1);
        }
    }
}
