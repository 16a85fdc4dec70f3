//! Cancelling a running job: the queue records the request, tells the lease holder at its next
//! renewal, and ends the job `cancelled` however its attempt ends, unless it succeeded.

use std::time::Duration;

use longshore_jobs::ids::TenantId;
use longshore_jobs::queue::{AckStatus, JobState, LeaseStatus, Outcome};

use super::{Factory, LONG_LEASE, eventually, fresh, job, put, take_one, worker};

pub async fn a_running_job_is_asked_and_ends_cancelled(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let other = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    let bystander = take_one(&*q, "default", LONG_LEASE).await;
    assert_eq!((&leased.job.id, &bystander.job.id), (&id, &other));
    assert_eq!(
        q.renew(std::slice::from_ref(&leased.lease), LONG_LEASE)
            .await
            .unwrap(),
        vec![LeaseStatus::Held],
        "nothing asked yet"
    );

    let asked = q.cancel(&tenant, &id).await.expect("cancel running");
    assert_eq!(asked.state, JobState::Running, "its worker stops it");
    let at = asked.cancel_requested_at.expect("the request is recorded");
    let again = q.cancel(&tenant, &id).await.expect("asking twice");
    assert_eq!(
        again.cancel_requested_at,
        Some(at),
        "the first request's time stays"
    );
    assert_eq!(q.get(&tenant, &id).await.unwrap(), Some(again));

    let renewed = q
        .renew(&[leased.lease.clone(), bystander.lease.clone()], LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(
        renewed,
        vec![LeaseStatus::CancelRequested, LeaseStatus::Held],
        "only the cancelled job's holder is told"
    );

    let stopped = Outcome::Cancelled {
        reason: "the sleep was interrupted".into(),
    };
    assert_eq!(
        q.complete(&leased.lease, stopped).await.unwrap(),
        AckStatus::Applied
    );
    let done = q.get(&tenant, &id).await.unwrap().expect("kept");
    assert_eq!(done.state, JobState::Cancelled);
    assert_eq!(done.cancel_requested_at, Some(at));
    assert_eq!(
        done.last_error.as_deref(),
        Some("the sleep was interrupted")
    );
    assert!(done.finished_at.is_some());
    assert_eq!(
        q.renew(std::slice::from_ref(&leased.lease), LONG_LEASE)
            .await
            .unwrap(),
        vec![LeaseStatus::Lost]
    );
    assert!(
        q.cancel(&tenant, &id).await.is_err(),
        "a finished job is not cancelled again"
    );
    assert!(
        q.fetch("default", &worker("w"), 10, LONG_LEASE)
            .await
            .unwrap()
            .is_empty(),
        "a cancelled job never runs again"
    );
}

pub async fn an_outcome_that_would_run_it_again_ends_it_cancelled(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let outcomes = [
        Outcome::Retry {
            error: "timed out".into(),
            delay: Duration::from_millis(1),
        },
        Outcome::Released,
        Outcome::Deferred {
            delay: Duration::from_millis(1),
        },
    ];
    for outcome in outcomes {
        let id = put(&*q, job(&tenant, "default")).await;
        let leased = take_one(&*q, "default", LONG_LEASE).await;
        q.cancel(&tenant, &id).await.expect("cancel running");
        assert_eq!(
            q.complete(&leased.lease, outcome.clone()).await.unwrap(),
            AckStatus::Cancelled,
            "{outcome:?}"
        );
        let done = q.get(&tenant, &id).await.unwrap().expect("kept");
        assert_eq!(done.state, JobState::Cancelled, "{outcome:?}");
        assert!(done.finished_at.is_some());
        let spent = u32::from(matches!(outcome, Outcome::Retry { .. }));
        assert_eq!(done.attempts, spent, "an unstarted attempt is given back");
    }
}

pub async fn a_finished_attempt_keeps_its_outcome(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    q.cancel(&tenant, &id).await.expect("cancel running");
    assert_eq!(
        q.complete(&leased.lease, Outcome::Succeeded).await.unwrap(),
        AckStatus::Applied,
        "the work was done before the handler heard: it succeeded"
    );
    assert_eq!(
        q.get(&tenant, &id).await.unwrap().unwrap().state,
        JobState::Succeeded
    );

    let id = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    q.cancel(&tenant, &id).await.expect("cancel running");
    let dead = Outcome::Dead {
        error: "bad payload".into(),
    };
    assert_eq!(
        q.complete(&leased.lease, dead).await.unwrap(),
        AckStatus::Applied
    );
    assert_eq!(
        q.get(&tenant, &id).await.unwrap().unwrap().state,
        JobState::Dead
    );
    let revived = q.retry_dead(&tenant, &id).await.expect("retry dead");
    assert_eq!(
        revived.cancel_requested_at, None,
        "a retried job starts without the old request"
    );
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    assert_eq!(
        q.renew(&[leased.lease], LONG_LEASE).await.unwrap(),
        vec![LeaseStatus::Held]
    );
}

pub async fn a_lost_worker_leaves_it_cancelled(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let lapsing = take_one(&*q, "default", Duration::from_millis(50)).await;
    q.cancel(&tenant, &id).await.expect("cancel running");
    let done = eventually("the lapsed lease ends the job", async || {
        let got = q
            .fetch("default", &worker("w2"), 10, LONG_LEASE)
            .await
            .unwrap();
        assert!(got.is_empty(), "a job asked to cancel never runs again");
        let job = q.get(&tenant, &id).await.unwrap()?;
        (job.state == JobState::Cancelled).then_some(job)
    })
    .await;
    assert_eq!(done.attempts, 1);
    assert!(done.finished_at.is_some());
    assert_eq!(
        q.complete(&lapsing.lease, Outcome::Succeeded)
            .await
            .unwrap(),
        AckStatus::Stale,
        "the lost worker is fenced off"
    );
}
