//! Leases: exclusive while held, reclaimed (as a spent attempt) when they lapse, fenced by token.

use std::time::Duration;

use longshore_jobs::ids::TenantId;
use longshore_jobs::queue::{AckStatus, JobState, LeaseStatus, Leased, Outcome, Queue};

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
    assert_eq!(renewed, vec![LeaseStatus::Lost]);
    let stored = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((stored.state, stored.attempts), (JobState::Running, 2));
}

/// A lapsed lease on the last attempt hands the job to the next fetch for burial, not to run:
/// same attempt count, a new lease, the reason; the burier records it dead, and the worker that
/// was lost is fenced off. A burial whose own lease lapses is handed over again, and burials
/// count towards `max`.
pub async fn expired_lease_without_attempts_is_handed_over_for_burial(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let mut last_try = job(&tenant, "default");
    last_try.max_attempts = 1;
    let id = put(&*q, last_try).await;
    let lost = take_one(&*q, "default", SHORT_LEASE).await;
    assert_eq!((lost.job.attempts, lost.bury.as_deref()), (1, None));
    let waiting = put(&*q, job(&tenant, "default")).await;

    // Once the lease has lapsed, the burial comes before the waiting job and fills `max`.
    tokio::time::sleep(SHORT_LEASE * 2).await;
    let mut got = q
        .fetch("default", &worker("burier"), 1, SHORT_LEASE)
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "max is respected");
    let burial = got.remove(0);
    assert_eq!(burial.job.id, id, "the burial comes first and fills `max`");
    let reason = burial.bury.clone().expect("handed over for burial");
    assert!(
        reason.contains("lease"),
        "the reason names the lease: {reason}"
    );
    assert_eq!(
        (burial.job.state, burial.job.attempts),
        (JobState::Running, 1),
        "not a new attempt"
    );
    assert_eq!(
        burial.job.started_at, lost.job.started_at,
        "the attempt that died"
    );
    assert_ne!(burial.lease.token, lost.lease.token);
    let late = q.complete(&lost.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(late, AckStatus::Stale, "the lost worker is fenced off");

    // The burier is lost too: the burial is handed over again, never run.
    let again = eventually("the lapsed burial is handed over again", async || {
        let got = q
            .fetch("default", &worker("second-burier"), 10, LONG_LEASE)
            .await
            .unwrap();
        got.into_iter().find(|l| l.job.id == id)
    })
    .await;
    assert_eq!(
        (again.job.attempts, again.bury.as_deref()),
        (1, Some(reason.as_str()))
    );
    let dead = Outcome::Dead {
        error: reason.clone(),
    };
    assert_eq!(
        q.complete(&burial.lease, dead.clone()).await.unwrap(),
        AckStatus::Stale
    );
    assert_eq!(
        q.complete(&again.lease, dead).await.unwrap(),
        AckStatus::Applied
    );
    let stored = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((stored.state, stored.attempts), (JobState::Dead, 1));
    assert_eq!(stored.last_error.as_deref(), Some(reason.as_str()));
    assert!(stored.finished_at.is_some());
    let other = q.get(&tenant, &waiting).await.unwrap().expect("job kept");
    assert_eq!(other.attempts, 1, "the waiting job was leased once");
    let nothing = q
        .fetch("default", &worker("w"), 10, LONG_LEASE)
        .await
        .unwrap();
    assert!(nothing.is_empty(), "a buried job never comes back");
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
        assert_eq!(renewed, vec![LeaseStatus::Held]);
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
    assert_eq!(renewed, vec![LeaseStatus::Lost]);
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
    assert_eq!(renewed, vec![LeaseStatus::Lost, LeaseStatus::Held]);

    let late = q.complete(&old.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(late, AckStatus::Stale);
    let stored = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((stored.state, stored.attempts), (JobState::Running, 2));
    let ack = q.complete(&new.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(ack, AckStatus::Applied);
    let done = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((done.state, done.attempts), (JobState::Succeeded, 2));
}
