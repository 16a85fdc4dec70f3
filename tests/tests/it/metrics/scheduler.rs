//! The scheduler's `/metrics`: issue 6's tick counters (fired, missed, skipped, catch-up).

use std::time::Duration;

use longshore_tests::{Mode, Stack};
use serde_json::json;

use super::{admin, assert_clean, value, wait_for};

/// Fired ticks, then (after downtime) missed ticks, one catch-up run under `run_once` and
/// skipped ticks under `skip`: issue 6's counters, per scheduler process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_counts_fired_missed_skipped_and_caught_up_ticks() {
    let mut stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_SCHEDULER_REFRESH_MS", "300")
        .env("LONGSHORE_SCHEDULER_GRACE_MS", "1500")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let mut first = stack.spawn_scheduler();
    let base = admin(first.admin_port);
    // The counters exist (at 0) before any tick, so alerts have a series from the start.
    let idle = wait_for(&base, "longshore_scheduler_ticks_missed_total", &[], 0.0).await;
    assert_eq!(
        value(&idle, "longshore_scheduler_ticks_fired_total", &[]),
        Some(0.0),
        "{idle}"
    );
    let report = json!({"kind": "jobs_health", "period": "since_last_run"});
    for (name, policy) in [("once", "run_once"), ("skip", "skip")] {
        let r = client
            .post(
                "/v1/schedules",
                &json!({"name": name, "cron": "*/2 * * * * *", "report": report, "missed_runs": policy}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let text = wait_for(&base, "longshore_scheduler_ticks_fired_total", &[], 2.0).await;
    assert_eq!(
        value(&text, "longshore_scheduler_ticks_missed_total", &[]),
        Some(0.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE longshore_scheduler_ticks_fired_total counter"),
        "{text}"
    );
    assert_clean(&text, client.key().unwrap_or("lsk_"));
    let status = first
        .terminate(Duration::from_secs(15))
        .expect("scheduler exits");
    assert!(status.success(), "{status}");

    // Downtime longer than the grace period: ticks are missed.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = stack.spawn_scheduler();
    let base = admin(second.admin_port);
    wait_for(&base, "longshore_scheduler_catch_up_runs_total", &[], 1.0).await;
    let text = wait_for(&base, "longshore_scheduler_ticks_skipped_total", &[], 1.0).await;
    let n = |name| value(&text, name, &[]).unwrap_or(0.0);
    assert_eq!(n("longshore_scheduler_catch_up_runs_total"), 1.0, "{text}");
    assert!(
        n("longshore_scheduler_ticks_missed_total")
            >= n("longshore_scheduler_ticks_skipped_total") + 1.0,
        "missed counts both schedules' ticks, skipped only the skip one's: {text}"
    );
    assert!(
        n("longshore_scheduler_ticks_fired_total") >= 1.0,
        "the catch-up run counts as fired: {text}"
    );
}
