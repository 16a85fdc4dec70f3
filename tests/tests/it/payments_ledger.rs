//! Payouts and expenses, replaying a failed event, and tenant isolation, over the real binaries.

use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Mode, Stack};
use serde_json::json;

use crate::in_both_modes;
use crate::payments::{apply, get_payment};
use crate::webhooks::{about, payment, wait_event};

async fn replay_and_ledger(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let gw = Gateway::create(&client, &stack.base_url(), "standard").await;
    let t = now_secs();
    // An event for a payment that does not exist yet fails; replayed once it exists, it applies.
    let early = apply(
        &client,
        &gw,
        "early",
        "payment.succeeded",
        t,
        json!({"reference": "late-order"}),
        "failed",
    )
    .await;
    let r = client
        .post(
            "/v1/payments",
            &json!({"amount": 500, "currency": "JPY", "reference": "late-order"}),
        )
        .await;
    let pay = r.body["id"].as_str().unwrap().to_owned();
    let id = early["id"].as_str().unwrap();
    assert_eq!(
        client
            .post_empty(&format!("/v1/webhook-events/{id}/replay"))
            .await
            .status,
        202
    );
    wait_event(&client, id, "processed").await;
    assert_eq!(get_payment(&client, &pay).await["status"], "succeeded");
    let again = client
        .post_empty(&format!("/v1/webhook-events/{id}/replay"))
        .await;
    assert_eq!(
        again.status, 409,
        "a processed event is never applied twice: {}",
        again.text
    );
    let failed = client.get("/v1/webhook-events?status=failed").await.body;
    assert_eq!(failed["data"].as_array().map(Vec::len), Some(0));
    // Payouts (newest event wins) and expenses (recorded once).
    apply(
        &client,
        &gw,
        "po1",
        "payout.paid",
        t,
        json!({"payout_id": "po_9", "amount": 5000, "currency": "EUR"}),
        "processed",
    )
    .await;
    apply(
        &client,
        &gw,
        "po2",
        "payout.failed",
        t - 10,
        json!({"payout_id": "po_9", "amount": 5000, "currency": "EUR"}),
        "ignored",
    )
    .await;
    let payouts = client.get("/v1/payouts").await.body;
    assert_eq!(
        (
            payouts["data"][0]["status"].as_str(),
            payouts["data"][0]["external_id"].as_str()
        ),
        (Some("paid"), Some("po_9"))
    );
    let exp = json!({"expense_id": "fee_1", "amount": 30, "currency": "EUR", "category": "fees"});
    apply(
        &client,
        &gw,
        "ex1",
        "expense.recorded",
        t,
        exp.clone(),
        "processed",
    )
    .await;
    apply(&client, &gw, "ex2", "expense.recorded", t, exp, "ignored").await;
    let expenses = client.get("/v1/expenses?category=fees").await.body;
    assert_eq!(
        expenses["data"].as_array().map(Vec::len),
        Some(1),
        "{expenses}"
    );
    let pid = payouts["data"][0]["id"].as_str().unwrap();
    assert_eq!(client.get(&format!("/v1/payouts/{pid}")).await.status, 200);
}
in_both_modes!(
    failed_events_replay_and_payouts_and_expenses_are_recorded,
    replay_and_ledger
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_never_see_or_touch_each_other() {
    let stack = Stack::start(Mode::Production).await;
    let acme = stack.tenant("acme").await;
    let other = stack.tenant("other").await;
    let gw = Gateway::create(&acme, &stack.base_url(), "stripe").await;
    let theirs = payment(&other, 800, None).await;
    // Acme's endpoint naming another tenant's payment finds nothing: no effect on it.
    let event = apply(
        &acme,
        &gw,
        "evt_x",
        "payment_intent.succeeded",
        now_secs(),
        about(&gw, &theirs, json!({})),
        "failed",
    )
    .await;
    assert_eq!(get_payment(&other, &theirs).await["status"], "pending");
    let ours = payment(&acme, 100, None).await;
    let eid = event["id"].as_str().unwrap();
    for path in [
        format!("/v1/payments/{ours}"),
        format!("/v1/webhook-events/{eid}"),
        format!("/v1/webhook-endpoints/{}", gw.endpoint_id),
        format!("/v1/jobs/job_{eid}"),
    ] {
        let r = other.get(&path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    assert_eq!(
        other
            .post_empty(&format!("/v1/webhook-events/{eid}/replay"))
            .await
            .status,
        404
    );
    let rotate = other
        .post(
            &format!("/v1/webhook-endpoints/{}/rotate-secret", gw.endpoint_id),
            &json!({}),
        )
        .await;
    assert_eq!(rotate.status, 404);
    for list in [
        "/v1/payments",
        "/v1/webhook-events",
        "/v1/webhook-endpoints",
    ] {
        let body = other.get(list).await.body;
        let n = body["data"].as_array().map(Vec::len);
        assert_eq!(
            n,
            Some(if list == "/v1/payments" { 1 } else { 0 }),
            "{list}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_payment_and_webhook_routes() {
    let stack = Stack::start(Mode::Embedded).await;
    let spec = stack.anonymous().get("/openapi.json").await.body;
    for (path, method) in [
        ("/v1/payments", "post"),
        ("/v1/payments", "get"),
        ("/v1/payments/{id}", "get"),
        ("/v1/payouts", "get"),
        ("/v1/expenses", "get"),
        ("/v1/webhook-endpoints", "post"),
        ("/v1/webhook-endpoints/{id}/rotate-secret", "post"),
        ("/v1/webhook-events", "get"),
        ("/v1/webhook-events/{id}/replay", "post"),
    ] {
        let op = &spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["security"].as_array().is_some_and(|s| !s.is_empty()),
            "{method} {path} has no security"
        );
        for status in ["401", "422", "503"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} does not document {status}"
            );
        }
    }
    let hook = &spec["paths"]["/hooks/{endpoint_id}"]["post"];
    assert!(hook.is_object(), "the intake route is documented");
    assert!(
        hook["security"].is_null(),
        "intake is public: the signature authenticates"
    );
    assert!(hook["responses"]["400"].is_object() && hook["responses"]["200"].is_object());
}
