//! Per-client limits on the public routes, over HTTP: a client over its `/t/*`, `/hooks/*` or
//! `/v/*` limit gets `429` problem+json with `Retry-After` (for `/hooks/*` before any
//! signature check), another client is unaffected, and a gateway's normal burst under the
//! default limits is never refused.
//!
//! The test process is one TCP peer (127.0.0.1), so it stands in for a trusted reverse proxy
//! (`LONGSHORE_TRUSTED_PROXIES`) and names each client in `X-Forwarded-For`.

use futures::StreamExt;
use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Client, Mode, Reply, Stack};
use serde_json::json;

/// A request from `client` (as the proxy reports it), with `extra` headers.
async fn from(
    anon: &Client,
    client: &str,
    method: reqwest::Method,
    path: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let client = client.to_owned();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    anon.send(method, path, move |mut r| {
        // A forged entry on the left: only the right-most untrusted one counts.
        r = r.header("x-forwarded-for", format!("203.0.113.66, {client}"));
        for (k, v) in extra {
            r = r.header(k, v);
        }
        r
    })
    .await
}

fn assert_limited(r: &Reply, what: &str) {
    assert_eq!(r.status, 429, "{what}: {}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    assert_eq!(r.body["type"], "/problems/rate-limited", "{what}");
    let wait: u32 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: a Retry-After in seconds"));
    // 3 a minute: the next token is at most 20 s away.
    assert!((1..=20).contains(&wait), "{what}: Retry-After {wait}");
}

/// With a limit of 3: client `a`'s three requests to `paths.0` get `normal`, its fourth (to
/// `paths.1`, in the same group) gets 429; client `b` then still gets `normal`.
async fn exhaust(
    anon: &Client,
    (a, b): (&str, &str),
    method: reqwest::Method,
    paths: (&str, &str),
    headers: &[(&str, &str)],
    normal: u16,
) {
    for i in 0..3 {
        let r = from(anon, a, method.clone(), paths.0, headers).await;
        assert_eq!(r.status, normal, "{} {i}: {}", paths.0, r.text);
    }
    let r = from(anon, a, method.clone(), paths.1, headers).await;
    assert_limited(&r, &format!("a's fourth request ({})", paths.1));
    let r = from(anon, b, method, paths.0, headers).await;
    assert_eq!(r.status, normal, "b is another client: {}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_limit_gets_429_and_others_do_not() {
    let stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_TRACKING_RATE_PER_MINUTE", "3")
        .env("LONGSHORE_HOOKS_RATE_PER_MINUTE", "3")
        .env("LONGSHORE_VERIFY_RATE_PER_MINUTE", "3")
        .env("LONGSHORE_TRUSTED_PROXIES", "127.0.0.1/32, ::1")
        .start()
        .await;
    let tenant = stack.tenant("acme").await;
    let gw = Gateway::create(&tenant, &stack.base_url(), "standard").await;
    let anon = stack.anonymous();
    let (a, b) = ("198.51.100.1", "198.51.100.2");
    let get = reqwest::Method::GET;

    // Tracking: every request counts, valid token or not (these are not), whatever the kind.
    let open = ("/t/o/not-a-token", "/t/c/not-a-token");
    exhaust(&anon, (a, b), get.clone(), open, &[], 404).await;
    // Gateway deliveries: refused before the signature is looked at.
    let unsigned = [("content-type", "application/json")];
    let hooks = (gw.path.as_str(), gw.path.as_str());
    exhaust(&anon, (a, b), reqwest::Method::POST, hooks, &unsigned, 400).await;
    // Verification keeps its own limit, per client the same way.
    let lookup = ("/v/AAAAAA-AAAAAA-AAAAAA", "/v/AAAAAA-AAAAAA-AAAAAA");
    exhaust(
        &anon,
        (a, b),
        get,
        lookup,
        &[("accept", "application/json")],
        404,
    )
    .await;

    // The authenticated API has no such limit, and the refusals are counted.
    for _ in 0..5 {
        assert_eq!(tenant.get("/v1/jobs").await.status, 200);
    }
    let metrics = anon.get("/metrics").await.text;
    for group in ["tracking", "hooks", "verify"] {
        let line = format!("longshore_http_rate_limited_total{{group=\"{group}\"}} 1");
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
}

/// A gateway's burst from one address, as fast as it can send, under the default limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_burst_under_the_default_limits_is_never_refused() {
    let stack = Stack::start(Mode::Embedded).await;
    let tenant = stack.tenant("acme").await;
    let gw = Gateway::create(&tenant, &stack.base_url(), "stripe").await;
    let statuses: Vec<u16> = futures::stream::iter(0..400)
        .map(|i| {
            let gw = gw.clone();
            async move {
                let id = format!("evt_burst_{i}");
                let body = gw.event(&id, "customer.created", now_secs(), json!({"id": i}));
                gw.deliver(&id, &body).await.status
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let refused = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(refused, 0, "statuses: {statuses:?}");
    let anon = stack.anonymous();
    let opens: Vec<u16> = futures::stream::iter(0..400)
        .map(|_| {
            let anon = anon.clone();
            async move { anon.get("/t/o/not-a-token").await.status }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(opens.iter().all(|s| *s == 404), "no 429 among {opens:?}");
}
