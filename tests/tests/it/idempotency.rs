//! `Idempotency-Key`: a repeat returns the first response; a different body conflicts.

use std::time::Duration;

use longshore_tests::{Mode, Stack};
use serde_json::json;

use crate::in_both_modes;

async fn replay_and_conflict(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let body = json!({"type": "diagnostic.noop"}).to_string();
    let send = |key: &'static str, body: String| {
        let client = client.clone();
        async move {
            client
                .send(reqwest::Method::POST, "/v1/jobs", |r| {
                    r.header("content-type", "application/json")
                        .header("idempotency-key", key)
                        .body(body)
                })
                .await
        }
    };
    let first = send("order-42", body.clone()).await;
    assert_eq!(first.status, 202, "{}", first.text);
    let again = send("order-42", body.clone()).await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(
        again.body["id"], first.body["id"],
        "the same job comes back"
    );
    let other = send("order-42", json!({"type": "diagnostic.sleep"}).to_string()).await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(
        other.header("content-type"),
        Some("application/problem+json")
    );
    let fresh = send("order-43", body).await;
    assert_ne!(fresh.body["id"], first.body["id"]);
    let listed = client.get("/v1/jobs").await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        2,
        "no duplicate job was created"
    );
    // Another tenant may use the same key independently.
    let other_tenant = stack.tenant("other").await;
    let r = other_tenant
        .send(reqwest::Method::POST, "/v1/jobs", |r| {
            r.header("content-type", "application/json")
                .header("idempotency-key", "order-42")
                .body(json!({"type": "diagnostic.noop"}).to_string())
        })
        .await;
    assert_eq!(r.status, 202);
    assert_ne!(r.body["id"], first.body["id"]);
}
in_both_modes!(idempotency_key_replays_and_conflicts, replay_and_conflict);

/// The enqueue reaches Redis but its reply never comes back (Redis frozen past the API's
/// response timeout): the API answers 503, and the retry with the same key must find the job
/// the first attempt created, not enqueue a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_lost_enqueue_reply_creates_no_second_job() {
    let mut stack = Stack::builder(Mode::Production).workers(0).start().await;
    let client = stack.tenant("acme").await;
    let body = json!({"type": "diagnostic.sleep", "payload": {"ms": 1}}).to_string();
    let send = |body: String| {
        let client = client.clone();
        async move {
            client
                .send(reqwest::Method::POST, "/v1/jobs", |r| {
                    r.header("content-type", "application/json")
                        .header("idempotency-key", "order-42")
                        .body(body)
                })
                .await
        }
    };
    // One job first, so the API has loaded its enqueue script into Redis (a frozen Redis would
    // otherwise get an EVALSHA it cannot run once it resumes).
    let warm_up = client.submit(json!({"type": "diagnostic.noop"})).await;
    stack.redis().pause();
    let lost = send(body.clone()).await;
    stack.redis().resume();
    assert_eq!(
        lost.status, 503,
        "the enqueue's reply was lost: {}",
        lost.text
    );
    // Redis ran the enqueue it had received once it could: the job exists.
    let listed = |client: longshore_tests::Client| async move {
        let r = client.get("/v1/jobs").await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["data"].as_array().unwrap().clone()
    };
    let first = longshore_tests::eventually(
        Duration::from_secs(20),
        "the first attempt's job to exist",
        || {
            let client = client.clone();
            let warm_up = warm_up.clone();
            async move {
                let jobs = listed(client).await;
                (jobs.len() == 2).then(|| {
                    jobs.into_iter()
                        .find(|j| j["id"] != warm_up.as_str())
                        .expect("the first attempt's job")
                })
            }
        },
    )
    .await;
    let retry = send(body.clone()).await;
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(
        retry.body["id"], first["id"],
        "the retry returns the same job"
    );
    let jobs = listed(client.clone()).await;
    assert_eq!(jobs.len(), 2, "no second job: {jobs:?}");
    // And the key is now completed: a replay answers the same, without enqueuing.
    let again = send(body).await;
    assert_eq!(again.body["id"], first["id"]);
}
