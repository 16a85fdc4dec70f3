//! Request limits per API key, over HTTP: a key's burst, then `429` with `Retry-After` and the
//! `RateLimit-*` fields; another tenant unaffected; a tenant's own limit set by an operator;
//! and on the production topology one bucket per key shared by every API process.

use std::time::{Duration, Instant};

use longshore_tests::{Client, Mode, Reply, Stack, eventually};
use reqwest::Method;
use serde_json::json;

const OPERATOR_SECRET: &str = "op-secret-0123456789abcdef0123456789abcdef";

async fn stack(mode: Mode) -> Stack {
    Stack::builder(mode)
        .env("LONGSHORE_ADMIN_KEY", OPERATOR_SECRET)
        .env("LONGSHORE_RATE_LIMIT_PER_SECOND", "1")
        .env("LONGSHORE_RATE_LIMIT_BURST", "3")
        .workers(0)
        .start()
        .await
}

fn field(r: &Reply, name: &str) -> u64 {
    r.header(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing: {:?}", r.headers))
}

/// The tenant id behind a client, from the jobs it can see (none needed: the admin list).
async fn tenant_id(op: &Client, name: &str) -> String {
    let r = op.get("/v1/admin/tenants?limit=100").await;
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .expect("tenant listed")
}

#[tokio::test]
async fn a_key_over_its_burst_gets_429_with_the_ratelimit_fields() {
    let stack = stack(Mode::Embedded).await;
    let a = stack.tenant("A").await;
    let b = stack.tenant("B").await;

    // A burst of 3: the remaining count goes down (a token may come back in between if the
    // machine is slow, never more than one per second).
    let start = Instant::now();
    let mut refused = None;
    let mut allowed = 0u64;
    for _ in 0..30 {
        let r = a.get("/v1/jobs?limit=1").await;
        assert_eq!(field(&r, "ratelimit-limit"), 3);
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text);
        allowed += 1;
    }
    let refused = refused.expect("a 429 within 30 quick requests at 1/s");
    assert!(allowed >= 3, "the whole burst first");
    assert!(
        allowed <= 3 + start.elapsed().as_secs() + 1,
        "{allowed} allowed"
    );
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(refused.body["type"], "/problems/rate-limited");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("1 requests per second")
    );
    assert_eq!(field(&refused, "ratelimit-remaining"), 0);
    let retry = field(&refused, "retry-after");
    assert_eq!(retry, 1, "Retry-After");
    assert!((1..=3).contains(&field(&refused, "ratelimit-reset")));

    // Tenant B has a bucket of its own.
    let r = b.get("/v1/jobs?limit=1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(field(&r, "ratelimit-remaining"), 2);

    // Public routes and unauthenticated requests are never counted against a tenant.
    let r = stack.anonymous().get("/v1/jobs").await;
    assert_eq!(r.status, 401);
    assert!(r.header("ratelimit-limit").is_none());
    assert!(
        stack
            .anonymous()
            .get("/healthz")
            .await
            .header("ratelimit-limit")
            .is_none()
    );

    // An operator lifts B's limit (0: none) and raises A's burst; within the auth cache's
    // second both take effect.
    let op = Client::new(&stack.base_url(), Some(OPERATOR_SECRET.to_owned()));
    let b_id = tenant_id(&op, "B").await;
    let a_id = tenant_id(&op, "A").await;
    let put = |id: String, body: serde_json::Value| {
        let op = op.clone();
        async move {
            op.send(
                Method::PUT,
                &format!("/v1/admin/tenants/{id}/rate-limit"),
                move |r| r.json(&body),
            )
            .await
        }
    };
    assert_eq!(
        put(b_id, json!({"per_second": 0, "burst": 1})).await.status,
        200
    );
    assert_eq!(
        put(a_id, json!({"per_second": 1, "burst": 500}))
            .await
            .status,
        200
    );
    eventually(Duration::from_secs(10), "B unlimited", || async {
        b.get("/v1/jobs?limit=1")
            .await
            .header("ratelimit-limit")
            .is_none()
            .then_some(())
    })
    .await;
    for _ in 0..20 {
        let r = b.get("/v1/jobs?limit=1").await;
        assert_eq!(r.status, 200);
    }
    eventually(Duration::from_secs(10), "A's larger burst", || async {
        let r = a.get("/v1/jobs?limit=1").await;
        (r.status == 200 && field(&r, "ratelimit-limit") == 500).then_some(())
    })
    .await;
}

#[tokio::test]
async fn every_api_process_shares_one_bucket_per_key_through_redis() {
    let mut stack = stack(Mode::Production).await;
    let first = stack.tenant("Shared").await;
    let second = stack.spawn_api(first.key().map(str::to_owned)).await;
    // Alternate between the two processes as fast as they answer. With a bucket per process
    // each would allow its own burst of 3; with one shared bucket the two together allow at
    // most 3 plus one a second.
    let start = Instant::now();
    let mut allowed = 0u64;
    let mut refused = 0u64;
    for i in 0..30 {
        let client = if i % 2 == 0 { &first } else { &second };
        match client.get("/v1/jobs?limit=1").await.status {
            200 => allowed += 1,
            429 => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    let elapsed = start.elapsed().as_secs();
    assert!(refused > 0, "30 requests at 1/s");
    assert!(
        allowed <= 3 + elapsed + 1,
        "{allowed} allowed in {elapsed} s across two processes"
    );
}
