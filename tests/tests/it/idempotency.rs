//! `Idempotency-Key`: a repeat returns the first response; a different body conflicts.

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
