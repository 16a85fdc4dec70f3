//! One clock decides when work runs: a worker or scheduler whose own clock is a minute fast or
//! slow neither steals a live lease (a job's, an email's send claim, an event delivery's) nor
//! fires a tick early (`LONGSHORE_TEST_CLOCK_OFFSET_MS` skews a process's clock for these
//! tests).

use std::time::{Duration, Instant};

use chrono::Utc;
use longshore_testkit::SmtpSink;
use longshore_tests::receiver::Receiver;
use longshore_tests::{Mode, Proc, Stack, eventually};
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

/// Pauses (`STOP`) or resumes (`CONT`) a process, as a long stall would.
fn signal(process: &Proc, which: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{which}"), &process.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{which}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_a_minute_off_takes_over_no_live_email_claim() {
    let sink = SmtpSink::start();
    // The message is stored, the final reply held: the send claim stays live meanwhile.
    sink.hold_replies();
    let mut stack = Stack::builder(Mode::Production)
        .workers(0)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_LEASE_SECS", "3")
        // A conversation is bounded by 2 × 5 s + 5 s; a claim lasts 10 s more.
        .env("LONGSHORE_SMTP_TIMEOUT_SECS", "5")
        .start()
        .await;
    let client = crate::email::tenant(&stack, "acme").await;
    // A slow worker claims the email (its clock says the claim ends a minute sooner than it
    // does) and transmits it, then stalls.
    let slow = stack.spawn_worker_with(&[(OFFSET, SLOW)]);
    let email = crate::email::send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Skew", "text": "One copy, confirmed"}),
    )
    .await;
    let (id, job) = (
        email["id"].as_str().unwrap(),
        email["job_id"].as_str().unwrap(),
    );
    assert_eq!(sink.wait_for(1, Duration::from_secs(30)).len(), 1);
    signal(&stack.workers[slow], "STOP");
    // Its job's lease lapses (Redis's clock) and a worker with the right time runs the job
    // again: the claim is live by the database's clock, so it waits instead of taking over.
    stack.spawn_worker();
    eventually(
        Duration::from_secs(30),
        "the job's second attempt",
        || async {
            let j = client.job(job).await;
            (j["attempts"].as_u64() >= Some(2)).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sink.release_replies();
    signal(&stack.workers[slow], "CONT");
    let sent = crate::email::wait_status(&client, id, "sent").await;
    let data = &sent["events"][1]["data"];
    assert_ne!(
        data["unconfirmed"], true,
        "the live claim was taken over: {sent}"
    );
    client
        .wait_for_state(job, "succeeded", Duration::from_secs(90))
        .await;
    assert_eq!(sink.count(), 1, "one copy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_a_minute_fast_takes_over_no_live_event_delivery() {
    let app = Receiver::start().await;
    let mut stack = crate::events::stack(Mode::Production)
        .workers(0)
        // An attempt's lease: 10 s + 5 s.
        .env("LONGSHORE_EVENT_TIMEOUT_SECS", "10")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    stack.spawn_worker();
    let path = "/slow/6000";
    crate::events::endpoint(&client, &app.url(path), json!(["job.dead"])).await;
    crate::events::dead_job(&client).await;
    // The attempt is under way (the receiver answers in 6 s) when a fast worker starts polling.
    crate::events::wait_received(&app, path, 1).await;
    stack.spawn_worker_with(&[(OFFSET, FAST)]);
    eventually(Duration::from_secs(30), "the slow answer", || async {
        let got = app.requests();
        got.iter()
            .any(|r| r.path == path && r.answered.is_some())
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got: Vec<_> = app
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect();
    assert_eq!(
        got.len(),
        1,
        "the fast worker sent the event again while it was being sent"
    );
}
