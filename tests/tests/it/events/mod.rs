//! Events back to the tenant's app, end to end: the real API and workers POSTing signed events
//! to a real HTTP server started by the test, on both deployments.
//!
//! Most cases use `job.dead` as the cause (a diagnostic job with one attempt that fails):
//! what they check is the delivery machinery, which is the same for every type.

mod delivery;
mod email;
mod sources;

use std::time::Duration;

use longshore_tests::receiver::{Received, Receiver};
use longshore_tests::{Client, Mode, Stack, StackBuilder, eventually};
use serde_json::{Value, json};

pub const DEADLINE: Duration = Duration::from_secs(90);

/// A stack whose workers may call the loopback receiver, retrying events quickly.
pub fn stack(mode: Mode) -> StackBuilder {
    Stack::builder(mode)
        .env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
        .env("LONGSHORE_EVENT_RETRY_SCHEDULE", "0s,1s,2s,3s,3s")
        .env("LONGSHORE_EVENT_POLL_MS", "100")
}

/// Creates an endpoint; returns its id and secret.
pub async fn endpoint(client: &Client, url: &str, types: Value) -> (String, String) {
    let r = client
        .post(
            "/v1/event-endpoints",
            &json!({"url": url, "event_types": types, "description": "test app"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("an endpoint id").to_owned();
    let secret = r.body["secret"].as_str().expect("its secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (id, secret)
}

/// Makes a job die (one attempt, which fails): the cause of a `job.dead` event. Returns the
/// job's id.
pub async fn dead_job(client: &Client) -> String {
    let id = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1, "fail_times": 5}, "max_attempts": 1}))
        .await;
    client.wait_for_state(&id, "dead", DEADLINE).await;
    id
}

/// The events the app received at `path` with `data.<field> == value`, waiting for `n`.
pub async fn wait_received(app: &Receiver, path: &str, n: usize) -> Vec<Received> {
    eventually(DEADLINE, &format!("{n} requests at {path}"), || async {
        let got: Vec<Received> = app
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect();
        (got.len() >= n).then_some(got)
    })
    .await
}

/// The JSON body of a received event.
pub fn body(r: &Received) -> Value {
    serde_json::from_slice(&r.body).expect("a JSON body")
}
