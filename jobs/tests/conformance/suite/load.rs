//! Volume and wake-ups: a burst of jobs from many producers, drained by several workers; and an
//! idle worker woken by an enqueue instead of its timeout.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::{AckStatus, JobFilter, JobState, Outcome, Queue};

use super::{Factory, LONG_LEASE, fresh, job, worker};

const BURST: usize = 100_000;
const PRODUCERS: usize = 32;
const DRAINERS: usize = 4;
/// Generous: a debug build on a shared two-core machine.
const BURST_DEADLINE: Duration = Duration::from_secs(1_800);

/// One worker loop: fetch up to 64, complete each, until every job of the burst is done.
async fn drain(q: Arc<dyn Queue>, done: Arc<AtomicUsize>) -> Vec<JobId> {
    let me = worker("drainer");
    let mut mine = Vec::new();
    while done.load(Ordering::SeqCst) < BURST {
        let batch = q.fetch("burst", &me, 64, LONG_LEASE).await.expect("fetch");
        if batch.is_empty() {
            q.wait_for_work("burst", Duration::from_millis(100))
                .await
                .expect("wait");
            continue;
        }
        for leased in batch {
            let ack = q
                .complete(&leased.lease, Outcome::Succeeded)
                .await
                .expect("complete");
            assert_eq!(ack, AckStatus::Applied);
            mine.push(leased.job.id);
            done.fetch_add(1, Ordering::SeqCst);
        }
    }
    mine
}

/// 100,000 jobs enqueued by 32 concurrent producers all run exactly once and end `succeeded`.
pub async fn burst_of_100k_jobs_drains(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let run = async {
        let start = Instant::now();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, tenant) = (q.clone(), tenant.clone());
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for n in (p..BURST).step_by(PRODUCERS) {
                        let mut one = job(&tenant, "burst");
                        one.payload = serde_json::json!({ "n": n });
                        ids.push(one.id.clone());
                        assert!(q.enqueue(one).await.expect("enqueue").created);
                    }
                    ids
                })
            })
            .collect();
        let mut enqueued = HashSet::new();
        for producer in producers {
            enqueued.extend(producer.await.expect("producer"));
        }
        let enqueue_time = start.elapsed();

        let done = Arc::new(AtomicUsize::new(0));
        let drainers: Vec<_> = (0..DRAINERS)
            .map(|_| tokio::spawn(drain(q.clone(), done.clone())))
            .collect();
        let mut completed = Vec::new();
        for drainer in drainers {
            completed.extend(drainer.await.expect("drainer"));
        }
        let drain_time = start.elapsed() - enqueue_time;
        eprintln!(
            "burst: {BURST} jobs enqueued in {enqueue_time:.1?}, drained in {drain_time:.1?}"
        );
        (enqueued, completed)
    };
    let (enqueued, completed) = tokio::time::timeout(BURST_DEADLINE, run)
        .await
        .expect("the burst finished within its deadline");
    assert_eq!(enqueued.len(), BURST);
    assert_eq!(completed.len(), BURST, "each job completed exactly once");
    assert_eq!(completed.into_iter().collect::<HashSet<_>>(), enqueued);

    let succeeded = JobFilter {
        state: Some(JobState::Succeeded),
        job_type: None,
    };
    let mut listed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = q
            .list(&tenant, &succeeded, cursor.as_deref(), 100)
            .await
            .unwrap();
        listed += page.items.len();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, BURST, "every job is stored as succeeded");
    assert!(
        q.fetch("burst", &worker("late"), 64, LONG_LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A worker waiting with a long timeout is woken by an enqueue well before the timeout, and an
/// idle wait neither spins nor hangs.
pub async fn wait_for_work_wakes_on_enqueue(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let idle = Instant::now();
    q.wait_for_work("default", Duration::from_millis(300))
        .await
        .expect("idle wait");
    assert!(
        idle.elapsed() < Duration::from_secs(10),
        "an idle wait returns at its timeout"
    );

    let waiter = {
        let q = q.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let mut empty_wakeups = 0;
            loop {
                q.wait_for_work("default", Duration::from_secs(10))
                    .await
                    .expect("wait");
                let got = q
                    .fetch("default", &worker("w"), 1, LONG_LEASE)
                    .await
                    .expect("fetch");
                if !got.is_empty() {
                    return (start.elapsed(), empty_wakeups);
                }
                empty_wakeups += 1;
                assert!(start.elapsed() < Duration::from_secs(30), "never woken");
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    q.enqueue(job(&TenantId::new(), "default"))
        .await
        .expect("enqueue");
    let (waited, empty_wakeups) = waiter.await.expect("waiter");
    assert!(
        waited < Duration::from_secs(5),
        "woken by the enqueue, not the 10 s timeout: {waited:?}"
    );
    assert!(
        empty_wakeups < 100,
        "wait_for_work must not spin: {empty_wakeups} empty wake-ups"
    );
}
