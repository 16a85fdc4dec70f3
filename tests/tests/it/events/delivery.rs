//! What delivering one event does: the signed request, retries on the schedule with one id,
//! isolation between endpoints and tenants, disabling, replay, a worker killed mid-delivery,
//! and bad input.

use std::time::Duration;

use longshore_tests::{Mode, Stack, eventually};
use serde_json::json;

use super::{DEADLINE, body, dead_job, endpoint, stack, wait_received};
use crate::http_tasks::signature_valid;
use crate::in_both_modes;
use longshore_tests::receiver::Receiver;

async fn an_event_arrives_signed_and_is_recorded(mode: Mode) {
    let app = Receiver::start().await;
    let stack = stack(mode).start().await;
    let client = stack.tenant("acme").await;
    let (ep, secret) = endpoint(&client, &app.url("/ok"), json!(["job.*"])).await;
    let job = dead_job(&client).await;

    let got = wait_received(&app, "/ok", 1).await;
    let r = &got[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(signature_valid(r, &secret), "the signature verifies");
    let mut tampered = r.clone();
    tampered.body.push(b' ');
    assert!(
        !signature_valid(&tampered, &secret),
        "a changed body does not"
    );
    let event = body(r);
    let id = r.header("webhook-id").expect("webhook-id").to_owned();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["type"], "job.dead");
    assert_eq!(event["data"]["job_id"], job.as_str());
    assert!(event["timestamp"].as_str().is_some(), "{event}");

    // Listed and readable, with its delivery and the attempt log.
    let listed = client.get("/v1/events?type=job.dead").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    assert_eq!(listed.body["data"][0]["payload"], event);
    let one = eventually(DEADLINE, "the delivery to be recorded", || async {
        let r = client.get(&format!("/v1/events/{id}")).await;
        (r.body["deliveries"][0]["status"] == "succeeded").then_some(r.body)
    })
    .await;
    assert_eq!(one["deliveries"][0]["endpoint_id"], ep.as_str());
    assert_eq!(one["deliveries"][0]["attempts"], 1);
    let attempts = client
        .get(&format!("/v1/event-endpoints/{ep}/attempts?event_id={id}"))
        .await;
    assert_eq!(attempts.status, 200, "{}", attempts.text);
    assert_eq!(attempts.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(attempts.body["data"][0]["status"], "succeeded");
    assert_eq!(attempts.body["data"][0]["response_status"], 200);
    assert_eq!(attempts.body["data"][0]["response_excerpt"], "done");
    // Delivered once: nothing more arrives for it.
    assert_eq!(app.for_task(&id).len(), 1);
}
in_both_modes!(
    an_event_arrives_signed_and_is_recorded,
    an_event_arrives_signed_and_is_recorded
);

async fn failures_are_retried_on_the_schedule_with_one_id(mode: Mode) {
    let app = Receiver::start().await;
    let stack = stack(mode).start().await;
    let client = stack.tenant("acme").await;
    let (ep, _) = endpoint(&client, &app.url("/fail/3"), json!([])).await;
    dead_job(&client).await;

    let got = wait_received(&app, "/fail/3", 4).await;
    let ids: Vec<_> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "one id: {ids:?}");
    // The schedule is 0s, 1s, 2s, 3s: each gap at least its delay, and growing.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (gap, at_least) in gaps.iter().zip([1, 2, 3]) {
        assert!(
            *gap >= Duration::from_millis(at_least * 1000 - 50),
            "{gaps:?}"
        );
    }
    assert!(gaps[0] < gaps[1] && gaps[1] < gaps[2], "{gaps:?}");
    let id = ids[0].expect("webhook-id");
    let log = eventually(DEADLINE, "four attempts logged", || async {
        let r = client
            .get(&format!("/v1/event-endpoints/{ep}/attempts?event_id={id}"))
            .await;
        (r.body["data"].as_array().map(Vec::len) == Some(4)).then_some(r.body)
    })
    .await;
    // Newest first: the success, then three failures with the 500.
    assert_eq!(log["data"][0]["status"], "succeeded");
    for i in 1..4 {
        assert_eq!(log["data"][i]["status"], "failed");
        assert_eq!(log["data"][i]["response_status"], 500);
        assert_eq!(log["data"][i]["attempt"], 4 - i as i64);
    }
    let failed = client
        .get(&format!("/v1/event-endpoints/{ep}/attempts?status=failed"))
        .await;
    assert_eq!(failed.body["data"].as_array().map(Vec::len), Some(3));
    // The worker counts each attempt by what became of the delivery: three retried, one done.
    let worker = crate::metrics::admin(stack.workers[0].admin_port);
    let attempts = "longshore_event_attempts_total";
    let text = crate::metrics::wait_for(&worker, attempts, &[("outcome", "succeeded")], 1.0).await;
    let n = |o| crate::metrics::value(&text, attempts, &[("outcome", o)]);
    assert_eq!(
        (n("pending"), n("succeeded")),
        (Some(3.0), Some(1.0)),
        "{text}"
    );
}
in_both_modes!(
    failures_are_retried_on_the_schedule_with_one_id,
    failures_are_retried_on_the_schedule_with_one_id
);

async fn a_hanging_endpoint_does_not_delay_another(mode: Mode) {
    let app = Receiver::start().await;
    let stack = stack(mode)
        .env("LONGSHORE_EVENT_TIMEOUT_SECS", "60")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let r = client
        .post(
            "/v1/event-endpoints",
            &json!({"url": app.url("/slow/600000"), "max_concurrent": 2}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    endpoint(&client, &app.url("/ok"), json!([])).await;
    for _ in 0..5 {
        dead_job(&client).await;
    }
    // All five reach the healthy endpoint while the hanging one holds two and answers none.
    wait_received(&app, "/ok", 5).await;
    let hanging: Vec<_> = app
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/slow"))
        .collect();
    assert!(
        hanging.len() <= 2,
        "at most its concurrency: {}",
        hanging.len()
    );
    assert!(hanging.iter().all(|r| r.answered.is_none()));
}
in_both_modes!(
    a_hanging_endpoint_does_not_delay_another,
    a_hanging_endpoint_does_not_delay_another
);

async fn failing_endpoints_are_disabled_and_the_others_told(mode: Mode) {
    let app = Receiver::start().await;
    let stack = stack(mode)
        .env("LONGSHORE_EVENT_DISABLE_AFTER_SECS", "2")
        .env("LONGSHORE_EVENT_RETRY_SCHEDULE", "0s,1s,1s,1s,1s,1s,1s,1s")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let (failing, _) = endpoint(&client, &app.url("/fail/1000"), json!(["job.dead"])).await;
    let (gone, _) = endpoint(&client, &app.url("/gone"), json!(["job.dead"])).await;
    endpoint(&client, &app.url("/ok"), json!(["endpoint.disabled"])).await;
    dead_job(&client).await;

    // 410 Gone disables at once; a run of failures after the configured time.
    for (ep, reason) in [(&gone, "gone"), (&failing, "failing")] {
        let seen = eventually(DEADLINE, &format!("{ep} to be disabled"), || async {
            let r = client.get(&format!("/v1/event-endpoints/{ep}")).await;
            (r.body["enabled"] == false).then_some(r.body)
        })
        .await;
        assert_eq!(seen["disabled_reason"], reason);
    }
    let told = wait_received(&app, "/ok", 2).await;
    let mut disabled: Vec<String> = told
        .iter()
        .map(body)
        .inspect(|e| assert_eq!(e["type"], "endpoint.disabled"))
        .map(|e| {
            e["data"]["endpoint_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    disabled.sort();
    let mut expected = vec![failing.clone(), gone.clone()];
    expected.sort();
    assert_eq!(disabled, expected);

    // Disabled endpoints get nothing new; enabling one again brings it back.
    let before = app.requests().len();
    dead_job(&client).await;
    let r = client
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/event-endpoints/{gone}"),
            |b| {
                b.header("content-type", "application/json")
                    .body(json!({"enabled": true, "url": app.url("/ok")}).to_string())
            },
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enabled"], true);
    assert!(r.body.get("disabled_reason").is_none(), "{}", r.text);
    dead_job(&client).await;
    let latest = wait_received(&app, "/ok", 3).await;
    assert_eq!(body(&latest[2])["type"], "job.dead");
    assert_eq!(app.requests().len() - before, 1, "{:?}", app.requests());
}
in_both_modes!(
    failing_endpoints_are_disabled_and_the_others_told,
    failing_endpoints_are_disabled_and_the_others_told
);

async fn replay_sends_again_with_the_same_id(mode: Mode) {
    let app = Receiver::start().await;
    let stack = stack(mode)
        .env("LONGSHORE_EVENT_RETRY_SCHEDULE", "0s")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let (ep, _) = endpoint(&client, &app.url("/fail/1"), json!([])).await;
    dead_job(&client).await;
    let first = wait_received(&app, "/fail/1", 1).await;
    let id = first[0].header("webhook-id").expect("id").to_owned();
    eventually(DEADLINE, "the delivery to fail", || async {
        let r = client.get(&format!("/v1/events/{id}")).await;
        (r.body["deliveries"][0]["status"] == "failed").then_some(())
    })
    .await;

    // Every failed delivery of the endpoint since a time.
    let r = client
        .post(
            &format!("/v1/event-endpoints/{ep}/replay"),
            &json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["replayed"], 1);
    let again = wait_received(&app, "/fail/1", 2).await;
    assert_eq!(again[1].header("webhook-id"), Some(id.as_str()));
    eventually(DEADLINE, "the replay to succeed", || async {
        let r = client.get(&format!("/v1/events/{id}")).await;
        (r.body["deliveries"][0]["status"] == "succeeded").then_some(())
    })
    .await;

    // One event, to one endpoint, even a succeeded one.
    let r = client
        .post(
            &format!("/v1/events/{id}/replay"),
            &json!({"endpoint_id": ep}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["replayed"], 1);
    let third = wait_received(&app, "/fail/1", 3).await;
    assert_eq!(third[2].header("webhook-id"), Some(id.as_str()));
}
in_both_modes!(
    replay_sends_again_with_the_same_id,
    replay_sends_again_with_the_same_id
);

async fn types_filter_and_tenants_stay_apart(mode: Mode) {
    let app = Receiver::start().await;
    let stack = stack(mode).start().await;
    let acme = stack.tenant("acme").await;
    let globex = stack.tenant("globex").await;
    endpoint(
        &acme,
        &app.url("/slow/1"),
        json!(["email.*", "payment.succeeded"]),
    )
    .await;
    let (mine, _) = endpoint(&acme, &app.url("/ok"), json!(["job.dead"])).await;
    let (theirs, _) = endpoint(&globex, &app.url("/fail/0"), json!([])).await;
    dead_job(&acme).await;
    let got = wait_received(&app, "/ok", 1).await;
    let id = got[0].header("webhook-id").expect("id").to_owned();

    // Nothing reached the endpoint subscribed to other types, nor the other tenant's.
    let first = acme.get(&format!("/v1/events/{id}")).await;
    let deliveries = first.body["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(deliveries.len(), 1, "{}", first.text);
    assert_eq!(deliveries[0]["endpoint_id"], mine.as_str());
    assert!(
        app.requests().iter().all(|r| r.path == "/ok"),
        "{:?}",
        app.requests()
    );
    // And the other tenant sees none of it.
    assert_eq!(globex.get(&format!("/v1/events/{id}")).await.status, 404);
    assert_eq!(
        globex
            .get(&format!("/v1/event-endpoints/{mine}"))
            .await
            .status,
        404
    );
    assert_eq!(globex.get("/v1/events").await.body["data"], json!([]));
    let r = globex
        .post(
            &format!("/v1/events/{id}/replay"),
            &json!({"endpoint_id": theirs}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = acme
        .post(
            &format!("/v1/events/{id}/replay"),
            &json!({"endpoint_id": theirs}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "endpoint_id");
}
in_both_modes!(
    types_filter_and_tenants_stay_apart,
    types_filter_and_tenants_stay_apart
);

/// A worker killed while the app is still answering: the delivery is made again after the
/// lease, with the same `webhook-id`, by the worker that takes over.
async fn a_killed_worker_s_delivery_is_made_again(mode: Mode) {
    let app = Receiver::start().await;
    let mut stack = stack(mode)
        .env("LONGSHORE_EVENT_TIMEOUT_SECS", "2")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    endpoint(&client, &app.url("/slow-first/60000"), json!([])).await;
    dead_job(&client).await;
    let first = wait_received(&app, "/slow-first/60000", 1).await;
    stack.workers[0].kill();
    stack.spawn_worker();
    let both = wait_received(&app, "/slow-first/60000", 2).await;
    assert_eq!(both[0].header("webhook-id"), both[1].header("webhook-id"));
    assert_eq!(first[0].body, both[1].body);
}
in_both_modes!(
    a_killed_worker_s_delivery_is_made_again,
    a_killed_worker_s_delivery_is_made_again
);

async fn bad_endpoints_are_refused_naming_the_field(mode: Mode) {
    let stack = Stack::builder(mode).start().await;
    let client = stack.tenant("acme").await;
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "http://127.0.0.1:9/hook"}), "url"),
        (json!({"url": "http://169.254.169.254/latest"}), "url"),
        (
            json!({"url": "https://example.com/x", "event_types": ["email.nope"]}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/x", "event_types": ["nope.*"]}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/x", "max_concurrent": 0}),
            "max_concurrent",
        ),
        (
            json!({"url": "https://example.com/x", "rate_per_second": -1}),
            "rate_per_second",
        ),
    ] {
        let r = client.post("/v1/event-endpoints", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.text);
    }
    let r = client
        .post(
            "/v1/event-endpoints",
            &json!({"url": "https://example.com/x", "extra": 1}),
        )
        .await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text);
    assert_eq!(client.get("/v1/events/msg_nope").await.status, 404);
    assert_eq!(client.get("/v1/event-endpoints/ep_nope").await.status, 404);
    let r = client.get("/v1/events?type=email.nope").await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = client.get("/v1/events?cursor=bogus").await;
    assert_eq!(r.status, 422, "{}", r.text);
}
in_both_modes!(
    bad_endpoints_are_refused_naming_the_field,
    bad_endpoints_are_refused_naming_the_field
);

/// An endpoint's rate limit spaces its deliveries out: 16 events at 4 per second (a burst of 4)
/// take at least three seconds to arrive, all of them.
async fn a_rate_limit_spaces_deliveries_out(mode: Mode) {
    let app = Receiver::start().await;
    let stack = stack(mode).start().await;
    let client = stack.tenant("acme").await;
    let r = client
        .post(
            "/v1/event-endpoints",
            &json!({"url": app.url("/ok"), "rate_per_second": 4}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for _ in 0..16 {
        client
            .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1, "fail_times": 5}, "max_attempts": 1}))
            .await;
    }
    let got = wait_received(&app, "/ok", 16).await;
    let span = got[15].at - got[0].at;
    assert!(
        span >= Duration::from_millis(2_700),
        "16 events in {span:?}"
    );
    let mut ids: Vec<_> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16, "each once");
}
in_both_modes!(
    a_rate_limit_spaces_deliveries_out,
    a_rate_limit_spaces_deliveries_out
);
