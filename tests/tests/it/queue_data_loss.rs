//! A Redis that lost its data loses no accepted work that Longshore recorded: emails, documents,
//! a certificate batch, reports and scheduler ticks all reach their final state, once.
//!
//! The work is accepted while no worker runs, so every job is still only in Redis; then Redis
//! is killed and started again without its files (what a failover to an empty replica, a lost
//! disk or a `FLUSHALL` leaves). The records are in PostgreSQL; the recovery sweep of the
//! worker started afterwards hands their jobs to the queue again.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use longshore_testkit::SmtpSink;
use longshore_tests::{Client, Mode, Stack, eventually};
use serde_json::{Value, json};

use crate::email;

const DEADLINE: Duration = Duration::from_secs(120);

async fn accepted(client: &Client, path: &str, body: Value) -> String {
    let r = client.post(path, &body).await;
    assert!(r.status == 202 || r.status == 201, "{path}: {}", r.text);
    r.body["id"].as_str().expect("an id").to_owned()
}

async fn wait_field(client: &Client, path: &str, field: &str, value: &str) -> Value {
    eventually(DEADLINE, &format!("{path} to be {value}"), || async {
        let r = client.get(path).await;
        (r.status == 200 && r.body[field] == value).then_some(r.body)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_work_survives_a_redis_that_lost_its_data() {
    let sink = SmtpSink::start();
    let mut stack = Stack::builder(Mode::Production)
        .workers(0)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_RECOVERY_AFTER_SECS", "1")
        .env("LONGSHORE_SCHEDULER_REFRESH_MS", "500")
        .start()
        .await;
    let client = email::tenant(&stack, "acme").await;

    // A burst of every kind of recorded work, while no worker runs.
    let mut emails = Vec::new();
    for n in 0..20 {
        let body =
            json!({"to": [format!("r{n}@example.com")], "subject": format!("n{n}"), "text": "hi"});
        emails.push(accepted(&client, "/v1/emails", body).await);
    }
    let mut documents = Vec::new();
    for n in 0..3 {
        let body = crate::documents::certificate(&format!("Ada {n}"));
        documents.push(accepted(&client, "/v1/documents", body).await);
    }
    let recipients: Vec<Value> = (0..4).map(|n| json!({"name": format!("R {n}")})).collect();
    let batch = accepted(
        &client,
        "/v1/certificate-batches",
        json!({"course_title": "C", "issued_on": "2026-01-01", "recipients": recipients}),
    )
    .await;
    let from = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = Utc::now().to_rfc3339();
    let report = accepted(
        &client,
        "/v1/reports",
        json!({"kind": "jobs_health", "from": from, "to": to}),
    )
    .await;
    // A schedule whose ticks the scheduler fires (their jobs are lost with the rest).
    let schedule = crate::schedules::create(
        &client,
        json!({"name": "fast", "cron": "*/2 * * * * *", "report": {"kind": "jobs_health", "period": "since_last_run"}}),
    )
    .await;
    let schedule = schedule["id"].as_str().unwrap().to_owned();
    let mut scheduler = stack.spawn_scheduler();
    let ticked = eventually(DEADLINE, "two ticks recorded", || async {
        let reports = crate::schedules::reports_of(&client, &schedule).await;
        (reports.len() >= 2).then_some(reports.len())
    })
    .await;
    scheduler.terminate(Duration::from_secs(15));

    stack.redis().lose_data();
    stack.spawn_worker();

    for id in &emails {
        email::wait_status(&client, id, "sent").await;
    }
    for id in &documents {
        wait_field(&client, &format!("/v1/documents/{id}"), "status", "ready").await;
    }
    let b = wait_field(
        &client,
        &format!("/v1/certificate-batches/{batch}"),
        "status",
        "completed",
    )
    .await;
    assert_eq!(b["rendered"], 4, "{b}");
    wait_field(&client, &format!("/v1/reports/{report}"), "status", "ready").await;
    let ticks = crate::schedules::reports_of(&client, &schedule).await;
    assert!(ticks.len() >= ticked, "{ticks:?}");
    for tick in &ticks[..ticked] {
        let id = tick["id"].as_str().unwrap();
        wait_field(&client, &format!("/v1/reports/{id}"), "status", "ready").await;
    }
    crate::schedules::assert_each_tick_once(&ticks, chrono::Duration::seconds(2));

    // Exactly once: one SMTP delivery per email, none twice.
    let received = sink.wait_for(emails.len(), DEADLINE);
    let subjects: Vec<String> = received
        .iter()
        .map(|m| {
            let text = m.text();
            let line = text
                .lines()
                .find(|l| l.starts_with("Subject: "))
                .unwrap_or("");
            line.trim_start_matches("Subject: ").to_owned()
        })
        .collect();
    let distinct: HashSet<&String> = subjects.iter().collect();
    assert_eq!(received.len(), emails.len(), "{subjects:?}");
    assert_eq!(
        distinct.len(),
        emails.len(),
        "an email went out twice: {subjects:?}"
    );
    for id in &emails {
        let e = client.get(&format!("/v1/emails/{id}")).await.body;
        assert_eq!(e["attempts"], 1, "{e}");
    }
    assert!(
        stack.workers[0]
            .output()
            .contains("the queue had lost this record's job"),
        "the recovery sweep re-created the jobs"
    );
}
