//! The queue contract (`longshore_jobs::queue::Queue`) as executable tests, run against every
//! backend the way a storage engine runs its spec tests.
//!
//! Each test is a generic `pub async fn(&dyn Factory)` in one of the modules below; it gets a
//! fresh, isolated backend from the factory and speaks only through the `Queue` trait, so nothing
//! here knows which backend it runs on. Nothing asserts on timing except generous deadlines while
//! waiting for something that must happen (the machine is shared and noisy).
//!
//! # Adding a backend
//! 1. Create `tests/conformance/<backend>.rs` with an `async fn make(settings: Settings) -> Made`
//!    that builds a fresh backend for one test (its own temporary file, key namespace or server)
//!    with those settings, and returns the queue plus a [`Guard`] holding whatever must outlive
//!    the test (temporary folders, throwaway servers).
//! 2. In that file, call `crate::suite::conformance_tests!(make);` to get one `#[tokio::test]`
//!    per suite function. Backend-specific tests may follow in the same file.
//! 3. Add `mod <backend>;` to `tests/conformance/main.rs`.
//!
//! A new suite function must also be listed in [`conformance_tests!`].

pub mod cancelling;
pub mod depth;
pub mod fairness;
pub mod leases;
pub mod lifecycle;
pub mod listing;
pub mod load;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use longshore_jobs::clock::now_ms;
use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::{Leased, NewJob, Queue, Retention, WorkerId};

/// Whatever keeps a backend alive for one test (a temp dir, a server); dropped at the end.
pub type Guard = Box<dyn std::any::Any + Send>;

/// A fresh backend: the queue under test and its [`Guard`].
pub type Made = (Arc<dyn Queue>, Guard);

/// What a test may set on the backend it gets: every backend has these options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// How long finished jobs stay (tests shorten it).
    pub retention: Retention,
    /// Most jobs of one tenant running at once per queue (0: no cap).
    pub tenant_concurrency: u32,
}

/// Builds a fresh, isolated backend per test with the given settings.
pub trait Factory: Sync {
    /// One new backend, sharing no state with any other test's.
    fn make(&self, settings: Settings) -> Pin<Box<dyn Future<Output = Made> + Send>>;
}

impl<F, Fut> Factory for F
where
    F: Fn(Settings) -> Fut + Sync,
    Fut: Future<Output = Made> + Send + 'static,
{
    fn make(&self, settings: Settings) -> Pin<Box<dyn Future<Output = Made> + Send>> {
        Box::pin(self(settings))
    }
}

/// Expands to one `#[tokio::test]` per suite function, each calling it with `$factory`.
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::suite::conformance_tests!(@each $factory;
            lifecycle::enqueue_stores_every_field,
            lifecycle::enqueue_many_is_enqueue_per_job,
            lifecycle::succeeded_is_final_and_fenced,
            lifecycle::retry_waits_for_its_delay,
            lifecycle::dead_and_retry_dead,
            lifecycle::released_job_returns_unspent,
            lifecycle::deferred_job_waits_with_its_attempt_given_back,
            lifecycle::delayed_job_waits_for_run_at,
            leases::fetch_leases_and_respects_max,
            leases::expired_lease_is_reclaimed_and_fenced,
            leases::expired_lease_without_attempts_is_handed_over_for_burial,
            leases::renew_keeps_lease_alive,
            leases::new_holder_completes_old_token_is_stale,
            listing::cancel_before_running_is_immediate,
            cancelling::a_running_job_is_asked_and_ends_cancelled,
            cancelling::an_outcome_that_would_run_it_again_ends_it_cancelled,
            cancelling::a_finished_attempt_keeps_its_outcome,
            cancelling::a_lost_worker_leaves_it_cancelled,
            fairness::a_burst_does_not_starve_another_tenant,
            fairness::single_fetches_take_turns,
            fairness::a_lone_tenant_gets_the_whole_fetch,
            fairness::a_capped_tenant_waits_for_its_running_jobs,
            listing::tenants_are_isolated,
            listing::list_filters_and_paginates,
            listing::list_refuses_garbage_cursors,
            listing::retention_purges_finished_jobs,
            load::burst_of_100k_jobs_drains,
            load::wait_for_work_wakes_on_enqueue,
            depth::depth_counts_ready_delayed_and_running,
        );
    };
    (@each $factory:path; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                $crate::suite::$module::$test(&$factory).await;
            }
        )*
    };
}
pub(crate) use conformance_tests;

/// A lease long enough never to expire during a test that does not want it to.
pub const LONG_LEASE: Duration = Duration::from_secs(60);

/// How long a test waits for something that must happen before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A backend with the default retention.
pub async fn fresh(factory: &dyn Factory) -> Made {
    factory.make(Settings::default()).await
}

/// A job of `tenant` on `queue`, runnable now, with 3 attempts and a recognisable payload.
pub fn job(tenant: &TenantId, queue: &str) -> NewJob {
    NewJob {
        id: JobId::new(),
        tenant: tenant.clone(),
        job_type: "test.echo".into(),
        queue: queue.into(),
        payload: serde_json::json!({ "n": 1, "nested": { "list": [1, "two", null] } }),
        max_attempts: 3,
        run_at: None,
        request_id: Some("req-1".into()),
    }
}

/// A distinct worker identity.
pub fn worker(name: &str) -> WorkerId {
    WorkerId(format!("{name}-{}", JobId::new()))
}

/// Enqueues `job`, asserting it was created.
pub async fn put(queue: &dyn Queue, job: NewJob) -> JobId {
    let id = job.id.clone();
    let done = queue.enqueue(job).await.expect("enqueue");
    assert!(done.created, "a new id must create a job");
    id
}

/// Fetches exactly one job, asserting there was one.
pub async fn take_one(queue: &dyn Queue, name: &str, lease: Duration) -> Leased {
    let mut got = queue
        .fetch(name, &worker("w"), 1, lease)
        .await
        .expect("fetch");
    assert_eq!(got.len(), 1, "expected one runnable job");
    got.remove(0)
}

/// Polls `check` every 25 ms until it yields a value; fails the test after [`DEADLINE`].
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Fetches the one job of `name` that must not be handed out before `not_before` (epoch ms): a
/// fetch now must come back empty unless the clock has already passed it; then polls for it.
pub async fn fetch_not_before(queue: &dyn Queue, name: &str, not_before: i64) -> Leased {
    let job = eventually("a due job becomes fetchable", async || {
        let mut got = queue
            .fetch(name, &worker("w"), 10, LONG_LEASE)
            .await
            .expect("fetch");
        let fetched_by = now_ms();
        assert!(got.len() <= 1, "only one job was runnable");
        assert!(
            got.is_empty() || fetched_by >= not_before,
            "fetched before it was due"
        );
        got.pop()
    })
    .await;
    assert!(now_ms() >= not_before);
    job
}
