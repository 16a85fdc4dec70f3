//! Prometheus `/metrics`: the worker's admin port counts jobs by type and outcome and samples
//! queue depths, the scheduler's counts ticks, the API counts requests by route template (so
//! no id, key or address from a path reaches a label), and the API's scrape can be guarded by
//! `LONGSHORE_METRICS_TOKEN`. It is not part of the client OpenAPI document.

use std::time::Duration;

use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Mode, Stack, eventually};
use serde_json::json;

use crate::in_both_modes;

mod scheduler;

const DEADLINE: Duration = Duration::from_secs(60);

/// The text of `GET /metrics` on `base` (`http://127.0.0.1:port`), if it answered 200.
pub(crate) async fn scrape(base: &str, token: Option<&str>) -> Option<String> {
    let mut req = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.ok()?;
    if resp.status() != 200 {
        return None;
    }
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(kind.starts_with("text/plain"), "content type {kind}");
    resp.text().await.ok()
}

pub(crate) fn admin(port: Option<u16>) -> String {
    format!("http://127.0.0.1:{}", port.expect("an admin port"))
}

/// The value of the series `name` whose labels include every `labels` pair, if present.
pub(crate) fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, v) = line.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest),
                None => (series, ""),
            };
            let all = n == name
                && labels
                    .iter()
                    .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\"")));
            all.then(|| v.parse().ok()).flatten()
        })
}

/// Waits until the series reaches at least `min`; returns the scrape that showed it.
pub(crate) async fn wait_for(base: &str, name: &str, labels: &[(&str, &str)], min: f64) -> String {
    eventually(DEADLINE, &format!("{name}{labels:?} >= {min}"), || async {
        let text = scrape(base, None).await?;
        (value(&text, name, labels)? >= min).then_some(text)
    })
    .await
}

async fn worker_counts_jobs_by_type_and_outcome(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let noop = client.submit(json!({"type": "diagnostic.noop"})).await;
    let flaky = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 0, "fail_times": 1}}))
        .await;
    let doomed = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 0, "fail_times": 3}, "max_attempts": 1}))
        .await;
    client.wait_for_state(&noop, "succeeded", DEADLINE).await;
    client.wait_for_state(&flaky, "succeeded", DEADLINE).await;
    client.wait_for_state(&doomed, "dead", DEADLINE).await;

    let worker = admin(stack.workers[0].admin_port);
    let jobs = "longshore_jobs_processed_total";
    let labels =
        |t: &'static str, o: &'static str| [("queue", "default"), ("job_type", t), ("outcome", o)];
    // Counters only grow: once each has shown up, the last scrape holds all four.
    let mut text = String::new();
    for (t, o) in [
        ("diagnostic.noop", "succeeded"),
        ("diagnostic.sleep", "retried"),
        ("diagnostic.sleep", "succeeded"),
        ("diagnostic.sleep", "dead"),
    ] {
        text = wait_for(&worker, jobs, &labels(t, o), 1.0).await;
    }
    assert_eq!(
        value(&text, jobs, &labels("diagnostic.noop", "succeeded")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, jobs, &labels("diagnostic.sleep", "retried")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, jobs, &labels("diagnostic.sleep", "succeeded")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, jobs, &labels("diagnostic.sleep", "dead")),
        Some(1.0),
        "{text}"
    );
    // Three attempts of diagnostic.sleep ran (fail, succeed; fail): the histogram saw them all.
    assert_eq!(
        value(
            &text,
            "longshore_job_duration_seconds_count",
            &[("job_type", "diagnostic.sleep")]
        ),
        Some(3.0),
        "{text}"
    );
    assert!(
        text.contains("longshore_job_duration_seconds_bucket{"),
        "durations are a histogram: {text}"
    );
    // Enqueued by the API, started by the worker: three attempts of diagnostic.sleep, one of
    // noop, each with its wait in the queue.
    let api = scrape(&stack.base_url(), None)
        .await
        .expect("the API's metrics");
    let enqueued = "longshore_jobs_enqueued_total";
    let by_type = |t: &'static str| [("queue", "default"), ("job_type", t)];
    assert_eq!(
        value(&api, enqueued, &by_type("diagnostic.noop")),
        Some(1.0),
        "{api}"
    );
    assert_eq!(
        value(&api, enqueued, &by_type("diagnostic.sleep")),
        Some(2.0),
        "{api}"
    );
    let started = "longshore_jobs_started_total";
    assert_eq!(
        value(&text, started, &by_type("diagnostic.sleep")),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, started, &by_type("diagnostic.noop")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "longshore_job_queue_wait_seconds_count",
            &by_type("diagnostic.sleep")
        ),
        Some(3.0),
        "{text}"
    );
    // Queue depths are sampled from the backend: nothing is left once the jobs are done.
    let depth = eventually(DEADLINE, "an empty default queue", || async {
        let text = scrape(&worker, None).await?;
        let n = |state| {
            value(
                &text,
                "longshore_queue_jobs",
                &[("queue", "default"), ("state", state)],
            )
        };
        (n("ready")? + n("delayed")? + n("running")? == 0.0).then_some(text)
    })
    .await;
    for state in ["ready", "delayed", "running"] {
        assert!(
            value(
                &depth,
                "longshore_queue_jobs",
                &[("queue", "email"), ("state", state)]
            )
            .is_some(),
            "{state} depth of every served queue: {depth}"
        );
    }
    assert_clean(&depth, client.key().unwrap_or("lsk_"));
}

in_both_modes!(worker_metrics, worker_counts_jobs_by_type_and_outcome);

/// One job running, two waiting their turn, three due later: the gauges show each.
async fn queue_depth_gauges_follow_the_backlog(mode: Mode) {
    let stack = Stack::builder(mode)
        .env("LONGSHORE_WORKER_CONCURRENCY", "1")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for _ in 0..3 {
        client
            .submit(json!({"type": "diagnostic.noop", "run_at": later}))
            .await;
        client
            .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 600000}}))
            .await;
    }
    let worker = admin(stack.workers[0].admin_port);
    let want = [("ready", 2.0), ("delayed", 3.0), ("running", 1.0)];
    let text = eventually(DEADLINE, &format!("depths {want:?}"), || async {
        let text = scrape(&worker, None).await?;
        want.iter()
            .all(|(state, n)| {
                value(
                    &text,
                    "longshore_queue_jobs",
                    &[("queue", "default"), ("state", state)],
                ) == Some(*n)
            })
            .then_some(text)
    })
    .await;
    assert_eq!(
        value(&text, "longshore_worker_leases_held", &[]),
        Some(1.0),
        "{text}"
    );
    // Two jobs wait behind the running one: the oldest's age is sampled, and grows.
    let started = std::time::Instant::now();
    let text = eventually(DEADLINE, "the oldest waiting job's age", || async {
        let text = scrape(&worker, None).await?;
        let age = value(
            &text,
            "longshore_queue_oldest_job_age_seconds",
            &[("queue", "default")],
        )?;
        (age >= 1.0).then_some(text)
    })
    .await;
    let age = value(
        &text,
        "longshore_queue_oldest_job_age_seconds",
        &[("queue", "default")],
    );
    let bound = started.elapsed().as_secs_f64() + 60.0;
    assert!(
        age.is_some_and(|a| a <= bound),
        "{age:?} within the test's life: {text}"
    );
    assert_eq!(
        value(
            &text,
            "longshore_queue_oldest_job_age_seconds",
            &[("queue", "email")]
        ),
        Some(0.0),
        "an empty queue's oldest age is 0: {text}"
    );
}

in_both_modes!(depth_metrics, queue_depth_gauges_follow_the_backlog);

async fn worker_counts_email_outcomes(mode: Mode) {
    let sink = longshore_testkit::SmtpSink::start();
    sink.reject_recipient("gone@example.com", 550, "5.1.1 No such user");
    let stack = crate::email::stack(mode, &sink).await;
    let client = crate::email::tenant(&stack, "acme").await;
    for to in ["ada@example.com", "gone@example.com"] {
        crate::email::send(
            &client,
            json!({"to": [to], "subject": "Hello", "text": "Hi"}),
        )
        .await;
    }
    let worker = admin(stack.workers[0].admin_port);
    let emails = "longshore_emails_total";
    wait_for(&worker, emails, &[("outcome", "sent")], 1.0).await;
    let text = wait_for(&worker, emails, &[("outcome", "bounced")], 1.0).await;
    assert_eq!(
        value(&text, emails, &[("outcome", "sent")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, emails, &[("outcome", "bounced")]),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains("example.com"),
        "no address in a scrape: {text}"
    );
}
in_both_modes!(email_metrics, worker_counts_email_outcomes);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_counts_requests_by_route_template_and_leaks_nothing() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let key = client.key().expect("a key").to_owned();
    let id = client.submit(json!({"type": "diagnostic.noop"})).await;
    for _ in 0..2 {
        assert_eq!(client.get(&format!("/v1/jobs/{id}")).await.status, 200);
    }
    // Addresses and ids in paths must not become labels.
    let r = client.get("/v1/suppressions/alice@example.com").await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = stack.anonymous().get("/no/such/bob@example.com").await;
    assert_eq!(r.status, 404);
    let r = stack.anonymous().get("/v1/jobs").await;
    assert_eq!(r.status, 401);

    // Webhook intake: accepted, then a duplicate, then a tampered one.
    let gw = Gateway::create(&client, &stack.base_url(), "stripe").await;
    let body = gw.event(
        "evt_metrics_1",
        "customer.created",
        now_secs(),
        json!({"id": "cus_1"}),
    );
    assert_eq!(gw.deliver("evt_metrics_1", &body).await.status, 200);
    assert_eq!(gw.deliver("evt_metrics_1", &body).await.status, 200);
    let tampered = gw
        .deliver_signed(
            "evt_metrics_2",
            b"{\"id\": \"evt_metrics_2\"}",
            &body,
            now_secs(),
        )
        .await;
    assert_eq!(tampered.status, 400, "{}", tampered.text);

    let api = stack.base_url();
    let text = scrape(&api, None)
        .await
        .expect("the API serves /metrics openly by default");
    let requests = "longshore_http_requests_total";
    let job = [
        ("method", "GET"),
        ("route", "/v1/jobs/:param0"),
        ("status", "2xx"),
    ];
    assert_eq!(value(&text, requests, &job), Some(2.0), "{text}");
    assert_eq!(
        value(
            &text,
            requests,
            &[("method", "POST"), ("route", "/v1/jobs"), ("status", "2xx")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            requests,
            &[("route", "/v1/jobs"), ("method", "GET"), ("status", "4xx")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            requests,
            &[("route", "/v1/suppressions/:param0"), ("status", "4xx")]
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "longshore_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/v1/jobs/:param0")]
        ),
        Some(2.0),
        "{text}"
    );
    let hooks = "longshore_webhooks_received_total";
    for (outcome, n) in [("accepted", 1.0), ("duplicate", 1.0), ("rejected", 1.0)] {
        assert_eq!(
            value(&text, hooks, &[("outcome", outcome)]),
            Some(n),
            "{text}"
        );
    }
    assert!(
        value(
            &text,
            requests,
            &[("method", "POST"), ("route", "/hooks/:param0")]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        !text.contains(&gw.secret) && !text.contains(&gw.endpoint_id),
        "{text}"
    );
    assert!(!text.contains(&id), "a job id reached a label: {text}");
    assert_clean(&text, &key);

    // Not part of the client API document.
    let spec = stack.anonymous().get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    assert!(
        spec.body["paths"].get("/metrics").is_none(),
        "/metrics is documented for operators, not clients"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_token_guards_the_api_scrape_only() {
    let token = "scrape-token-123";
    let stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_METRICS_TOKEN", token)
        .start()
        .await;
    let api = stack.base_url();
    let anon = reqwest::get(format!("{api}/metrics"))
        .await
        .expect("answer");
    assert_eq!(anon.status(), 401);
    assert!(
        anon.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/problem+json")
    );
    let wrong = reqwest::Client::new()
        .get(format!("{api}/metrics"))
        .bearer_auth("scrape-token-12")
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong.status(), 401);
    let text = scrape(&api, Some(token)).await.expect("the token scrapes");
    assert!(text.contains("longshore_build_info"), "{text}");
    assert!(!text.contains(token), "the token itself is never rendered");
    // The worker's admin port (private network) serves it without the token.
    let worker = admin(stack.workers[0].admin_port);
    let text = wait_for(&worker, "longshore_worker_leases_held", &[], 0.0).await;
    assert!(
        text.contains("# TYPE longshore_worker_leases_held gauge"),
        "{text}"
    );
}

/// No API key, tenant-looking id or email address in a scrape.
fn assert_clean(text: &str, key: &str) {
    assert!(!text.contains(key), "the API key leaked: {text}");
    for needle in ["lsk_", "ten_", "@", "example.com"] {
        assert!(!text.contains(needle), "`{needle}` in a scrape: {text}");
    }
}
