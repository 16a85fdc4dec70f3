//! Leases: exclusive while held, reclaimed (as a spent attempt) when they lapse, fenced by token.

use std::time::Duration;

use longshore_jobs::ids::TenantId;
use longshore_jobs::queue::{AckStatus, JobState, Leased, Outcome, Queue};

use super::{Factory, LONG_LEASE, eventually, fresh, job, put, take_one, worker};

/// A lease short enough for a test to watch it lapse.
const SHORT_LEASE: Duration = Duration::from_millis(300);

/// Polls with another worker until it gets the job whose lease lapsed.
async fn steal(q: &dyn Queue) -> Leased {
    eventually(
        "another worker gets the job after its lease lapses",
        async || {
            let mut got = q
                .fetch("default", &worker("thief"), 10, LONG_LEASE)
                .await
                .unwrap();
            assert!(got.len() <= 1, "only one job exists");
            got.pop()
        },
    )
    .await
}

/// Fetch leases jobs to the worker, exclusively, and never more than `max`.
pub async fn fetch_leases_and_respects_max(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    for _ in 0..3 {
        put(&*q, job(&tenant, "default")).await;
    }
    let first = worker("first");
    let leased = q.fetch("default", &first, 2, LONG_LEASE).await.unwrap();
    assert_eq!(leased.len(), 2, "max is respected");
    for one in &leased {
        assert_eq!(one.job.state, JobState::Running);
        assert_eq!(one.job.attempts, 1);
        assert_eq!(one.job.worker.as_deref(), Some(first.0.as_str()));
        assert!(one.job.started_at.is_some());
        assert_eq!(
            (&one.lease.id, one.lease.queue.as_str()),
            (&one.job.id, "default")
        );
        let stored = q
            .get(&tenant, &one.job.id)
            .await
            .unwrap()
            .expect("job kept");
        assert_eq!((stored.state, stored.attempts), (JobState::Running, 1));
    }
    assert_ne!(leased[0].job.id, leased[1].job.id);
    assert_ne!(leased[0].lease.token, leased[1].lease.token);

    let rest = q
        .fetch("default", &worker("second"), 5, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1, "only the unleased job is left");
    assert!(leased.iter().all(|l| l.job.id != rest[0].job.id));
    assert!(
        q.fetch("default", &worker("third"), 5, LONG_LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        q.fetch("other", &worker("fourth"), 5, LONG_LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A lapsed lease goes to another worker as attempt 2; the first worker is fenced off.
pub async fn expired_lease_is_reclaimed_and_fenced(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let lost = take_one(&*q, "default", SHORT_LEASE).await;
    let second = steal(&*q).await;
    assert_eq!((&second.job.id, second.job.attempts), (&id, 2));
    assert_eq!(second.job.state, JobState::Running);
    assert_ne!(second.lease.token, lost.lease.token);

    let late = q.complete(&lost.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(late, AckStatus::Stale);
    let renewed = q
        .renew(std::slice::from_ref(&lost.lease), LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(renewed, vec![AckStatus::Stale]);
    let stored = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((stored.state, stored.attempts), (JobState::Running, 2));
}

/// A lapsed lease on the last attempt sends the job to `dead`, saying why.
pub async fn expired_lease_without_attempts_goes_dead(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let mut last_try = job(&tenant, "default");
    last_try.max_attempts = 1;
    let id = put(&*q, last_try).await;
    let lost = take_one(&*q, "default", SHORT_LEASE).await;
    assert_eq!(lost.job.attempts, 1);
    let dead = eventually("the job goes dead once its lease lapses", async || {
        let got = q
            .fetch("default", &worker("w"), 10, LONG_LEASE)
            .await
            .unwrap();
        assert!(got.is_empty(), "a job out of attempts must not run again");
        let stored = q.get(&tenant, &id).await.unwrap().expect("job kept");
        (stored.state == JobState::Dead).then_some(stored)
    })
    .await;
    assert_eq!(dead.attempts, 1);
    let error = dead.last_error.expect("a reason is recorded");
    assert!(
        error.contains("lease"),
        "last_error mentions the lease: {error}"
    );
    assert!(dead.finished_at.is_some());
    let late = q.complete(&lost.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(late, AckStatus::Stale);
}

/// Renewals keep a short lease held; once they stop, the job is reclaimed.
pub async fn renew_keeps_lease_alive(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let held = take_one(&*q, "default", SHORT_LEASE).await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let renewed = q
            .renew(std::slice::from_ref(&held.lease), SHORT_LEASE)
            .await
            .unwrap();
        assert_eq!(renewed, vec![AckStatus::Applied]);
        // Right after a renewal the lease has its full length left.
        let stolen = q
            .fetch("default", &worker("thief"), 10, LONG_LEASE)
            .await
            .unwrap();
        assert!(stolen.is_empty(), "a renewed lease must not be taken");
    }
    let reclaimed = steal(&*q).await;
    assert_eq!((&reclaimed.job.id, reclaimed.job.attempts), (&id, 2));
    let renewed = q
        .renew(std::slice::from_ref(&held.lease), SHORT_LEASE)
        .await
        .unwrap();
    assert_eq!(renewed, vec![AckStatus::Stale]);
}

/// After a re-lease only the new holder's token counts, for renewals and completions alike.
pub async fn new_holder_completes_old_token_is_stale(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let old = take_one(&*q, "default", SHORT_LEASE).await;
    let new = steal(&*q).await;
    let both = [old.lease.clone(), new.lease.clone()];
    let renewed = q.renew(&both, LONG_LEASE).await.unwrap();
    assert_eq!(renewed, vec![AckStatus::Stale, AckStatus::Applied]);

    let late = q.complete(&old.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(late, AckStatus::Stale);
    let stored = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((stored.state, stored.attempts), (JobState::Running, 2));
    let ack = q.complete(&new.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(ack, AckStatus::Applied);
    let done = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((done.state, done.attempts), (JobState::Succeeded, 2));
}
