//! What tenants see and manage: cancel, isolation, listings, and retention.

use std::collections::HashSet;
use std::time::Duration;

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::{
    AckStatus, JobFilter, JobRecord, JobState, Outcome, Queue, QueueError, Retention,
};

use super::{Factory, LONG_LEASE, Settings, eventually, fresh, job, put, take_one, worker};

/// Every page of a listing, asserting each respects `limit`.
async fn all_pages(
    q: &dyn Queue,
    tenant: &TenantId,
    filter: &JobFilter,
    limit: usize,
) -> Vec<JobRecord> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1_000 {
        let page = q
            .list(tenant, filter, cursor.as_deref(), limit)
            .await
            .unwrap();
        assert!(
            page.items.len() <= limit,
            "a page holds at most `limit` items"
        );
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
    panic!("listing never ended");
}

fn ids(items: &[JobRecord]) -> Vec<JobId> {
    items.iter().map(|j| j.id.clone()).collect()
}

/// Cancel stops queued, scheduled and retrying jobs; it refuses running ones and unknown ids.
pub async fn cancel_before_running_is_immediate(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let queued = put(&*q, job(&tenant, "default")).await;
    let cancelled = q.cancel(&tenant, &queued).await.expect("cancel queued");
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(cancelled.finished_at.is_some());
    assert_eq!(q.get(&tenant, &queued).await.unwrap(), Some(cancelled));
    assert!(
        q.fetch("default", &worker("w"), 10, LONG_LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let twice = q.cancel(&tenant, &queued).await;
    assert!(
        matches!(twice, Err(QueueError::InvalidState(JobState::Cancelled))),
        "{twice:?}"
    );

    let mut later = job(&tenant, "default");
    later.run_at = Some(now_ms() + 3_600_000);
    let scheduled = put(&*q, later).await;
    assert_eq!(
        q.cancel(&tenant, &scheduled).await.unwrap().state,
        JobState::Cancelled
    );

    let retrying = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    let retry = Outcome::Retry {
        error: "later".into(),
        delay: Duration::from_secs(3600),
    };
    assert_eq!(
        q.complete(&leased.lease, retry).await.unwrap(),
        AckStatus::Applied
    );
    let stopped = q.cancel(&tenant, &retrying).await.unwrap();
    assert_eq!(stopped.state, JobState::Cancelled);
    assert_eq!(stopped.cancel_requested_at, None, "it was not running");

    let unknown = q.cancel(&tenant, &JobId::new()).await;
    assert!(matches!(unknown, Err(QueueError::NotFound)), "{unknown:?}");
}

/// Another tenant can neither see nor touch a job, nor learn its contents by reusing its id.
pub async fn tenants_are_isolated(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let (owner, other) = (TenantId::new(), TenantId::new());
    let id = put(&*q, job(&owner, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    let dead = Outcome::Dead {
        error: "kept for the owner".into(),
    };
    assert_eq!(
        q.complete(&leased.lease, dead).await.unwrap(),
        AckStatus::Applied
    );
    let before = q
        .get(&owner, &id)
        .await
        .unwrap()
        .expect("owner sees the job");

    assert_eq!(q.get(&other, &id).await.unwrap(), None);
    assert!(matches!(
        q.cancel(&other, &id).await,
        Err(QueueError::NotFound)
    ));
    assert!(matches!(
        q.retry_dead(&other, &id).await,
        Err(QueueError::NotFound)
    ));
    let listed = q
        .list(&other, &JobFilter::default(), None, 100)
        .await
        .unwrap();
    assert!(listed.items.is_empty() && listed.next_cursor.is_none());

    let mut squat = job(&other, "default");
    squat.id = id.clone();
    squat.payload = serde_json::json!({ "squatter": true });
    if let Ok(answer) = q.enqueue(squat).await {
        assert_eq!(
            answer.job.tenant, other,
            "another tenant's record must not be handed out"
        );
        assert_ne!(answer.job.payload, before.payload);
    }
    assert_eq!(q.get(&owner, &id).await.unwrap(), Some(before));
}

/// Listings filter by state and type, and page newest first with no duplicates or gaps.
/// A cursor no page handed out is the caller's mistake (`InvalidCursor`), never `Corrupt`.
pub async fn list_refuses_garbage_cursors(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    put(&*q, job(&tenant, "default")).await;
    let long = "9".repeat(10_000);
    for bad in [
        "zz",
        "",
        ":",
        "not a cursor",
        "\0",
        "1712345678901:job_1 [",
        long.as_str(),
    ] {
        let got = q.list(&tenant, &JobFilter::default(), Some(bad), 10).await;
        assert!(
            matches!(got, Err(QueueError::InvalidCursor)),
            "cursor {bad:?}: {got:?}"
        );
    }
}

pub async fn list_filters_and_paginates(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let (tenant, noise) = (TenantId::new(), TenantId::new());
    let mut enqueued = Vec::new();
    for i in 0..10 {
        let mut one = job(&tenant, "default");
        one.job_type = if i % 2 == 0 { "test.even" } else { "test.odd" }.into();
        enqueued.push(put(&*q, one).await);
        put(&*q, job(&noise, "default")).await;
        // Distinct creation times make "newest first" a single order to check.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for id in &enqueued[..3] {
        q.cancel(&tenant, id).await.expect("cancel");
    }
    let newest_first: Vec<JobId> = enqueued.iter().rev().cloned().collect();
    let picked = |picks: &[usize]| {
        picks
            .iter()
            .map(|&i| enqueued[i].clone())
            .collect::<Vec<_>>()
    };

    let paged = all_pages(&*q, &tenant, &JobFilter::default(), 3).await;
    assert_eq!(ids(&paged), newest_first, "every job once, newest first");
    assert_eq!(
        paged.iter().map(|j| &j.id).collect::<HashSet<_>>().len(),
        10
    );
    for item in &paged {
        assert_eq!(q.get(&tenant, &item.id).await.unwrap().as_ref(), Some(item));
    }
    let whole = q
        .list(&tenant, &JobFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(
        (ids(&whole.items), whole.next_cursor),
        (newest_first.clone(), None)
    );

    let by_state = JobFilter {
        state: Some(JobState::Cancelled),
        job_type: None,
    };
    let cancelled = all_pages(&*q, &tenant, &by_state, 2).await;
    assert_eq!(ids(&cancelled), picked(&[2, 1, 0]));

    let by_type = JobFilter {
        state: None,
        job_type: Some("test.even".into()),
    };
    let even = all_pages(&*q, &tenant, &by_type, 3).await;
    assert_eq!(ids(&even), picked(&[8, 6, 4, 2, 0]));

    let both = JobFilter {
        state: Some(JobState::Queued),
        job_type: Some("test.odd".into()),
    };
    let odd_queued = all_pages(&*q, &tenant, &both, 3).await;
    assert_eq!(ids(&odd_queued), picked(&[9, 7, 5, 3]));
}

/// `purge_expired` forgets a finished job once its retention passed, and nothing live.
pub async fn retention_purges_finished_jobs(f: &dyn Factory) {
    let retention = Retention {
        succeeded: Duration::from_millis(200),
        ..Retention::default()
    };
    let settings = Settings {
        retention,
        ..Settings::default()
    };
    let (q, _guard) = f.make(settings).await;
    let tenant = TenantId::new();
    let finished = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    assert_eq!(
        q.complete(&leased.lease, Outcome::Succeeded).await.unwrap(),
        AckStatus::Applied
    );
    let buried = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    let dead = Outcome::Dead {
        error: "kept a week".into(),
    };
    assert_eq!(
        q.complete(&leased.lease, dead).await.unwrap(),
        AckStatus::Applied
    );
    let queued = put(&*q, job(&tenant, "default")).await;

    let mut purged = 0;
    eventually("the finished job is purged", async || {
        purged += q.purge_expired("default", 100).await.unwrap();
        q.get(&tenant, &finished)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(purged, 1, "only the succeeded job had expired");
    assert_eq!(
        q.get(&tenant, &queued).await.unwrap().map(|j| j.state),
        Some(JobState::Queued)
    );
    assert_eq!(
        q.get(&tenant, &buried).await.unwrap().map(|j| j.state),
        Some(JobState::Dead)
    );
    assert_eq!(q.purge_expired("default", 100).await.unwrap(), 0);
}
