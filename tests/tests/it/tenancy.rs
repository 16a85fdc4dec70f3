//! Tenants see only their own jobs, and keys can be revoked.

use std::time::Duration;

use longshore_tests::{Mode, Stack, eventually};
use serde_json::json;

use crate::in_both_modes;

async fn isolation(mode: Mode) {
    let stack = Stack::start(mode).await;
    let alice = stack.tenant("alice").await;
    let bob = stack.tenant("bob").await;
    let run_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let id = alice
        .submit(json!({"type": "diagnostic.noop", "run_at": run_at}))
        .await;
    for path in [format!("/v1/jobs/{id}")] {
        let r = bob.get(&path).await;
        assert_eq!(r.status, 404, "{}", r.text);
        assert_eq!(r.body["status"], 404);
    }
    for action in ["cancel", "retry"] {
        let r = bob.post_empty(&format!("/v1/jobs/{id}/{action}")).await;
        assert_eq!(r.status, 404, "{action}: {}", r.text);
    }
    let r = bob.get("/v1/jobs").await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
    let r = alice.get("/v1/jobs").await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        alice.job(&id).await["state"],
        "scheduled",
        "bob's cancel changed nothing"
    );
}
in_both_modes!(another_tenants_job_is_not_found, isolation);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_is_refused() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    assert_eq!(client.get("/v1/jobs").await.status, 200);
    let tenant = stack.admin(&["tenants", "list"]);
    let tenant_id = tenant
        .lines()
        .find(|l| l.ends_with("\tacme"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    let keys = stack.admin(&["keys", "list", "--tenant", &tenant_id]);
    let key_id = keys
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    stack.admin(&["keys", "revoke", &key_id]);
    // Valid keys are cached for LONGSHORE_AUTH_CACHE_SECS (1 s here).
    eventually(
        Duration::from_secs(10),
        "the revoked key to be refused",
        || async { (client.get("/v1/jobs").await.status == 401).then_some(()) },
    )
    .await;
}
