//! HTTP tasks end to end: the real API and workers calling a real HTTP server started by the
//! test, on both deployments where the behaviour does not depend on Redis.

mod delivery;
mod limits;
mod scheduled;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use longshore_tests::receiver::{Received, Receiver};
use longshore_tests::{Client, Mode, Stack, StackBuilder, eventually};
use serde_json::{Value, json};
use sha2::Sha256;

pub const DEADLINE: Duration = Duration::from_secs(90);

/// A stack whose workers may call the loopback receiver (the operator's allow-list).
pub fn stack(mode: Mode) -> StackBuilder {
    Stack::builder(mode).env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
}

/// A tenant with a task signing secret; returns the client and the secret.
pub async fn tenant(stack: &Stack) -> (Client, String) {
    let client = stack.tenant("acme").await;
    let r = client.post_empty("/v1/task-signing-secret").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.body["secret"].as_str().expect("the secret").to_owned();
    (client, secret)
}

/// Creates a queue with the given settings.
pub async fn queue(client: &Client, name: &str, settings: Value) {
    let mut body = settings;
    body["name"] = json!(name);
    let r = client.post("/v1/queues", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// A fast-retrying queue's settings (tests must not wait Cloud Tasks' defaults out).
pub fn quick_retries() -> Value {
    json!({"retry_config": {"min_backoff": "0.2s", "max_backoff": "5s", "max_attempts": 5}})
}

/// Creates a task calling `url`; returns its id.
pub async fn task(client: &Client, queue: &str, url: &str, extra: Value) -> String {
    let mut body = json!({"queue": queue, "http_request": {"url": url, "body_text": "{\"n\": 1}",
        "headers": {"Content-Type": "application/json"}}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = client.post("/v1/tasks", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().expect("a task id").to_owned()
}

/// Waits for a task's status and returns the task (with its attempt log).
pub async fn wait_status(client: &Client, id: &str, status: &str) -> Value {
    eventually(DEADLINE, &format!("task {id} to be {status}"), || async {
        let r = client.get(&format!("/v1/tasks/{id}")).await;
        (r.status == 200 && r.body["status"] == status).then_some(r.body)
    })
    .await
}

/// Verifies a request's Standard Webhooks signature as a receiving app would, from the
/// specification alone: HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the base64 part
/// of the secret, compared with each `v1,` signature of the header.
pub fn signature_valid(r: &Received, secret: &str) -> bool {
    let (Some(id), Some(ts), Some(sigs)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return false;
    };
    let key = BASE64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = BASE64.encode(mac.finalize().into_bytes());
    sigs.split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// Starts the receiver.
pub async fn receiver() -> Receiver {
    Receiver::start().await
}
