//! The conformance suite on the Redis queue (one throwaway `redis-server` per test, keys under a
//! test namespace), plus what only Redis has: restarts, lazy connecting, the key layout, and the
//! bounded scans behind wake-ups and listings.

use std::sync::Arc;

use longshore_jobs::queue::redis::{RedisQueue, RedisQueueOptions};
use longshore_jobs::queue::{Queue, QueueError, Retention};
use longshore_testkit::TestRedis;

use crate::suite::{Made, Settings, eventually};

/// The queues the suite uses (others are still found once this process used them).
const QUEUES: [&str; 3] = ["default", "burst", "other"];

fn options(namespace: &str, retention: Retention) -> RedisQueueOptions {
    RedisQueueOptions {
        namespace: namespace.into(),
        queues: QUEUES.iter().map(|q| q.to_string()).collect(),
        retention,
        tenant_concurrency: 0,
    }
}

async fn open(redis: &TestRedis, namespace: &str) -> RedisQueue {
    RedisQueue::connect(&redis.url(), options(namespace, Retention::default()))
        .await
        .expect("connect")
}

/// A fresh server per test; the namespace proves keys stay inside it.
async fn make(settings: Settings) -> Made {
    let redis = TestRedis::start();
    let options = RedisQueueOptions {
        tenant_concurrency: settings.tenant_concurrency,
        ..options("t1", settings.retention)
    };
    let queue = RedisQueue::connect(&redis.url(), options)
        .await
        .expect("connect");
    (Arc::new(queue), Box::new(redis))
}

crate::suite::conformance_tests!(make);

mod layout;
mod resilience;

/// A plain connection to inspect what the queue stored.
async fn raw(redis: &TestRedis) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis.url()).expect("url");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

async fn until_up(q: &RedisQueue) {
    eventually("the queue answers again", async || q.ping().await.ok()).await;
}

fn unavailable<T>(r: Result<T, QueueError>) -> bool {
    matches!(r, Err(QueueError::Unavailable(_)))
}
