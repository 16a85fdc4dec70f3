//! A job's life through enqueue and the outcomes of its attempts.

use std::time::Duration;

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::{AckStatus, JobState, LeaseStatus, Outcome, QueueError};

use super::{Factory, LONG_LEASE, fetch_not_before, fresh, job, put, take_one, worker};

/// Enqueue stores every field; a future `run_at` starts `scheduled`; a repeated id is a no-op.
pub async fn enqueue_stores_every_field(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let mut new = job(&tenant, "default");
    new.max_attempts = 7;
    let before = now_ms();
    let first = q.enqueue(new.clone()).await.expect("enqueue");
    let after = now_ms();
    assert!(first.created);
    let stored = first.job;
    assert_eq!(stored.id, new.id);
    assert_eq!(stored.tenant, tenant);
    assert_eq!(stored.job_type, "test.echo");
    assert_eq!(stored.queue, "default");
    assert_eq!(stored.payload, new.payload);
    assert_eq!(stored.state, JobState::Queued);
    assert_eq!(stored.attempts, 0);
    assert_eq!(stored.max_attempts, 7);
    assert!((before..=after).contains(&stored.created_at));
    assert!(
        (before..=after).contains(&stored.run_at),
        "run_at defaults to now"
    );
    assert!(stored.updated_at >= stored.created_at);
    assert_eq!(stored.request_id.as_deref(), Some("req-1"));
    assert_eq!(
        (
            stored.started_at,
            stored.finished_at,
            &stored.last_error,
            &stored.worker
        ),
        (None, None, &None, &None)
    );
    assert_eq!(q.get(&tenant, &new.id).await.unwrap(), Some(stored.clone()));

    let mut later = job(&tenant, "default");
    later.run_at = Some(now_ms() + 3_600_000);
    let scheduled = q.enqueue(later.clone()).await.expect("enqueue later").job;
    assert_eq!(scheduled.state, JobState::Scheduled);
    assert_eq!(Some(scheduled.run_at), later.run_at);

    let mut past = job(&tenant, "default");
    past.run_at = Some(now_ms() - 60_000);
    let overdue = q.enqueue(past.clone()).await.expect("enqueue past").job;
    assert_eq!(overdue.state, JobState::Queued);
    assert_eq!(Some(overdue.run_at), past.run_at);

    let mut again = new.clone();
    again.payload = serde_json::json!({ "different": true });
    again.max_attempts = 1;
    again.run_at = later.run_at;
    let second = q.enqueue(again).await.expect("enqueue again");
    assert!(!second.created, "same id must not create a second job");
    assert_eq!(second.job, stored, "the first record is returned unchanged");
    assert_eq!(q.get(&tenant, &new.id).await.unwrap(), Some(stored));
}

/// Success finishes the job; any later ack or renewal with that lease is stale.
pub async fn succeeded_is_final_and_fenced(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    let ack = q.complete(&leased.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(ack, AckStatus::Applied);
    let done = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.attempts, 1);
    let finished = done.finished_at.expect("finished_at set");
    assert!(finished >= done.started_at.expect("started_at set"));

    let again = q.complete(&leased.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(again, AckStatus::Stale);
    let dead = Outcome::Dead {
        error: "late".into(),
    };
    assert_eq!(
        q.complete(&leased.lease, dead).await.unwrap(),
        AckStatus::Stale
    );
    let renewed = q
        .renew(std::slice::from_ref(&leased.lease), LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(renewed, vec![LeaseStatus::Lost]);
    assert_eq!(q.get(&tenant, &id).await.unwrap(), Some(done));
    assert!(
        q.fetch("default", &worker("w"), 10, LONG_LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A retried job keeps its error and is not fetchable before its delay; then attempt 2 runs.
pub async fn retry_waits_for_its_delay(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    let before = now_ms();
    let delay = Duration::from_secs(2);
    let retry = Outcome::Retry {
        error: "boom".into(),
        delay,
    };
    assert_eq!(
        q.complete(&leased.lease, retry).await.unwrap(),
        AckStatus::Applied
    );
    let waiting = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!(waiting.state, JobState::Retrying);
    assert_eq!(waiting.last_error.as_deref(), Some("boom"));
    assert!(
        waiting.run_at >= before + 2_000,
        "run_at moved by the delay"
    );

    let again = fetch_not_before(&*q, "default", waiting.run_at).await;
    assert_eq!(again.job.id, id);
    assert_eq!(again.job.attempts, 2);
    assert_eq!(again.job.last_error.as_deref(), Some("boom"));
    assert_ne!(again.lease.token, leased.lease.token);
}

/// A dead job keeps its reason; `retry_dead` revives it with a fresh budget, and only it.
pub async fn dead_and_retry_dead(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let leased = take_one(&*q, "default", LONG_LEASE).await;
    let dead = Outcome::Dead {
        error: "bad input".into(),
    };
    assert_eq!(
        q.complete(&leased.lease, dead).await.unwrap(),
        AckStatus::Applied
    );
    let buried = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!(buried.state, JobState::Dead);
    assert_eq!(buried.last_error.as_deref(), Some("bad input"));
    assert!(buried.finished_at.is_some());
    assert!(
        q.fetch("default", &worker("w"), 10, LONG_LEASE)
            .await
            .unwrap()
            .is_empty()
    );

    let revived = q.retry_dead(&tenant, &id).await.expect("retry_dead");
    // Attempts keep counting; the budget grows by the job's own budget again.
    assert_eq!(
        (revived.state, revived.attempts, revived.max_attempts),
        (JobState::Queued, 1, 1 + buried.max_attempts)
    );
    assert_eq!(q.get(&tenant, &id).await.unwrap(), Some(revived));
    let rerun = take_one(&*q, "default", LONG_LEASE).await;
    assert_eq!((rerun.job.id.clone(), rerun.job.attempts), (id.clone(), 2));

    let running = q.retry_dead(&tenant, &id).await;
    assert!(
        matches!(running, Err(QueueError::InvalidState(JobState::Running))),
        "{running:?}"
    );
    let queued = put(&*q, job(&tenant, "default")).await;
    let not_dead = q.retry_dead(&tenant, &queued).await;
    assert!(
        matches!(not_dead, Err(QueueError::InvalidState(JobState::Queued))),
        "{not_dead:?}"
    );
    let unknown = q.retry_dead(&tenant, &JobId::new()).await;
    assert!(matches!(unknown, Err(QueueError::NotFound)), "{unknown:?}");
}

/// A released job goes back to `queued` at once with its attempt given back.
pub async fn released_job_returns_unspent(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let first = take_one(&*q, "default", LONG_LEASE).await;
    assert_eq!(first.job.attempts, 1);
    let ack = q.complete(&first.lease, Outcome::Released).await.unwrap();
    assert_eq!(ack, AckStatus::Applied);
    let back = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((back.state, back.attempts), (JobState::Queued, 0));

    let second = take_one(&*q, "default", LONG_LEASE).await;
    assert_eq!((second.job.id.clone(), second.job.attempts), (id, 1));
    let stale = q.complete(&first.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(stale, AckStatus::Stale);
    let ack = q.complete(&second.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(ack, AckStatus::Applied);
}

/// A deferred job (a limit said wait) is scheduled for later with its attempt given back and
/// its last error kept, is not handed out before then, and is after.
pub async fn deferred_job_waits_with_its_attempt_given_back(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let id = put(&*q, job(&tenant, "default")).await;
    let first = take_one(&*q, "default", LONG_LEASE).await;
    let before = now_ms();
    let delay = Duration::from_millis(1_500);
    let ack = q
        .complete(&first.lease, Outcome::Deferred { delay })
        .await
        .unwrap();
    assert_eq!(ack, AckStatus::Applied);
    let back = q.get(&tenant, &id).await.unwrap().expect("job kept");
    assert_eq!((back.state, back.attempts), (JobState::Scheduled, 0));
    assert!(
        back.run_at >= before + 1_500,
        "{} < {}",
        back.run_at,
        before + 1_500
    );

    let again = fetch_not_before(&*q, "default", back.run_at).await;
    assert_eq!((again.job.id.clone(), again.job.attempts), (id, 1));
    let stale = q.complete(&first.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(stale, AckStatus::Stale);
}

/// A delayed job is not handed out before its `run_at`, and is after it.
pub async fn delayed_job_waits_for_run_at(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let mut delayed = job(&tenant, "default");
    let run_at = now_ms() + 2_000;
    delayed.run_at = Some(run_at);
    let id = put(&*q, delayed).await;

    let got = fetch_not_before(&*q, "default", run_at).await;
    assert_eq!((got.job.id, got.job.attempts), (id, 1));
    assert_eq!(got.job.state, JobState::Running);
}

/// `enqueue_many` answers each job as `enqueue` would, in order: new jobs are created (queued
/// or scheduled), a taken id (earlier or earlier in the same call) is found unchanged, another
/// tenant's id is refused; across queues too.
pub async fn enqueue_many_is_enqueue_per_job(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let tenant = TenantId::new();
    let other = TenantId::new();
    let existing = job(&tenant, "default");
    put(q.as_ref(), existing.clone()).await;
    let theirs = job(&other, "default");
    put(q.as_ref(), theirs.clone()).await;

    let fresh_one = job(&tenant, "default");
    let mut later = job(&tenant, "other");
    later.run_at = Some(now_ms() + 3_600_000);
    let mut stolen = job(&tenant, "default");
    stolen.id = theirs.id.clone();
    let batch = vec![
        fresh_one.clone(),
        existing.clone(),
        later.clone(),
        fresh_one.clone(),
        stolen,
    ];
    let out = q.enqueue_many(batch).await;
    assert_eq!(out.len(), 5);
    let first = out[0].as_ref().expect("new job");
    assert!(first.created);
    assert_eq!(first.job.state, JobState::Queued);
    assert_eq!(first.job.id, fresh_one.id);
    let again = out[1].as_ref().expect("existing job");
    assert!(!again.created);
    assert_eq!(again.job.id, existing.id);
    let scheduled = out[2].as_ref().expect("scheduled job");
    assert!(scheduled.created);
    assert_eq!(scheduled.job.state, JobState::Scheduled);
    assert_eq!(scheduled.job.queue, "other");
    let repeat = out[3].as_ref().expect("repeat in the same call");
    assert!(!repeat.created);
    assert_eq!(repeat.job.id, fresh_one.id);
    assert!(matches!(out[4], Err(QueueError::InvalidState(_))));
    assert_eq!(
        q.get(&tenant, &fresh_one.id)
            .await
            .unwrap()
            .map(|j| j.state),
        Some(JobState::Queued)
    );
    assert_eq!(q.get(&tenant, &theirs.id).await.unwrap(), None);
    assert!(q.enqueue_many(Vec::new()).await.is_empty());
}
