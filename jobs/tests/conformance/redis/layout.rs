//! What the data in Redis looks like, and the bounded work behind fetch, waits and listings.

use std::time::{Duration, Instant};

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::redis::RedisQueue;
use longshore_jobs::queue::{JobFilter, JobState, Outcome, Queue, QueueError, Retention};
use longshore_testkit::TestRedis;

use super::{open, options, raw};
use crate::suite::{LONG_LEASE, eventually, job, put, take_one, worker};

#[tokio::test]
async fn every_key_carries_its_queue_hash_tag() {
    let redis = TestRedis::start();
    let q = open(&redis, "ns7").await;
    let tenant = TenantId::new();
    for queue in ["email", "default"] {
        put(&q, job(&tenant, queue)).await;
        let mut later = job(&tenant, queue);
        later.run_at = Some(now_ms() + 60_000);
        put(&q, later).await;
        let leased = take_one(&q, queue, LONG_LEASE).await;
        q.complete(&leased.lease, Outcome::Succeeded).await.unwrap();
        put(&q, job(&tenant, queue)).await;
        take_one(&q, queue, LONG_LEASE).await;
        put(&q, job(&tenant, queue)).await; // stays ready (an empty list has no key)
    }
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut raw(&redis).await)
        .await
        .unwrap();
    for key in &keys {
        assert!(
            key.starts_with("{ns7:ls:email}:") || key.starts_with("{ns7:ls:default}:"),
            "{key}"
        );
    }
    for suffix in [
        "turns".to_owned(),
        format!("rq:{tenant}"),
        "delayed".into(),
        "leased".into(),
        "expire".into(),
    ] {
        assert!(
            keys.iter()
                .any(|k| k == &format!("{{ns7:ls:email}}:{suffix}")),
            "{suffix}"
        );
    }
    assert!(keys.contains(&format!("{{ns7:ls:email}}:idx:{tenant}")));
}

#[tokio::test]
async fn jobs_run_in_enqueue_order() {
    let redis = TestRedis::start();
    let q = open(&redis, "fifo").await;
    let tenant = TenantId::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(put(&q, job(&tenant, "default")).await);
    }
    let leased = q
        .fetch("default", &worker("w"), 10, LONG_LEASE)
        .await
        .unwrap();
    let got: Vec<JobId> = leased.into_iter().map(|l| l.job.id).collect();
    assert_eq!(got, ids);
}

#[tokio::test]
async fn waits_end_when_a_delayed_job_or_a_lease_falls_due() {
    let redis = TestRedis::start();
    let q = open(&redis, "due").await;
    let tenant = TenantId::new();
    let mut soon = job(&tenant, "default");
    soon.run_at = Some(now_ms() + 500);
    put(&q, soon).await;
    let start = Instant::now();
    q.wait_for_work("default", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "woken for the delayed job"
    );
    let held = eventually("the delayed job is fetched", async || {
        q.fetch("default", &worker("w"), 1, Duration::from_millis(500))
            .await
            .unwrap()
            .pop()
    })
    .await;

    let start = Instant::now();
    q.wait_for_work("default", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "woken for the lapsed lease"
    );
    let again = eventually("the lapsed job is fetched again", async || {
        q.fetch("default", &worker("w2"), 1, LONG_LEASE)
            .await
            .unwrap()
            .pop()
    })
    .await;
    assert_eq!((again.job.id, again.job.attempts), (held.job.id, 2));
}

#[tokio::test]
async fn listing_scans_a_bounded_slice_per_call_and_resumes() {
    let redis = TestRedis::start();
    let q = open(&redis, "scan").await;
    let tenant = TenantId::new();
    let oldest = put(&q, job(&tenant, "default")).await;
    q.cancel(&tenant, &oldest).await.unwrap();
    for _ in 0..150 {
        put(&q, job(&tenant, "other")).await;
        put(&q, job(&tenant, "default")).await;
    }
    let filter = JobFilter {
        state: Some(JobState::Cancelled),
        job_type: None,
    };
    let (mut found, mut calls, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = q
            .list(&tenant, &filter, cursor.as_deref(), 1)
            .await
            .unwrap();
        calls += 1;
        found.extend(page.items.into_iter().map(|j| j.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(calls < 1_000, "the listing ends");
    }
    assert_eq!(found, vec![oldest]);
    assert!(
        calls > 1,
        "a page scans a bounded number of entries, then hands back a cursor"
    );
    let bad = q.list(&tenant, &filter, Some("not a cursor"), 10).await;
    assert!(matches!(bad, Err(QueueError::InvalidCursor)), "{bad:?}");
}

#[tokio::test]
async fn purge_removes_the_hash_and_the_index_entry() {
    let redis = TestRedis::start();
    let retention = Retention {
        cancelled: Duration::ZERO,
        ..Retention::default()
    };
    let q = RedisQueue::connect(&redis.url(), options("purge", retention))
        .await
        .unwrap();
    let tenant = TenantId::new();
    let id = put(&q, job(&tenant, "default")).await;
    q.cancel(&tenant, &id).await.unwrap();
    let purged = eventually("the cancelled job is purged", async || {
        let n = q.purge_expired("default", 10).await.unwrap();
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(purged, 1);
    let mut conn = raw(&redis).await;
    let idx: i64 = redis::cmd("ZCARD")
        .arg(format!("{{purge:ls:default}}:idx:{tenant}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let hash: i64 = redis::cmd("EXISTS")
        .arg(format!("{{purge:ls:default}}:job:{id}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!((idx, hash), (0, 0));
    // The cancelled id still in the ready list is skipped by fetch.
    assert!(
        q.fetch("default", &worker("w"), 10, LONG_LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn undecodable_job_goes_dead_instead_of_failing_fetch() {
    let redis = TestRedis::start();
    let q = open(&redis, "poison").await;
    let tenant = TenantId::new();
    let bad = put(&q, job(&tenant, "default")).await;
    let good = put(&q, job(&tenant, "default")).await;
    let key = format!("{{poison:ls:default}}:job:{bad}");
    let _: i64 = redis::cmd("HSET")
        .arg(&key)
        .arg("p")
        .arg("{not json")
        .query_async(&mut raw(&redis).await)
        .await
        .unwrap();
    let leased = q
        .fetch("default", &worker("w"), 10, LONG_LEASE)
        .await
        .expect("a poison record must not fail the fetch");
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].job.id, good);
    assert!(matches!(
        q.get(&tenant, &bad).await,
        Err(QueueError::Corrupt(_))
    ));
    let state: Option<String> = redis::cmd("HGET")
        .arg(&key)
        .arg("s")
        .query_async(&mut raw(&redis).await)
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("dead"));
}
