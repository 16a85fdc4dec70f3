//! The conformance suite on the embedded SQLite queue, plus what only SQLite has: several
//! processes sharing one file, and its connection settings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use longshore_jobs::ids::TenantId;
use longshore_jobs::queue::sqlite::{SqliteQueue, SqliteQueueOptions, connect_sqlite};
use longshore_jobs::queue::{AckStatus, JobState, Outcome, Queue, QueueError};

use crate::suite::{LONG_LEASE, Made, Settings, job, put, take_one};

/// A fresh database file in its own temporary folder (the guard).
async fn make(settings: Settings) -> Made {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = connect_sqlite(dir.path().join("longshore.db"))
        .await
        .expect("open sqlite");
    let options = SqliteQueueOptions {
        retention: settings.retention,
        tenant_concurrency: settings.tenant_concurrency,
        ..SqliteQueueOptions::default()
    };
    (Arc::new(SqliteQueue::open(pool, options)), Box::new(dir))
}

crate::suite::conformance_tests!(make);

/// Two queues on one file with separate pools, as the API and worker processes would be.
async fn two_processes() -> (SqliteQueue, SqliteQueue, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("shared.db").display()
    );
    let (a, b) = tokio::join!(connect_sqlite(&url), connect_sqlite(&url));
    let open = |pool| SqliteQueue::open(pool, SqliteQueueOptions::default());
    (open(a.expect("open a")), open(b.expect("open b")), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_enqueue_wakes_a_waiter_by_polling() {
    let (api, worker, _dir) = two_processes().await;
    let waiter = tokio::spawn(async move {
        let start = Instant::now();
        worker
            .wait_for_work("default", Duration::from_secs(10))
            .await
            .expect("wait");
        (start.elapsed(), worker)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tenant = TenantId::new();
    let id = put(&api, job(&tenant, "default")).await;
    let (waited, worker) = waiter.await.expect("waiter");
    assert!(
        waited < Duration::from_secs(5),
        "polling noticed the job: {waited:?}"
    );

    let leased = take_one(&worker, "default", LONG_LEASE).await;
    assert_eq!(leased.job.id, id);
    let ack = api
        .complete(&leased.lease, Outcome::Succeeded)
        .await
        .unwrap();
    assert_eq!(
        ack,
        AckStatus::Applied,
        "both processes see one set of leases"
    );
    let done = worker.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!(done.state, JobState::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_draining_one_file_run_each_job_once() {
    const JOBS: usize = 2_000;
    let (a, b, _dir) = two_processes().await;
    let tenant = TenantId::new();
    for _ in 0..JOBS {
        put(&a, job(&tenant, "default")).await;
    }
    let drain = |q: SqliteQueue| {
        tokio::spawn(async move {
            let me = crate::suite::worker("proc");
            let mut ran = Vec::new();
            loop {
                let batch = q
                    .fetch("default", &me, 16, LONG_LEASE)
                    .await
                    .expect("fetch");
                if batch.is_empty() {
                    return ran;
                }
                for leased in batch {
                    assert_eq!(leased.job.attempts, 1, "a job was leased twice");
                    let ack = q.complete(&leased.lease, Outcome::Succeeded).await.unwrap();
                    assert_eq!(ack, AckStatus::Applied);
                    ran.push(leased.job.id);
                }
            }
        })
    };
    let workers = [drain(a.clone()), drain(b.clone()), drain(a), drain(b)];
    let mut ran = std::collections::HashSet::new();
    for worker in futures::future::join_all(workers).await {
        for id in worker.expect("drainer") {
            assert!(ran.insert(id), "a job ran twice");
        }
    }
    assert_eq!(ran.len(), JOBS);
}

#[tokio::test]
async fn concurrent_opens_of_a_fresh_file_all_migrate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("race.db");
    let opens = (0..4).map(|_| connect_sqlite(&path));
    for pool in futures::future::join_all(opens).await {
        pool.expect("every process opens the file");
    }
}

#[tokio::test]
async fn file_is_durable_and_shared_safely() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = connect_sqlite(dir.path().join("pragmas.db")).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let pragma = async |name: &'static str, conn: &mut sqlx::SqliteConnection| -> i64 {
        sqlx::query_scalar(name).fetch_one(conn).await.unwrap()
    };
    assert_eq!(journal, "wal");
    assert_eq!(
        pragma("PRAGMA synchronous", &mut conn).await,
        1,
        "NORMAL, never OFF"
    );
    assert_eq!(pragma("PRAGMA foreign_keys", &mut conn).await, 1);
    assert!(pragma("PRAGMA busy_timeout", &mut conn).await >= 1_000);
}

#[tokio::test]
async fn undecodable_job_goes_dead_instead_of_failing_fetch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = connect_sqlite(dir.path().join("corrupt.db")).await.unwrap();
    let q = SqliteQueue::open(pool.clone(), SqliteQueueOptions::default());
    let tenant = TenantId::new();
    let bad = put(&q, job(&tenant, "default")).await;
    let good = put(&q, job(&tenant, "default")).await;
    sqlx::query("UPDATE queue_jobs SET payload = '{not json' WHERE id = ?1")
        .bind(bad.as_str())
        .execute(&pool)
        .await
        .unwrap();

    let leased = q
        .fetch("default", &crate::suite::worker("w"), 10, LONG_LEASE)
        .await
        .expect("a poison record must not fail the fetch");
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].job.id, good);
    assert!(matches!(
        q.get(&tenant, &bad).await,
        Err(QueueError::Corrupt(_))
    ));
    let state: String = sqlx::query_scalar("SELECT state FROM queue_jobs WHERE id = ?1")
        .bind(bad.as_str())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "dead");
}
