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

/// The API is killed while a request holds its `Idempotency-Key`: a retry of the same request
/// is told 409 (in progress) until the lock timeout, then takes the key over and finds the job
/// the dead request may have enqueued (its id derives from the key's first claim), never a
/// second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_held_by_a_killed_api_is_taken_over_after_the_lock_timeout() {
    let mut stack = Stack::builder(Mode::Production)
        .workers(0)
        .env("LONGSHORE_IDEMPOTENCY_LOCK_SECS", "15")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let body = json!({"type": "diagnostic.sleep", "payload": {"ms": 1}}).to_string();
    let send = |client: longshore_tests::Client, body: String| async move {
        client
            .send(reqwest::Method::POST, "/v1/jobs", |r| {
                r.header("content-type", "application/json")
                    .header("idempotency-key", "order-77")
                    .body(body)
            })
            .await
    };
    // Loads the enqueue script into Redis (see the test above).
    let warm_up = client.submit(json!({"type": "diagnostic.noop"})).await;
    // The request claims its key, then waits on a frozen Redis; the API dies meanwhile.
    stack.redis().pause();
    let hung = tokio::spawn(send(client.clone(), body.clone()));
    tokio::time::sleep(Duration::from_millis(700)).await;
    stack.crash_api();
    let _ = hung.await;
    stack.redis().resume();
    stack.start_api_again().await;

    let busy = send(client.clone(), body.clone()).await;
    assert_eq!(
        busy.status, 409,
        "the key is held until the lock timeout: {}",
        busy.text
    );
    assert!(busy.text.contains("in progress"), "{}", busy.text);
    let retry = longshore_tests::eventually(
        Duration::from_secs(60),
        "a retry to take the key over",
        || {
            let (client, body) = (client.clone(), body.clone());
            async move {
                let r = send(client, body).await;
                (r.status != 409).then_some(r)
            }
        },
    )
    .await;
    assert_eq!(retry.status, 202, "{}", retry.text);
    let listed = client.get("/v1/jobs").await;
    let jobs = listed.body["data"].as_array().unwrap().clone();
    let others: Vec<_> = jobs
        .iter()
        .filter(|j| j["id"] != warm_up.as_str())
        .collect();
    assert_eq!(others.len(), 1, "one job for the key: {jobs:?}");
    assert_eq!(others[0]["id"], retry.body["id"]);
    let again = send(client.clone(), body).await;
    assert_eq!(
        (again.status, &again.body["id"]),
        (202, &retry.body["id"]),
        "replayed"
    );
}
