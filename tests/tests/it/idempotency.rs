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
    // Two copies of the request at once: one claims the key and waits on a frozen Redis, the
    // other finds the key held and answers 409; then the API dies with the key held.
    stack.redis().pause();
    let first = tokio::spawn(send(client.clone(), body.clone()));
    let second = tokio::spawn(send(client.clone(), body.clone()));
    let (answered, hung) = match futures::future::select(first, second).await {
        futures::future::Either::Left((done, other)) => (done, other),
        futures::future::Either::Right((done, other)) => (done, other),
    };
    let answered = answered.expect("request task");
    assert_eq!(answered.status, 409, "{}", answered.text);
    assert!(answered.text.contains("in progress"), "{}", answered.text);
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

/// `LONGSHORE_IDEMPOTENCY_LOCK_SECS` of the tests below: long enough for a request to be seen
/// holding its key, short enough to wait for.
const LOCK_SECS: &str = "15";

/// POSTs `body` to `path` with the `Idempotency-Key` `key`.
async fn post_keyed(
    client: longshore_tests::Client,
    path: &'static str,
    key: &'static str,
    body: String,
) -> longshore_tests::Reply {
    client
        .send(reqwest::Method::POST, path, |r| {
            r.header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(body)
        })
        .await
}

/// Kills the API while `held` (a request started with Redis frozen, so it hangs on its
/// enqueue holding its key) runs; then brings Redis and the API back.
async fn kill_api_holding(
    stack: &mut Stack,
    held: tokio::task::JoinHandle<longshore_tests::Reply>,
) {
    stack.crash_api();
    let _ = held.await;
    stack.redis().resume();
    stack.start_api_again().await;
}

/// Retries a request whose key a killed API held: 409 (in progress) until the lock timeout,
/// then the retry takes the key over; returns its answer.
async fn retry_until_taken_over(
    client: &longshore_tests::Client,
    path: &'static str,
    key: &'static str,
    body: &str,
) -> longshore_tests::Reply {
    let busy = post_keyed(client.clone(), path, key, body.to_owned()).await;
    assert_eq!(
        busy.status, 409,
        "held until the lock timeout: {}",
        busy.text
    );
    assert!(busy.text.contains("in progress"), "{}", busy.text);
    longshore_tests::eventually(
        Duration::from_secs(60),
        "a retry to take the key over",
        || async {
            let r = post_keyed(client.clone(), path, key, body.to_owned()).await;
            (r.status != 409).then_some(r)
        },
    )
    .await
}

/// The tenant's documents (`query` filters), newest first.
async fn documents(client: &longshore_tests::Client, query: &str) -> Vec<serde_json::Value> {
    let r = client.get(&format!("/v1/documents{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

/// The API is killed after a `POST /v1/documents` recorded its document, while its render job
/// was being enqueued: the retry that takes the key over finds that document (its id derives
/// from the key's first claim) and hands its render over again while it waits (a no-op when
/// the job exists); there is one document, rendered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_held_by_a_killed_api_is_created_once_by_the_retry() {
    let mut stack = Stack::builder(Mode::Production)
        .env("LONGSHORE_IDEMPOTENCY_LOCK_SECS", LOCK_SECS)
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let body = json!({"kind": "certificate", "data": {"recipient_name": "Ada Reader",
        "course_title": "Harbour Safety", "issued_on": "2026-05-01"}})
    .to_string();
    // Loads the enqueue script into Redis (see the tests above).
    client.submit(json!({"type": "diagnostic.noop"})).await;
    stack.redis().pause();
    let held = tokio::spawn(post_keyed(
        client.clone(),
        "/v1/documents",
        "cert-7",
        body.clone(),
    ));
    // Recorded: it now waits on its enqueue, Redis being frozen.
    longshore_tests::eventually(
        Duration::from_secs(20),
        "the request to record its document",
        || async { (!documents(&client, "").await.is_empty()).then_some(()) },
    )
    .await;
    kill_api_holding(&mut stack, held).await;
    // (Its enqueue, sent before the API died, may still run once Redis resumes.)
    let recorded = documents(&client, "").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");

    let retry = retry_until_taken_over(&client, "/v1/documents", "cert-7", &body).await;
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(
        retry.body["id"], recorded[0]["id"],
        "the dead request's document"
    );
    let id = retry.body["id"].as_str().unwrap().to_owned();
    longshore_tests::eventually(Duration::from_secs(60), "the document to render", || {
        let (client, id) = (client.clone(), id.clone());
        async move {
            let r = client.get(&format!("/v1/documents/{id}")).await;
            (r.body["status"] == "ready").then_some(())
        }
    })
    .await;
    let all = documents(&client, "").await;
    assert_eq!(all.len(), 1, "one document for the key: {all:?}");
    let again = post_keyed(client.clone(), "/v1/documents", "cert-7", body).await;
    assert_eq!((again.status, &again.body["id"]), (202, &retry.body["id"]));
}

/// The API is killed while a `POST /v1/certificate-batches` holds its key: after the lock
/// timeout the retry takes it over and there is one batch, with one certificate per recipient.
/// Recovery sweeps often, so a batch the dead request recorded under another id than the
/// retry's would be expanded too (and show as extra certificates).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_batch_held_by_a_killed_api_is_created_once_by_the_retry() {
    let mut stack = Stack::builder(Mode::Production)
        .env("LONGSHORE_IDEMPOTENCY_LOCK_SECS", LOCK_SECS)
        .env("LONGSHORE_RECOVERY_AFTER_SECS", "2")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let recipients: Vec<_> = (0..3)
        .map(|i| json!({"name": format!("Reader {i}")}))
        .collect();
    let body = json!({"course_title": "Harbour Safety", "issued_on": "2026-05-01",
        "recipients": recipients})
    .to_string();
    client.submit(json!({"type": "diagnostic.noop"})).await;
    stack.redis().pause();
    let path = "/v1/certificate-batches";
    // The same request twice at once: one claims the key and hangs on its enqueue, the other
    // is told it is in progress.
    let (a, b) = (
        tokio::spawn(post_keyed(client.clone(), path, "batch-7", body.clone())),
        tokio::spawn(post_keyed(client.clone(), path, "batch-7", body.clone())),
    );
    let (busy, held) = match futures::future::select(a, b).await {
        futures::future::Either::Left((busy, held))
        | futures::future::Either::Right((busy, held)) => (busy.expect("request"), held),
    };
    assert_eq!(busy.status, 409, "the other holds the key: {}", busy.text);
    assert!(busy.text.contains("in progress"), "{}", busy.text);
    kill_api_holding(&mut stack, held).await;

    let retry = retry_until_taken_over(&client, path, "batch-7", &body).await;
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(retry.body["total"], recipients.len());
    let id = retry.body["id"].as_str().unwrap().to_owned();
    let done =
        longshore_tests::eventually(Duration::from_secs(60), "the batch to complete", || {
            let (client, id) = (client.clone(), id.clone());
            async move {
                let r = client.get(&format!("/v1/certificate-batches/{id}")).await;
                (r.body["status"] == "completed").then_some(r.body)
            }
        })
        .await;
    assert_eq!(done["rendered"], recipients.len(), "{done}");
    let certificates = documents(&client, "?kind=certificate").await;
    assert_eq!(
        certificates.len(),
        recipients.len(),
        "one certificate per recipient: {certificates:?}"
    );
    assert!(certificates.iter().all(|d| d["batch_id"] == id.as_str()));
    let again = post_keyed(client.clone(), path, "batch-7", body).await;
    assert_eq!((again.status, &again.body["id"]), (202, &retry.body["id"]));
}
