//! A job's life: success, retries with growing gaps, dead and manual retry, delays, cancel.

use std::time::Duration;

use chrono::{DateTime, Utc};
use longshore_tests::{Mode, Stack, eventually};
use serde_json::json;

use crate::in_both_modes;

const DEADLINE: Duration = Duration::from_secs(60);

fn time(v: &serde_json::Value) -> DateTime<Utc> {
    v.as_str().expect("a timestamp").parse().expect("RFC 3339")
}

async fn noop_succeeds(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let id = client.submit(json!({"type": "diagnostic.noop"})).await;
    let job = client.wait_for_state(&id, "succeeded", DEADLINE).await;
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["queue"], "default");
    assert!(job["finished_at"].is_string());
    assert!(job["request_id"].as_str().unwrap().starts_with("req_"));
}
in_both_modes!(noop_job_succeeds, noop_succeeds);

async fn retries_back_off(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let id = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 0, "fail_times": 2}, "max_attempts": 5}))
        .await;
    // Watch each retry: the gap between a failed attempt and the next run must grow.
    let mut gaps = Vec::new();
    for attempt in 1..=2 {
        let job = eventually(DEADLINE, "a retrying state", || async {
            let j = client.job(&id).await;
            (j["state"] == "retrying" && j["attempts"] == attempt).then_some(j)
        })
        .await;
        assert!(
            job["last_error"]
                .as_str()
                .unwrap()
                .contains("diagnostic failure")
        );
        gaps.push(time(&job["run_at"]) - time(&job["updated_at"]));
    }
    let job = client.wait_for_state(&id, "succeeded", DEADLINE).await;
    assert_eq!(job["attempts"], 3);
    assert!(gaps[1] > gaps[0], "backoff did not grow: {gaps:?}");
}
in_both_modes!(failing_job_retries_with_growing_gaps, retries_back_off);

async fn dead_then_retried(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let id = client
        .submit(
            json!({"type": "diagnostic.sleep", "payload": {"fail_times": 2}, "max_attempts": 2}),
        )
        .await;
    let job = client.wait_for_state(&id, "dead", DEADLINE).await;
    assert_eq!(job["attempts"], 2);
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("no attempts left")
    );
    // Retrying anything but a dead job is a conflict.
    let r = client.post_empty(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(r.status, 409, "{}", r.text);

    let r = client.post_empty(&format!("/v1/jobs/{id}/retry")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let job = client.wait_for_state(&id, "succeeded", DEADLINE).await;
    assert_eq!(job["attempts"], 3);
    let r = client.post_empty(&format!("/v1/jobs/{id}/retry")).await;
    assert_eq!(
        r.status, 409,
        "a succeeded job cannot be retried: {}",
        r.text
    );
}
in_both_modes!(dead_job_can_be_retried, dead_then_retried);

async fn delayed_job_waits(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let run_at = Utc::now() + chrono::Duration::seconds(2);
    let r = client
        .post(
            "/v1/jobs",
            &json!({"type": "diagnostic.noop", "run_at": run_at.to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["state"], "scheduled");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let job = client.wait_for_state(&id, "succeeded", DEADLINE).await;
    let started = time(&job["started_at"]);
    assert!(
        started >= run_at - chrono::Duration::milliseconds(5),
        "ran at {started}, before {run_at}"
    );
}
in_both_modes!(delayed_job_does_not_run_before_run_at, delayed_job_waits);

async fn cancel_scheduled(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let run_at = Utc::now() + chrono::Duration::seconds(2);
    let id = client
        .submit(json!({"type": "diagnostic.noop", "run_at": run_at.to_rfc3339()}))
        .await;
    let r = client.post_empty(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "cancelled");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let job = client.job(&id).await;
    assert_eq!(job["state"], "cancelled");
    assert_eq!(job["attempts"], 0, "a cancelled job never runs");
}
in_both_modes!(cancelled_job_never_runs, cancel_scheduled);

async fn listing(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(client.submit(json!({"type": "diagnostic.noop"})).await);
    }
    let far = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let scheduled = client
        .submit(json!({"type": "diagnostic.sleep", "run_at": far}))
        .await;
    for id in &ids {
        client.wait_for_state(id, "succeeded", DEADLINE).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/jobs?limit=2&cursor={c}"),
            None => "/v1/jobs?limit=2".to_owned(),
        };
        let r = client.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        for j in r.body["data"].as_array().unwrap() {
            seen.push(j["id"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[0], scheduled, "newest first");
    let r = client.get("/v1/jobs?state=scheduled").await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    let r = client
        .get("/v1/jobs?type=diagnostic.noop&state=succeeded")
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 5);
}
in_both_modes!(jobs_are_listed_filtered_and_paginated, listing);

/// The worker's own lines about a job's outcome (a retry scheduled, the job dead) carry the
/// request id that created the job, even when the handler logs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_lines_carry_the_request_id() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let request_id = "trace-outcome-7f3a";
    let r = client
        .send(reqwest::Method::POST, "/v1/jobs", |r| {
            r.header("content-type", "application/json")
                .header("x-request-id", request_id)
                .body(
                    json!({"type": "diagnostic.sleep", "payload": {"ms": 1, "fail_times": 5}, "max_attempts": 2})
                        .to_string(),
                )
        })
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    client.wait_for_state(&id, "dead", DEADLINE).await;
    let worker = &stack.workers[0];
    let lines_with = |text: &str, log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.contains(text))
            .map(str::to_owned)
            .collect()
    };
    for outcome in ["job failed; retry scheduled", "job is dead"] {
        let lines = eventually(DEADLINE, &format!("the worker to log `{outcome}`"), || {
            let lines = lines_with(outcome, &worker.output());
            async move { (!lines.is_empty()).then_some(lines) }
        })
        .await;
        assert!(
            lines.iter().all(|l| l.contains(request_id)
                && l.contains(&id)
                && l.contains("diagnostic.sleep")),
            "`{outcome}` lines carry the request id, job id and type: {lines:#?}"
        );
    }
}
