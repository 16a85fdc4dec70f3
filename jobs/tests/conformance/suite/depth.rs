//! `Queue::depth`, which feeds the operators' `longshore_queue_jobs` gauges: runnable, delayed
//! and running jobs of one queue, and nothing of another queue or of finished jobs.

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::TenantId;
use longshore_jobs::queue::{AckStatus, Outcome, QueueDepth};

use super::{Factory, LONG_LEASE, fresh, job, put, take_one};

/// Three runnable, one of them then running, one delayed; another queue's job and a finished
/// job are not counted. The oldest runnable job's age is no more than the test has run (the
/// backend's clock and this process's are the same machine's), and absent when none waits.
pub async fn depth_counts_ready_delayed_and_running(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let empty = q.depth("default").await.expect("depth");
    assert_eq!(empty, Some(QueueDepth::default()), "a fresh queue is empty");
    let began = now_ms();
    for _ in 0..3 {
        put(&*q, job(&tenant, "default")).await;
    }
    let mut later = job(&tenant, "default");
    later.run_at = Some(now_ms() + 3_600_000);
    put(&*q, later).await;
    put(&*q, job(&tenant, "email")).await;
    let running = take_one(&*q, "default", LONG_LEASE).await;
    let done = take_one(&*q, "default", LONG_LEASE).await;
    let acked = q
        .complete(&done.lease, Outcome::Succeeded)
        .await
        .expect("complete");
    assert_eq!(acked, AckStatus::Applied);

    let depth = q.depth("default").await.expect("depth").expect("a depth");
    assert_eq!(
        (depth.ready, depth.delayed, depth.running),
        (1, 1, 1),
        "while {} runs",
        running.job.id
    );
    let age = depth.oldest_ready_age_ms.expect("one job waits");
    // A few ms of slack: the server's clock and this process's are read at different instants.
    let bound = u64::try_from(now_ms() - began).unwrap_or(0) + 5;
    assert!(
        age <= bound,
        "oldest waited {age} ms in a test of {bound} ms"
    );
    let email = q.depth("email").await.expect("depth");
    assert_eq!(
        email.map(|d| (d.ready, d.delayed, d.running)),
        Some((1, 0, 0))
    );
}
