//! Every kind of bad input gets its status and the one problem+json shape; nothing is a 500.

use longshore_tests::{Client, Mode, Reply, Stack};

use crate::in_both_modes;
use reqwest::Method;
use serde_json::{Value, json};

fn assert_problem(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "body: {}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text
    );
    assert_eq!(r.body["status"], status);
    for field in ["type", "title", "detail"] {
        assert!(r.body[field].is_string(), "`{field}` missing in {}", r.text);
    }
}

fn invalid_fields(r: &Reply) -> Vec<String> {
    assert_problem(r, 422);
    r.body["errors"]
        .as_array()
        .expect("errors list")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

async fn raw(client: &Client, body: &'static str, content_type: &'static str) -> Reply {
    client
        .send(Method::POST, "/v1/jobs", |r| {
            r.header("content-type", content_type).body(body)
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_problem_documents() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;

    assert_problem(&raw(&client, "{\"type\": ", "application/json").await, 400);
    assert_problem(&raw(&client, "", "application/json").await, 400);
    assert_problem(
        &raw(
            &client,
            "type=diagnostic.noop",
            "application/x-www-form-urlencoded",
        )
        .await,
        415,
    );

    let post = |body: Value| {
        let client = client.clone();
        async move { client.post("/v1/jobs", &body).await }
    };
    assert_eq!(invalid_fields(&post(json!({"type": 7})).await), ["type"]);
    assert_eq!(
        invalid_fields(&post(json!({"type": "no.such"})).await),
        ["type"]
    );
    // Internal job types act on records their own endpoints guard: clients cannot submit them.
    assert_eq!(
        invalid_fields(&post(json!({"type": "email.send", "payload": {"email_id": "em_01JZ0000000000000000000000"}})).await),
        ["type"]
    );
    assert_eq!(
        invalid_fields(&post(json!({"type": "diagnostic.noop", "max_attempts": 26})).await),
        ["max_attempts"]
    );
    assert_eq!(
        invalid_fields(&post(json!({"type": "diagnostic.noop", "max_attempts": 0})).await),
        ["max_attempts"]
    );
    assert_eq!(
        invalid_fields(&post(json!({"type": "diagnostic.noop", "max_attempts": -1})).await),
        ["max_attempts"]
    );
    assert_eq!(
        invalid_fields(&post(json!({"type": "diagnostic.noop", "run_at": "tomorrow"})).await),
        ["run_at"]
    );
    assert_eq!(
        invalid_fields(&post(json!({"type": "diagnostic.sleep", "payload": {"ms": 600001}})).await),
        ["payload.ms"]
    );
    assert_eq!(
        invalid_fields(&post(json!({"type": "diagnostic.sleep", "payload": {"ms": "long"}})).await),
        ["payload.ms"]
    );
    assert_eq!(
        invalid_fields(&post(json!({"type": "diagnostic.noop", "typo": 1})).await).len(),
        1
    );
    assert_problem(&post(json!([1, 2])).await, 422);

    // Oversized bodies (over the 2 MiB default): declared, and streamed without a
    // Content-Length.
    let big = format!(
        "{{\"type\": \"diagnostic.noop\", \"payload\": {{\"pad\": \"{}\"}}}}",
        "x".repeat(2_200_000)
    );
    let r = client
        .send(Method::POST, "/v1/jobs", |r| {
            r.header("content-type", "application/json")
                .body(big.clone())
        })
        .await;
    assert_problem(&r, 413);
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let r = client
        .send(Method::POST, "/v1/jobs", |r| {
            r.header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        })
        .await;
    assert_problem(&r, 413);

    // Unknown ids, routes and methods.
    assert_problem(
        &client.get("/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
        404,
    );
    assert_problem(&client.get("/v1/jobs/not-an-id").await, 404);
    assert_problem(&client.get("/v1/nothing-here").await, 404);
    assert_problem(&client.send(Method::DELETE, "/v1/jobs", |r| r).await, 405);
    assert_problem(&client.get("/v1/jobs?limit=0").await, 422);
    assert_problem(&client.get("/v1/jobs?limit=abc").await, 422);
    assert_problem(&client.get("/v1/jobs?state=sleeping").await, 422);

    // Authentication.
    let anonymous = stack.anonymous();
    let r = anonymous.get("/v1/jobs").await;
    assert_problem(&r, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let forged = Client::new(
        &stack.base_url(),
        Some(format!("lsk_01ARZ3NDEKTSV4RRFFQ69G5FAV_{}", "0".repeat(64))),
    );
    assert_problem(&forged.get("/v1/jobs").await, 401);
    let garbage = Client::new(&stack.base_url(), Some("hunter2".into()));
    let r = garbage
        .post("/v1/jobs", &json!({"type": "diagnostic.noop"}))
        .await;
    assert_problem(&r, 401);
    assert!(!r.text.contains("hunter2"), "secrets never echo back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_and_recorded() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let r = client
        .send(Method::POST, "/v1/jobs", |r| {
            r.header("content-type", "application/json")
                .header("x-request-id", "trace-abc-123")
                .body(json!({"type": "diagnostic.noop"}).to_string())
        })
        .await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc-123"));
    assert_eq!(r.body["request_id"], "trace-abc-123");
    let r = client.get("/v1/jobs").await;
    assert!(r.header("x-request-id").unwrap().starts_with("req_"));
}

/// Every listing refuses a cursor it never handed out: 422 naming `cursor`, never a 5xx.
async fn garbage_cursors(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    // Something to list, so a cursor is compared against real rows.
    client.submit(json!({"type": "diagnostic.noop"})).await;
    let long = "9".repeat(3_000);
    let listings = [
        "/v1/jobs",
        "/v1/emails",
        "/v1/documents",
        "/v1/payments",
        "/v1/payouts",
        "/v1/expenses",
        "/v1/reports",
        "/v1/schedules",
        "/v1/templates",
        "/v1/webhook-events",
        "/v1/tasks",
        "/v1/queues",
    ];
    for listing in listings {
        for cursor in [
            "zz",
            "%00",
            "job_%00",
            "1712345678901%3Ajob_1%20%5B",
            long.as_str(),
        ] {
            if matches!(listing, "/v1/templates" | "/v1/queues") && cursor == "zz" {
                continue; // a template or queue name, which is what those cursors are
            }
            let r = client.get(&format!("{listing}?cursor={cursor}")).await;
            assert_eq!(r.status, 422, "{listing}?cursor={cursor}: {}", r.text);
            assert_eq!(invalid_fields(&r), ["cursor"], "{listing}: {}", r.text);
        }
        let first = client.get(&format!("{listing}?limit=1")).await;
        assert_eq!(first.status, 200, "{listing}: {}", first.text);
    }
    // A cursor the listing handed out still works.
    client.submit(json!({"type": "diagnostic.noop"})).await;
    let first = client.get("/v1/jobs?limit=1").await;
    let next = first.body["next_cursor"].as_str().expect("a next page");
    let second = client.get(&format!("/v1/jobs?limit=1&cursor={next}")).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
}
in_both_modes!(garbage_cursors_are_422_on_every_listing, garbage_cursors);

/// A NUL character, which PostgreSQL's text cannot store, is 422 naming the field wherever it
/// comes in (body strings, object keys, query parameters); it never reaches the database as a 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_422_naming_the_field() {
    let stack = Stack::start(Mode::Production).await;
    let client = stack.tenant("acme").await;
    let post = |path: &'static str, body: &'static str| {
        let client = client.clone();
        async move {
            client
                .send(Method::POST, path, |r| {
                    r.header("content-type", "application/json").body(body)
                })
                .await
        }
    };
    let r = post(
        "/v1/emails",
        r#"{"to": ["a@example.com"], "from": "b@example.com", "subject": "hi\u0000", "text": "x"}"#,
    )
    .await;
    assert_eq!(invalid_fields(&r), ["subject"]);
    let r = post(
        "/v1/emails",
        r#"{"to": ["a@example.com"], "from": "b@example.com", "subject": "s", "html": "<p>\u0000</p>", "metadata": {"k": "v\u0000"}}"#,
    )
    .await;
    let mut fields = invalid_fields(&r);
    fields.sort();
    assert_eq!(fields, ["html", "metadata.k"]);
    let r = post(
        "/v1/templates",
        r#"{"name": "welcome", "subject": "Hello", "html": "<p>{{ name }}\u0000</p>"}"#,
    )
    .await;
    assert_eq!(invalid_fields(&r), ["html"]);
    let r = post(
        "/v1/jobs",
        r#"{"type": "diagnostic.noop", "payload": {"note": "\u0000"}}"#,
    )
    .await;
    assert_eq!(invalid_fields(&r), ["payload.note"]);
    for path in [
        "/v1/expenses?category=food%00",
        "/v1/emails?tag=%00",
        "/v1/jobs?type=diagnostic.noop%00",
    ] {
        let r = client.get(path).await;
        assert_eq!(invalid_fields(&r).len(), 1, "{path}: {}", r.text);
        assert!(!r.body["errors"][0]["field"].as_str().unwrap().is_empty());
    }
    let r = client.get("/v1/suppressions/a%00b@example.com").await;
    assert!(
        (400..500).contains(&r.status),
        "a NUL in a path is the client's error: {}",
        r.text
    );
    // Nothing above was stored: the listings still answer.
    assert_eq!(client.get("/v1/emails").await.status, 200);
    assert_eq!(client.get("/v1/templates").await.status, 200);
}
