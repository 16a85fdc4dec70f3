//! The email API: validation, templates, tenant isolation, listing, scheduling, the outbox.

use longshore_testkit::SmtpSink;
use longshore_tests::{Mode, Stack};
use serde_json::json;

use super::*;
use crate::in_both_modes;

async fn isolation(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = stack(mode, &sink).await;
    let alice = tenant(&stack, "alice").await;
    let bob = tenant(&stack, "bob").await;
    let (doc, _) = receipt_pdf(&stack, &alice).await;
    let put = alice
        .send(reqwest::Method::PUT, "/v1/templates/welcome", |r| {
            r.header("content-type", "application/json")
                .body(json!({"subject": "Hi {{ name }}", "text": "Hello {{ name }}"}).to_string())
        })
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    let email = send(
        &alice,
        json!({"to": ["ada@example.com"], "subject": "S", "text": "T", "tags": ["t1"]}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    wait_status(&alice, id, "sent").await;
    alice
        .post("/v1/suppressions", &json!({"address": "x@example.com"}))
        .await;

    for path in [
        format!("/v1/emails/{id}"),
        "/v1/templates/welcome".into(),
        "/v1/suppressions/x@example.com".into(),
    ] {
        let r = bob.get(&path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    assert_eq!(
        bob.post_empty(&format!("/v1/emails/{id}/cancel"))
            .await
            .status,
        404
    );
    assert_eq!(
        bob.get("/v1/emails").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        bob.get("/v1/emails?tag=t1").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = bob.post("/v1/emails", &json!({"to": ["a@example.com"], "subject": "S", "text": "T", "attachments": [{"document_id": doc}]})).await;
    assert_eq!(r.status, 404, "another tenant's document: {}", r.text);
    let r = bob
        .post(
            "/v1/emails",
            &json!({"to": ["a@example.com"], "template": "welcome", "variables": {"name": "x"}}),
        )
        .await;
    assert_eq!(r.status, 422, "another tenant's template: {}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "template");
    assert_eq!(
        alice.get("/v1/emails?tag=t1").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        alice.get("/v1/emails?status=sent").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        alice.get("/v1/emails?status=bounced").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}
in_both_modes!(
    another_tenants_emails_templates_and_documents_are_not_found,
    isolation
);

/// Rendering runs in the API's request: a template whose loops never end in reasonable time, or
/// whose output is huge, is a 422 on `template`, answered quickly, and the API stays responsive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_costly_template_is_a_422_not_a_busy_api() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let loops = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}\
                 {{ name }}{% endfor %}{% endfor %}{% endfor %}";
    let huge = "{% for a in range(100) %}{{ name * 100000 }}{% endfor %}";
    for (name, html, says) in [("loops", loops, "steps"), ("huge", huge, "bytes")] {
        let t = json!({"name": name, "subject": "Hi {{ name }}", "html": html});
        let saved = client.post("/v1/templates", &t).await;
        assert_eq!(saved.status, 201, "{}", saved.text);
        let started = std::time::Instant::now();
        let r = client
            .post(
                "/v1/emails",
                &json!({"to": ["ada@example.com"], "template": name, "variables": {"name": "Ada"}}),
            )
            .await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the render is cut short: {:?}",
            started.elapsed()
        );
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "template", "{}", r.text);
        assert!(r.text.contains(says), "{}", r.text);
    }
    assert!(
        client.get("/v1/emails").await.body["data"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_render_and_a_missing_variable_is_a_422() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let bad = client
        .post(
            "/v1/templates",
            &json!({"name": "broken", "subject": "x", "html": "<p>{{ name </p>"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.body["errors"][0]["field"], "html");
    let t = json!({"name": "welcome", "subject": "Welcome, {{ name }}",
                   "html": "<p>Hello {{ name }}{% if company %} of {{ company }}{% endif %}</p>"});
    assert_eq!(client.post("/v1/templates", &t).await.status, 201);
    assert_eq!(client.post("/v1/templates", &t).await.status, 409);

    let r = client.post("/v1/emails", &json!({"to": ["ada@example.com"], "template": "welcome", "variables": {"company": "Acme"}})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "variables");
    assert!(
        r.body["detail"].as_str().unwrap().contains("undefined"),
        "{}",
        r.text
    );
    assert_eq!(
        client.get("/v1/emails").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "nothing recorded"
    );

    let email = send(
        &client,
        json!({"to": ["ada@example.com"], "template": "welcome", "variables": {"name": "Zoë <Ñ>"}}),
    )
    .await;
    assert_eq!(email["subject"], "Welcome, Zoë <Ñ>");
    assert_eq!(email["template"], "welcome");
    wait_status(&client, email["id"].as_str().unwrap(), "sent").await;
    let msg = sink.wait_for(1, DEADLINE);
    let m = parse(&msg[0].data);
    assert_eq!(m.subject(), Some("Welcome, Zoë <Ñ>"));
    assert!(
        m.body_html(0).unwrap().contains("Hello Zoë &lt;Ñ&gt;</p>"),
        "auto-escaped"
    );
    assert!(
        m.body_text(0).unwrap().contains("Hello Zoë <Ñ>"),
        "text derived from the HTML"
    );

    let both = client
        .post(
            "/v1/emails",
            &json!({"to": ["a@example.com"], "template": "welcome", "subject": "x"}),
        )
        .await;
    assert_eq!(both.status, 422);
    assert_eq!(
        client
            .send(reqwest::Method::DELETE, "/v1/templates/welcome", |r| r)
            .await
            .status,
        204
    );
    assert_eq!(client.get("/v1/templates/welcome").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_addresses_are_422_naming_the_field() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = stack.tenant("no-defaults").await;
    let r = client.post("/v1/emails", &json!({"to": ["ok@example.com", "nope"], "cc": ["a@b@c"], "subject": "S", "text": "T"})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["to[1]", "cc[0]", "from"], "{}", r.text);
    let r = client
        .post(
            "/v1/emails",
            &json!({"to": [], "from": "a@example.com", "subject": "S", "text": "T"}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "to");
    let r = client
        .post(
            "/v1/emails",
            &json!({"to": ["a@example.com"], "from": "a@example.com", "subject": "S"}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "html");
    let r = client.post("/v1/emails", &json!({"to": ["a@example.com"], "from": "a@example.com", "subject": "S", "text": "T", "attachments": [{"document_id": "nope"}]})).await;
    assert_eq!(r.body["errors"][0]["field"], "attachments[0].document_id");
    let r = client
        .post("/v1/emails", &json!({"to": "a@example.com"}))
        .await;
    assert_eq!(r.status, 422);
    let r = client.post("/v1/email-settings", &json!({})).await;
    assert_eq!(r.status, 405);
    let r = client
        .send(reqwest::Method::PUT, "/v1/email-settings", |r| {
            r.header("content-type", "application/json")
                .body(json!({"from": "nope", "retry_base_ms": 5}).to_string())
        })
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_at_schedules_and_cancel_withdraws() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let email = send(
        &client,
        json!({"to": ["a@example.com"], "subject": "Later", "text": "T", "send_at": later}),
    )
    .await;
    let job = client.job(email["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "scheduled");
    assert_eq!(job["type"], "email.send");
    let r = client
        .post_empty(&format!(
            "/v1/emails/{}/cancel",
            email["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(
        client.job(email["job_id"].as_str().unwrap()).await["state"],
        "cancelled"
    );
    let again = client
        .post_empty(&format!(
            "/v1/emails/{}/cancel",
            email["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(again.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_smtp_url_mail_goes_to_the_outbox_folder() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = tenant(&stack, "acme").await;
    let email = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Outbox ✓", "html": "<p>Hi</p>"}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    wait_status(&client, id, "sent").await;
    let file = stack
        .dir()
        .join("data")
        .join("outbox")
        .join(format!("{id}.eml"));
    let raw = std::fs::read(&file).expect("the .eml file");
    let m = parse(&raw);
    assert_eq!(m.subject(), Some("Outbox ✓"));
}
