//! Redis going away and coming back: restarts, starting before Redis, backoff, secrets.

use std::time::{Duration, Instant};

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::TenantId;
use longshore_jobs::queue::redis::RedisQueue;
use longshore_jobs::queue::{
    AckStatus, JobFilter, JobState, Outcome, Queue, QueueError, Retention,
};
use longshore_testkit::TestRedis;

use super::{open, options, raw, unavailable, until_up};
use crate::suite::{LONG_LEASE, job, put, take_one, worker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_redis_restart_without_being_rebuilt() {
    let mut redis = TestRedis::start();
    let q = open(&redis, "rs").await;
    let tenant = TenantId::new();
    let before = put(&q, job(&tenant, "default")).await;
    let mut later = job(&tenant, "default");
    later.run_at = Some(now_ms() + 3_600_000);
    let scheduled = put(&q, later).await;
    // Leaves a dedicated blocking connection in the pool, to be found dead after the restart.
    q.wait_for_work("other", Duration::from_millis(20))
        .await
        .unwrap();

    redis.stop();
    assert!(unavailable(q.enqueue(job(&tenant, "default")).await));
    assert!(unavailable(
        q.fetch("default", &worker("w"), 10, LONG_LEASE).await
    ));
    assert!(unavailable(q.get(&tenant, &before).await));
    assert!(unavailable(
        q.list(&tenant, &JobFilter::default(), None, 10).await
    ));
    assert!(unavailable(q.cancel(&tenant, &before).await));
    assert!(unavailable(q.purge_expired("default", 10).await));
    assert!(unavailable(q.ping().await));
    let wait = q.wait_for_work("default", Duration::from_millis(200)).await;
    assert!(matches!(wait, Err(QueueError::Unavailable(_))), "{wait:?}");

    redis.start_again();
    until_up(&q).await;
    let kept = q
        .get(&tenant, &before)
        .await
        .unwrap()
        .expect("kept across the restart");
    assert_eq!(kept.state, JobState::Queued);
    let stored = q.get(&tenant, &scheduled).await.unwrap().expect("kept");
    assert_eq!(stored.state, JobState::Scheduled);
    // The script cache is empty after a restart: scripts are loaded again on first use.
    let leased = take_one(&q, "default", LONG_LEASE).await;
    assert_eq!(leased.job.id, before);
    let ack = q.complete(&leased.lease, Outcome::Succeeded).await.unwrap();
    assert_eq!(ack, AckStatus::Applied);
    q.wait_for_work("other", Duration::from_millis(50))
        .await
        .expect("the blocking connection is rebuilt");
    put(&q, job(&tenant, "default")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_while_redis_is_down_works_once_it_is_up() {
    let mut redis = TestRedis::start();
    redis.stop();
    let q = open(&redis, "lazy").await;
    assert!(unavailable(q.ping().await));
    redis.start_again();
    until_up(&q).await;
    let tenant = TenantId::new();
    let id = put(&q, job(&tenant, "default")).await;
    assert_eq!(take_one(&q, "default", LONG_LEASE).await.job.id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_does_not_spin_while_redis_is_down() {
    let mut redis = TestRedis::start();
    let q = open(&redis, "spin").await;
    q.wait_for_work("default", Duration::from_millis(10))
        .await
        .unwrap();
    redis.stop();
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed() < Duration::from_secs(2) {
        assert!(unavailable(
            q.wait_for_work("default", Duration::from_secs(5)).await
        ));
        calls += 1;
    }
    assert!(
        calls < 40,
        "failed waits back off instead of spinning: {calls} calls in 2 s"
    );
}

#[tokio::test]
async fn errors_never_show_the_password() {
    let redis = TestRedis::start();
    let mut conn = raw(&redis).await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("right-pass")
        .query_async(&mut conn)
        .await
        .unwrap();
    let wrong = format!("redis://:wrong-secret-42@127.0.0.1:{}/", redis.port());
    let q = RedisQueue::connect(&wrong, options("pw", Retention::default()))
        .await
        .expect("a bad password is reported by operations, not by connect");
    let Err(QueueError::Unavailable(msg)) = q.ping().await else {
        panic!("a refused login is Unavailable");
    };
    assert!(!msg.contains("wrong-secret-42"), "{msg}");
    let right = format!("redis://:right-pass@127.0.0.1:{}/", redis.port());
    let q = RedisQueue::connect(&right, options("pw", Retention::default()))
        .await
        .unwrap();
    q.ping().await.expect("the right password works");
}
