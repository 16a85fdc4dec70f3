//! One clock decides when work runs: a worker or scheduler whose own clock is a minute fast or
//! slow neither steals a live lease nor fires a tick early (`LONGSHORE_TEST_CLOCK_OFFSET_MS`
//! skews a process's clock for these tests).

use std::time::{Duration, Instant};

use chrono::Utc;
use longshore_tests::{Mode, Stack};
use serde_json::json;

const FAST: &str = "60000";
const SLOW: &str = "-60000";
const OFFSET: &str = "LONGSHORE_TEST_CLOCK_OFFSET_MS";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_a_minute_off_neither_steals_nor_loses_a_live_lease() {
    let mut stack = Stack::builder(Mode::Production)
        .workers(0)
        .env("LONGSHORE_LEASE_SECS", "3")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let sleep = json!({"type": "diagnostic.sleep", "payload": {"ms": 5000}});

    // A slow worker holds the lease and renews it; a worker with the right time looks on.
    let slow = stack.spawn_worker_with(&[(OFFSET, SLOW)]);
    let id = client.submit(sleep.clone()).await;
    client
        .wait_for_state(&id, "running", Duration::from_secs(30))
        .await;
    stack.spawn_worker();
    let job = client
        .wait_for_state(&id, "succeeded", Duration::from_secs(60))
        .await;
    assert_eq!(
        job["attempts"], 1,
        "the slow worker's lease was taken: {job}"
    );
    stack.workers[slow].terminate(Duration::from_secs(30));

    // A worker with the right time holds the lease; a fast one looks on.
    let id = client.submit(sleep).await;
    client
        .wait_for_state(&id, "running", Duration::from_secs(30))
        .await;
    stack.spawn_worker_with(&[(OFFSET, FAST)]);
    let job = client
        .wait_for_state(&id, "succeeded", Duration::from_secs(60))
        .await;
    assert_eq!(job["attempts"], 1, "the fast worker stole the lease: {job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_a_minute_fast_fires_no_tick_early() {
    let mut stack = Stack::builder(Mode::Production)
        .workers(0)
        .env("LONGSHORE_SCHEDULER_REFRESH_MS", "200")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let schedule = crate::schedules::create(
        &client,
        json!({"name": "fast", "cron": "*/2 * * * * *", "report": {"kind": "jobs_health", "period": "since_last_run"}}),
    )
    .await;
    let schedule = schedule["id"].as_str().unwrap().to_owned();
    let _scheduler = stack.spawn_scheduler_with(&[(OFFSET, FAST)]);
    // Watch the reports appear: each must appear after its tick, by this (correct) clock.
    let mut seen = std::collections::HashMap::new();
    let until = Instant::now() + Duration::from_secs(60);
    while seen.len() < 3 && Instant::now() < until {
        for r in crate::schedules::reports_of(&client, &schedule).await {
            let id = r["id"].as_str().unwrap().to_owned();
            seen.entry(id).or_insert_with(|| {
                let tick = crate::schedules::time(&r["ticks"]["first"]);
                (tick, Utc::now())
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.len() >= 3, "the scheduler fired {} ticks", seen.len());
    for (report, (tick, seen_at)) in &seen {
        assert!(
            seen_at >= tick,
            "{report} for the tick at {tick} existed at {seen_at}: fired early"
        );
    }
}
