//! Cancelling running work: the cancel reaches whichever worker runs the job, the handler is
//! told and stops (or is stopped after the grace period), and the job ends `cancelled` with
//! nothing more applied. On both deployments: the request travels through the queue (Redis or
//! the SQLite file), not through the API process.

use std::time::Duration;

use longshore_tests::receiver::Receiver;
use longshore_tests::{Client, Mode, Stack, eventually};
use serde_json::{Value, json};

use crate::http_tasks;
use crate::in_both_modes;

/// Generous: the machines are shared. The work being cancelled lasts far longer than this, so
/// reaching the end state within it shows the work was stopped, not waited out.
const DEADLINE: Duration = Duration::from_secs(60);

/// Submits `payload` as a `diagnostic.sleep` and waits until a worker runs it.
async fn running_sleep(client: &Client, payload: Value) -> String {
    let id = client
        .submit(json!({"type": "diagnostic.sleep", "payload": payload}))
        .await;
    client.wait_for_state(&id, "running", DEADLINE).await;
    id
}

/// Asks to cancel a running job: the answer says it is still running, and when it was asked.
async fn ask_to_cancel(client: &Client, id: &str) {
    let r = client.post_empty(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["state"], "running",
        "its worker stops it: {}",
        r.text
    );
    let asked = r.body["cancel_requested_at"].clone();
    assert!(asked.is_string(), "{}", r.text);
    let again = client.post_empty(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        again.body["cancel_requested_at"], asked,
        "asking twice changes nothing"
    );
}

in_both_modes!(a_running_sleep_is_told_and_stops, running_sleep_is_told);
async fn running_sleep_is_told(mode: Mode) {
    let stack = Stack::builder(mode).start().await;
    let client = stack.tenant("acme").await;
    // Ten minutes: only the cancel can end it within the deadline.
    let id = running_sleep(&client, json!({"ms": 600_000})).await;
    ask_to_cancel(&client, &id).await;

    let job = client.wait_for_state(&id, "cancelled", DEADLINE).await;
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(job["cancel_requested_at"].is_string(), "{job}");
    assert!(job["finished_at"].is_string(), "{job}");
    let error = job["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("the sleep was interrupted"),
        "the handler's own reason is kept: {job}"
    );
    let r = client.post_empty(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(
        r.status, 409,
        "a finished job is not cancelled again: {}",
        r.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_does_not_listen_is_stopped_after_the_grace_period() {
    let stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_CANCEL_GRACE_SECS", "1")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let id = running_sleep(&client, json!({"ms": 600_000, "ignore_cancel": true})).await;
    ask_to_cancel(&client, &id).await;

    let job = client.wait_for_state(&id, "cancelled", DEADLINE).await;
    let error = job["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("stopped after the 1s grace period"),
        "the worker stopped it: {job}"
    );
    // The worker is free again: new work runs.
    let next = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1}}))
        .await;
    client.wait_for_state(&next, "succeeded", DEADLINE).await;
}

in_both_modes!(a_slow_task_call_is_abandoned, slow_task_call_is_abandoned);
async fn slow_task_call_is_abandoned(mode: Mode) {
    let receiver = Receiver::start().await;
    let stack = http_tasks::stack(mode).start().await;
    let (client, _secret) = http_tasks::tenant(&stack).await;
    http_tasks::queue(&client, "slow", json!({})).await;
    // The endpoint takes ten minutes to answer.
    let task = http_tasks::task(&client, "slow", &receiver.url("/slow/600000"), json!({})).await;
    eventually(DEADLINE, "the endpoint is being called", || async {
        (!receiver.for_task(&task).is_empty()).then_some(())
    })
    .await;

    let r = client.post_empty(&format!("/v1/tasks/{task}/cancel")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let settled = eventually(DEADLINE, "the task to be cancelled", || async {
        let r = client.get(&format!("/v1/tasks/{task}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        (r.body["status"] == "cancelled").then_some(r.body)
    })
    .await;
    let job = client
        .job(settled["job_id"].as_str().expect("the task's job"))
        .await;
    assert_eq!(job["state"], "cancelled", "{job}");
    assert!(job["cancel_requested_at"].is_string(), "{job}");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("abandoned"),
        "{job}"
    );
    assert_eq!(
        receiver.for_task(&task).len(),
        1,
        "called once, never again after the cancel"
    );
}
