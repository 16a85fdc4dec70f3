//! `POST /v1/jobs/{id}/cancel` cancels only the job types clients submit; Longshore's own jobs
//! (which move a record's state) are refused with 409 and left to run.

use longshore_tests::{Client, Mode, Stack};
use serde_json::{Value, json};

async fn only_job(client: &Client, job_type: &str) -> Value {
    let r = client.get(&format!("/v1/jobs?type={job_type}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let jobs = r.body["data"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{}", r.text);
    jobs[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_jobs_are_not_cancellable_through_the_jobs_api() {
    // No worker: every job stays queued, so only the API decides what happens to it.
    let stack = Stack::builder(Mode::Embedded).workers(0).start().await;
    let client = stack.tenant("acme").await;

    let email = client
        .post(
            "/v1/emails",
            &json!({"to": ["a@example.com"], "from": "b@example.com", "subject": "S", "text": "T"}),
        )
        .await;
    assert_eq!(email.status, 202, "{}", email.text);
    let email_id = email.body["id"].as_str().unwrap().to_owned();
    let send = only_job(&client, "email.send").await;
    let r = client
        .post_empty(&format!("/v1/jobs/{}/cancel", send["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("POST /v1/emails/{email_id}/cancel")),
        "the answer names the endpoint that cancels the email: {detail}"
    );
    assert_eq!(only_job(&client, "email.send").await["state"], "queued");
    // The email's own endpoint cancels the email (and its job).
    let r = client
        .post_empty(&format!("/v1/emails/{email_id}/cancel"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let doc = client
        .post(
            "/v1/documents",
            &json!({"kind": "certificate", "data": {"recipient_name": "Ada", "course_title": "Rigging", "issued_on": "2026-03-14", "credits": 1}}),
        )
        .await;
    assert_eq!(doc.status, 202, "{}", doc.text);
    let render = doc.body["job_id"].as_str().unwrap().to_owned();
    let r = client
        .post_empty(&format!("/v1/jobs/{render}/cancel"))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("cannot be cancelled"),
        "{}",
        r.text
    );
    assert_eq!(client.job(&render).await["state"], "queued");

    // The public types still cancel.
    let own = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1}}))
        .await;
    let r = client.post_empty(&format!("/v1/jobs/{own}/cancel")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "cancelled");
}
