//! What one task's delivery does: the request the app gets, the response grammar, retries,
//! deadlines, a worker killed mid-call, names, destinations and bad input.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use longshore_tests::{Mode, eventually};
use serde_json::json;

use super::{
    DEADLINE, queue, quick_retries, receiver, signature_valid, stack, task, tenant, wait_status,
};
use crate::in_both_modes;

async fn success_is_signed(mode: Mode) {
    let app = receiver().await;
    let stack = stack(mode).start().await;
    let (client, secret) = tenant(&stack).await;
    queue(&client, "work", json!({})).await;
    let id = task(
        &client,
        "work",
        &app.url("/ok"),
        json!({"name": "first-of-its-name"}),
    )
    .await;
    let done = wait_status(&client, &id, "succeeded").await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["attempt_log"][0]["status"], 200);
    assert_eq!(done["attempt_log"][0]["response_excerpt"], "done");
    // The row is settled in the attempt; its job is acknowledged just after.
    let job_id = done["job_id"].as_str().expect("the task's job");
    client.wait_for_state(job_id, "succeeded", DEADLINE).await;

    let got = app.for_task(&id);
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.body, b"{\"n\": 1}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("longshore-queue-name"), Some("work"));
    assert_eq!(r.header("longshore-task-id"), Some(id.as_str()));
    assert_eq!(r.header("longshore-task-name"), Some("first-of-its-name"));
    assert_eq!(r.header("longshore-task-attempt"), Some("1"));
    assert_eq!(r.header("longshore-task-retry-count"), Some("0"));
    assert!(r.header("longshore-task-first-attempt").is_some());
    assert!(signature_valid(r, &secret), "the signature verifies");
    let mut tampered = r.clone();
    tampered.body = b"{\"n\": 2}".to_vec();
    assert!(!signature_valid(&tampered, &secret), "a changed body fails");
    assert!(
        !signature_valid(r, "whsec_c29tZSBvdGhlciBzZWNyZXQ="),
        "another secret fails"
    );

    // Tasks are jobs: listed and readable in /v1/jobs.
    let job = client.job(done["job_id"].as_str().unwrap()).await;
    assert_eq!(job["type"], "task.deliver");
    assert_eq!(job["state"], "succeeded");
}
in_both_modes!(
    a_2xx_answer_succeeds_and_the_request_is_signed,
    success_is_signed
);

async fn failures_retry(mode: Mode) {
    let app = receiver().await;
    let stack = stack(mode).start().await;
    let (client, _) = tenant(&stack).await;
    queue(
        &client,
        "flaky",
        json!({"retry_config": {"min_backoff": "0.5s", "max_backoff": "10s", "max_attempts": 5}}),
    )
    .await;
    let id = task(&client, "flaky", &app.url("/fail/2"), json!({})).await;
    let done = wait_status(&client, &id, "succeeded").await;
    let statuses: Vec<_> = done["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(500), json!(500), json!(200)]);
    let got = app.for_task(&id);
    assert_eq!(got.len(), 3);
    // Backoff doubles from min_backoff: at least 0.5 s, then at least 1 s.
    let first_gap = got[1].at - got[0].at;
    let second_gap = got[2].at - got[1].at;
    assert!(first_gap >= Duration::from_millis(500), "{first_gap:?}");
    assert!(second_gap >= Duration::from_millis(1000), "{second_gap:?}");
    assert_eq!(got[2].header("longshore-task-retry-count"), Some("2"));
    assert_eq!(
        got[2].header("longshore-task-first-attempt"),
        got[1].header("longshore-task-first-attempt"),
        "the first attempt's time is the same on every retry"
    );
}
in_both_modes!(
    a_failing_endpoint_is_retried_with_growing_delays,
    failures_retry
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_do_not_retry_ends_dead() {
    let app = receiver().await;
    let stack = stack(Mode::Production).start().await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "polite", quick_retries()).await;
    let waited = task(&client, "polite", &app.url("/retry-after/3"), json!({})).await;
    let stopped = task(&client, "polite", &app.url("/stop"), json!({})).await;

    wait_status(&client, &waited, "succeeded").await;
    let got = app.for_task(&waited);
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_secs(3),
        "Retry-After: 3 honoured, got {gap:?}"
    );

    let dead = wait_status(&client, &stopped, "dead").await;
    assert_eq!(dead["attempts"], 1);
    assert!(
        dead["last_error"].as_str().unwrap().contains("489"),
        "{dead}"
    );
    assert_eq!(app.for_task(&stopped).len(), 1);

    // A dead task is retried by hand with a fresh budget (and dies again here, once more).
    let r = client
        .post_empty(&format!("/v1/tasks/{stopped}/retry"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    eventually(DEADLINE, "the retried task to be sent again", || async {
        (app.for_task(&stopped).len() == 2).then_some(())
    })
    .await;
    let again = wait_status(&client, &stopped, "dead").await;
    assert_eq!(again["attempts"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_past_its_dispatch_deadline_is_retried() {
    let app = receiver().await;
    let stack = stack(Mode::Production).start().await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "slow", quick_retries()).await;
    // The first answer takes longer than the shortest deadline (15 s); later ones are quick.
    let id = task(
        &client,
        "slow",
        &app.url("/slow-first/17000"),
        json!({"dispatch_deadline": "15s"}),
    )
    .await;
    let done = wait_status(&client, &id, "succeeded").await;
    assert_eq!(
        done["attempt_log"][0]["error"],
        "dispatch deadline exceeded"
    );
    assert_eq!(done["attempt_log"][1]["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_task_is_delivered_again_under_the_same_id() {
    let app = receiver().await;
    let mut stack = stack(Mode::Production)
        .env("LONGSHORE_LEASE_SECS", "2")
        .start()
        .await;
    let (client, secret) = tenant(&stack).await;
    queue(&client, "work", quick_retries()).await;
    let id = task(&client, "work", &app.url("/slow/3000"), json!({})).await;
    eventually(DEADLINE, "the app to be called", || async {
        (!app.for_task(&id).is_empty()).then_some(())
    })
    .await;
    // The app is still answering when the worker dies.
    stack.workers[0].kill();
    stack.spawn_worker();
    wait_status(&client, &id, "succeeded").await;
    let got = app.for_task(&id);
    assert!(got.len() >= 2, "delivered again: {got:?}");
    for r in &got {
        assert_eq!(r.header("webhook-id"), Some(id.as_str()));
        assert!(signature_valid(r, &secret));
    }
}

async fn names(mode: Mode) {
    let app = receiver().await;
    let stack = stack(mode)
        .env("LONGSHORE_TASK_NAME_RESERVATION_SECS", "2")
        .start()
        .await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "named", json!({})).await;
    let body = json!({"queue": "named", "name": "nightly-2026-12-07",
        "http_request": {"url": app.url("/ok")}});
    let first = client.post("/v1/tasks", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = client.post("/v1/tasks", &body).await;
    assert_eq!(again.status, 409, "{}", again.text);
    let id = first.body["id"].as_str().unwrap().to_owned();
    let done = wait_status(&client, &id, "succeeded").await;
    assert!(done["name_reserved_until"].is_string(), "{done}");
    let after = client.post("/v1/tasks", &body).await;
    assert_eq!(after.status, 409, "still reserved right after it finished");
    // Once the reservation lapses, the name can be used again.
    let reused = eventually(DEADLINE, "the name to be free again", || async {
        let r = client.post("/v1/tasks", &body).await;
        (r.status == 201).then_some(r)
    })
    .await;
    assert_ne!(reused.body["id"], first.body["id"]);
    // Another queue's tasks have their own names.
    queue(&client, "other", json!({})).await;
    let mut elsewhere = body.clone();
    elsewhere["queue"] = json!("other");
    assert_eq!(client.post("/v1/tasks", &elsewhere).await.status, 201);
}
in_both_modes!(a_task_name_is_reserved_while_it_lives_and_after, names);

async fn full_view(mode: Mode) {
    let app = receiver().await;
    let stack = stack(mode).start().await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "bodies", json!({})).await;
    // Not UTF-8, with a NUL: the bytes as given, whatever the database.
    let bytes: &[u8] = &[0xff, 0x00, b'{', 0xfe, b'\n', 0x80];
    let encoded = BASE64.encode(bytes);
    let r = client
        .post(
            "/v1/tasks",
            &json!({"queue": "bodies", "http_request": {"url": app.url("/ok"), "body": encoded}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["http_request"].get("body").is_none(), "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    wait_status(&client, &id, "succeeded").await;

    let full = client.get(&format!("/v1/tasks/{id}?view=full")).await;
    assert_eq!(full.status, 200, "{}", full.text);
    assert_eq!(full.body["http_request"]["body"], encoded.as_str());
    assert_eq!(full.body["http_request"]["body_bytes"], bytes.len());
    assert_eq!(full.body["attempt_log"][0]["status"], 200);
    let sent = app.for_task(&id);
    assert_eq!(sent[0].body, bytes, "the body shown is the body sent");
    for basic in [
        format!("/v1/tasks/{id}"),
        format!("/v1/tasks/{id}?view=basic"),
    ] {
        let r = client.get(&basic).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["http_request"].get("body").is_none(), "{}", r.text);
        assert_eq!(r.body["http_request"]["body_bytes"], bytes.len());
    }
    let listed = client.get("/v1/tasks?queue=bodies").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(
        listed.body["data"][0]["http_request"].get("body").is_none(),
        "lists stay basic: {}",
        listed.text
    );

    // A text body comes back base64 too, and an empty one as "".
    let text = task(&client, "bodies", &app.url("/ok"), json!({})).await;
    let r = client.get(&format!("/v1/tasks/{text}?view=full")).await;
    assert_eq!(r.body["http_request"]["body"], BASE64.encode(b"{\"n\": 1}"));
    let r = client
        .post(
            "/v1/tasks",
            &json!({"queue": "bodies", "http_request": {"url": app.url("/ok")}}),
        )
        .await;
    let empty = r.body["id"].as_str().unwrap().to_owned();
    let r = client.get(&format!("/v1/tasks/{empty}?view=full")).await;
    assert_eq!(r.body["http_request"]["body"], "", "{}", r.text);

    let bad = client.get(&format!("/v1/tasks/{id}?view=FULL")).await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.body["errors"][0]["field"], "view", "{}", bad.text);
}
in_both_modes!(
    view_full_shows_the_request_body_and_nothing_else_does,
    full_view
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_and_bad_input_get_the_documented_problem() {
    let stack = stack(Mode::Embedded).start().await;
    let client = stack.tenant("acme").await;
    queue(&client, "q", json!({})).await;
    // No signing secret yet: tasks cannot be signed.
    let r = client
        .post(
            "/v1/tasks",
            &json!({"queue": "q", "http_request": {"url": "https://example.com/"}}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("signing secret")
    );
    let r = client.post_empty("/v1/task-signing-secret").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let cases = [
        (
            json!({"queue": "nope", "http_request": {"url": "https://example.com/"}}),
            "queue",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "not a url"}}),
            "http_request.url",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "ftp://example.com/"}}),
            "http_request.url",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "http://169.254.169.254/latest/meta-data"}}),
            "http_request.url",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "http://10.1.2.3/"}}),
            "http_request.url",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "https://example.com/",
            "body_text": "x".repeat(1024 * 1024 + 1)}}),
            "http_request.body",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "https://example.com/"},
            "dispatch_deadline": "5s"}),
            "dispatch_deadline",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "https://example.com/"},
            "dispatch_deadline": "1801s"}),
            "dispatch_deadline",
        ),
        (
            json!({"queue": "q", "http_request": {"url": "https://example.com/",
            "headers": {"Host": "evil"}}}),
            "http_request.headers.Host",
        ),
    ];
    for (body, field) in cases {
        let r = client.post("/v1/tasks", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["type"], "/problems/validation-error");
        let fields: Vec<_> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            fields.contains(&field.to_owned()),
            "{field} not in {fields:?}"
        );
    }
    let r = client
        .post(
            "/v1/queues",
            &json!({"name": "bad", "retry_config": {"min_backoff": "10"}}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "retry_config.min_backoff");
    assert_eq!(
        client
            .post("/v1/queues", &json!({"name": "q"}))
            .await
            .status,
        409
    );
    assert_eq!(client.get("/v1/queues/nope").await.status, 404);
    assert_eq!(client.get("/v1/tasks/task_nope").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_refused_unless_the_operator_allows_it() {
    let app = receiver().await;
    let stack = longshore_tests::Stack::builder(Mode::Embedded)
        .start()
        .await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "q", json!({})).await;
    for url in [
        app.url("/ok"),
        format!("http://[::1]:{}/ok", app.port),
        format!("http://localhost:{}/ok", app.port),
    ] {
        let r = client
            .post(
                "/v1/tasks",
                &json!({"queue": "q", "http_request": {"url": url}}),
            )
            .await;
        assert_eq!(r.status, 422, "{url}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "http_request.url");
    }
    // (A host name that resolves to a refused address only when connecting is refused by the
    // client's resolver on the addresses actually connected to: `outbound::client` tests it.)
    assert!(app.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_cancelled_purged_and_listed() {
    let app = receiver().await;
    let stack = stack(Mode::Embedded).start().await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "later", json!({})).await;
    let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let later = json!({"schedule_time": in_an_hour});
    let a = task(&client, "later", &app.url("/ok"), later.clone()).await;
    let b = task(&client, "later", &app.url("/ok"), later.clone()).await;
    let c = task(&client, "later", &app.url("/ok"), later).await;

    // Through the jobs API, as any job.
    let job_a = client.get(&format!("/v1/tasks/{a}")).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = client.post_empty(&format!("/v1/jobs/{job_a}/cancel")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "cancelled");
    wait_status(&client, &a, "cancelled").await;
    let r = client.post_empty(&format!("/v1/tasks/{b}/cancel")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");

    let purged = client.post_empty("/v1/queues/later/purge").await;
    assert_eq!(purged.status, 200, "{}", purged.text);
    assert_eq!(purged.body["count"], 1);
    wait_status(&client, &c, "cancelled").await;
    let listed = client.get("/v1/tasks?queue=later&status=cancelled").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 3);
    assert!(app.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_s_auth_headers_are_sent_and_sealed_at_rest() {
    let app = receiver().await;
    let stack = stack(Mode::Embedded).start().await;
    let (client, secret) = tenant(&stack).await;
    let token = "Bearer q-s3cret-7f3a9c";
    queue(
        &client,
        "private",
        json!({"http_auth_headers": {"Authorization": token}}),
    )
    .await;
    let shown = client.get("/v1/queues/private").await;
    assert_eq!(
        shown.body["http_auth_header_names"],
        json!(["Authorization"])
    );
    assert!(!shown.text.contains("s3cret"), "{}", shown.text);
    // The queue's credential wins over a task's header of the same name.
    let id = task(
        &client,
        "private",
        &app.url("/ok"),
        json!({"http_request": {"url": app.url("/ok"),
            "headers": {"Authorization": "Bearer from-the-task", "X-Trace": "t1"}}}),
    )
    .await;
    wait_status(&client, &id, "succeeded").await;
    let got = app.for_task(&id);
    assert_eq!(got[0].header("authorization"), Some(token));
    assert_eq!(got[0].header("x-trace"), Some("t1"));
    // Neither the queue's credential nor the signing secret is readable in the data folder.
    let secret_part = secret.trim_start_matches("whsec_").to_owned();
    for file in crate::webhooks::files_under(&stack.dir().join("data")) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for needle in ["q-s3cret-7f3a9c", secret_part.as_str()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in {}",
                file.display()
            );
        }
    }
    // `{}` removes them.
    let r = client
        .send(reqwest::Method::PATCH, "/v1/queues/private", |r| {
            r.json(&json!({"http_auth_headers": {}}))
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["http_auth_header_names"], json!([]));
}

async fn forgotten(mode: Mode) {
    let app = receiver().await;
    let stack = stack(mode)
        .env("LONGSHORE_RETENTION_SUCCEEDED_SECS", "1")
        .env("LONGSHORE_TASK_NAME_RESERVATION_SECS", "1")
        .env("LONGSHORE_RECOVERY_AFTER_SECS", "1")
        .start()
        .await;
    let (client, _) = tenant(&stack).await;
    queue(&client, "short", json!({})).await;
    let done = task(&client, "short", &app.url("/ok"), json!({"name": "once"})).await;
    let dead = task(&client, "short", &app.url("/stop"), json!({})).await;
    wait_status(&client, &done, "succeeded").await;
    wait_status(&client, &dead, "dead").await;
    eventually(DEADLINE, "the succeeded task to be forgotten", || async {
        (client.get(&format!("/v1/tasks/{done}")).await.status == 404).then_some(())
    })
    .await;
    // A dead task is kept (a week by default), and the name is free again.
    let kept = client.get(&format!("/v1/tasks/{dead}")).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.body["attempt_log"].as_array().unwrap().len(), 1);
    task(&client, "short", &app.url("/ok"), json!({"name": "once"})).await;
}
in_both_modes!(
    finished_tasks_are_forgotten_after_their_retention,
    forgotten
);
