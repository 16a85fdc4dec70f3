use std::time::Duration;

use super::*;
use crate::queue::{NewJob, Outcome, WorkerId};

async fn services() -> (tempfile::TempDir, Services) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    (dir, Services::connect(config).await.unwrap())
}

fn actor() -> Actor {
    Actor {
        operator: "alice".into(),
        client_ip: Some("127.0.0.1".into()),
        request_id: None,
    }
}

fn new_job(tenant: &TenantId, run_at: Option<i64>) -> NewJob {
    NewJob {
        id: JobId::new(),
        tenant: tenant.clone(),
        job_type: "diagnostic.noop".into(),
        queue: "default".into(),
        payload: json!({}),
        max_attempts: 1,
        run_at,
        request_id: None,
    }
}

/// `n` dead jobs of `tenant`.
async fn dead_jobs(s: &Services, tenant: &TenantId, n: usize) {
    for _ in 0..n {
        s.queue.enqueue(new_job(tenant, None)).await.unwrap();
    }
    let worker = WorkerId::generate("test");
    let mut left = n;
    while left > 0 {
        let leased = s
            .queue
            .fetch("default", &worker, 50, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(!leased.is_empty());
        for l in leased {
            let dead = Outcome::Dead {
                error: "boom".into(),
            };
            s.queue.complete(&l.lease, dead).await.unwrap();
            left -= 1;
        }
    }
}

async fn count(s: &Services, tenant: &TenantId, state: JobState) -> usize {
    let filter = JobFilter {
        state: Some(state),
        job_type: None,
    };
    let mut cursor = None;
    let mut n = 0;
    loop {
        let page = s
            .queue
            .list(tenant, &filter, cursor.as_deref(), 100)
            .await
            .unwrap();
        n += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return n,
        }
    }
}

async fn until_finished(db: &Db, id: &BulkOperationId) -> BulkOperation {
    for _ in 0..600 {
        let op = get(db, id).await.unwrap().unwrap();
        if op.state != BulkState::Running {
            return op;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the operation did not finish");
}

#[tokio::test]
async fn a_bulk_retry_puts_every_dead_job_of_the_filter_back_across_batches() {
    let (_dir, s) = services().await;
    let tenant = TenantId::new();
    let other = TenantId::new();
    dead_jobs(&s, &tenant, 2 * BATCH + 30).await;
    dead_jobs(&s, &other, 3).await;

    let refused = start(
        &s,
        &actor(),
        BulkAction::Retry,
        &tenant,
        BulkFilter::default(),
    )
    .await;
    assert!(matches!(refused, Err(BulkError::Refused(_))));

    let filter = BulkFilter {
        state: Some(JobState::Dead),
        job_type: Some("diagnostic.noop".into()),
    };
    let op = start(&s, &actor(), BulkAction::Retry, &tenant, filter)
        .await
        .unwrap();
    assert_eq!(op.state, BulkState::Running);
    let done = until_finished(&s.db, &op.id).await;
    assert_eq!(done.state, BulkState::Done, "{done:?}");
    assert_eq!(
        (done.processed, done.succeeded, done.skipped),
        (230, 230, 0)
    );
    assert!(done.finished_at.is_some());
    assert_eq!(count(&s, &tenant, JobState::Dead).await, 0);
    assert_eq!(count(&s, &tenant, JobState::Queued).await, 230);
    assert_eq!(
        count(&s, &other, JobState::Dead).await,
        3,
        "another tenant's"
    );

    // One audit entry when it starts, one when it ends, naming the operation.
    let log = audit::list(&s.db, None, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["bulk.finished", "bulk.started"]);
    assert_eq!(log[0].target.as_deref(), Some(op.id.as_str()));
    assert_eq!(log[0].detail["succeeded"], 230);
    assert_eq!(log[1].detail["filter"]["state"], "dead");
    let listed = list(&s.db, None, 10).await.unwrap();
    assert_eq!(listed, vec![done]);
}

#[tokio::test]
async fn a_bulk_cancel_pages_with_the_cursor_and_skips_what_it_cannot_cancel() {
    let (_dir, s) = services().await;
    let tenant = TenantId::new();
    let later = now_ms() + 3_600_000;
    for _ in 0..150 {
        s.queue
            .enqueue(new_job(&tenant, Some(later)))
            .await
            .unwrap();
    }
    dead_jobs(&s, &tenant, 5).await;
    let op = start(
        &s,
        &actor(),
        BulkAction::Cancel,
        &tenant,
        BulkFilter::default(),
    )
    .await
    .unwrap();
    let done = until_finished(&s.db, &op.id).await;
    assert_eq!(done.state, BulkState::Done, "{done:?}");
    assert_eq!(
        (done.processed, done.succeeded, done.skipped),
        (155, 150, 5)
    );
    assert_eq!(count(&s, &tenant, JobState::Cancelled).await, 150);
    assert_eq!(count(&s, &tenant, JobState::Scheduled).await, 0);

    let dead = BulkFilter {
        state: Some(JobState::Dead),
        job_type: None,
    };
    assert!(refusal(BulkAction::Cancel, &dead).is_some());
}

#[tokio::test]
async fn a_running_operation_without_progress_for_a_minute_reads_as_interrupted() {
    let (_dir, s) = services().await;
    let id = BulkOperationId::new();
    let old = now_ms() - STALE_AFTER_MS - 1_000;
    sqlx::query(
        "INSERT INTO bulk_operations (id, operator, action, tenant_id, filter, state, \
         created_at, updated_at) VALUES ($1, 'alice', 'retry', $2, '{}', 'running', $3, $3)",
    )
    .bind(id.as_str())
    .bind(TenantId::new().as_str())
    .bind(old)
    .execute(s.db.pool())
    .await
    .unwrap();
    let op = get(&s.db, &id).await.unwrap().unwrap();
    assert_eq!(op.state, BulkState::Interrupted);
    assert!(op.error.is_some() && op.finished_at.is_some());
}

#[tokio::test]
async fn a_job_that_dies_again_during_the_retry_is_not_retried_twice() {
    let (_dir, s) = services().await;
    let tenant = TenantId::new();
    dead_jobs(&s, &tenant, 2 * BATCH + 50).await;
    // A worker that kills every job it gets, while the operation runs: retried jobs land in
    // the dead set again, at the top of the listing the retry starts over from.
    let killer = {
        let queue = s.queue.clone();
        tokio::spawn(async move {
            let worker = WorkerId::generate("killer");
            loop {
                let leased = queue
                    .fetch("default", &worker, 50, Duration::from_secs(60))
                    .await
                    .unwrap();
                for l in leased {
                    let dead = Outcome::Dead {
                        error: "again".into(),
                    };
                    queue.complete(&l.lease, dead).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let filter = BulkFilter {
        state: Some(JobState::Dead),
        job_type: None,
    };
    let op = start(&s, &actor(), BulkAction::Retry, &tenant, filter)
        .await
        .unwrap();
    let done = until_finished(&s.db, &op.id).await;
    killer.abort();
    assert_eq!(done.state, BulkState::Done, "{done:?}");
    assert_eq!(
        (done.processed, done.succeeded, done.skipped),
        (250, 250, 0),
        "each job once"
    );
}
