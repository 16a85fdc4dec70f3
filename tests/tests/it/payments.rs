//! The payment lifecycle over the real binaries: validation, out-of-order events, refunds bounded
//! by the capture, payouts and expenses, replay, and tenant isolation.

use longshore_tests::gateway::{Gateway, now_secs};
use longshore_tests::{Client, Mode, Stack};
use serde_json::{Value, json};

use crate::in_both_modes;
use crate::webhooks::{about, deliver, payment, succeeded_type, wait_event};

pub async fn get_payment(client: &Client, id: &str) -> Value {
    let r = client.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// Delivers an event, waits until it is handled with `status`, and returns the inbox row.
pub async fn apply(
    client: &Client,
    gw: &Gateway,
    id: &str,
    event_type: &str,
    at: i64,
    data: Value,
    status: &str,
) -> Value {
    let body = gw.event(id, event_type, at, data);
    let inbox = deliver(gw, id, &body).await;
    wait_event(client, &inbox, status).await
}

fn refund_type(gw: &Gateway) -> &'static str {
    if gw.provider == "stripe" {
        "charge.refunded"
    } else {
        "refund.succeeded"
    }
}

/// A refund event: Stripe states the cumulative total, Standard Webhooks this refund's amount.
fn refund(gw: &Gateway, pay: &str, this: i64, total: i64) -> Value {
    if gw.provider == "stripe" {
        about(
            gw,
            pay,
            json!({"object": "charge", "amount_refunded": total}),
        )
    } else {
        about(gw, pay, json!({"amount": this}))
    }
}

async fn validation(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    for (body, field) in [
        (
            json!({"amount": 0, "currency": "EUR", "reference": "r"}),
            "amount",
        ),
        (
            json!({"amount": 10.5, "currency": "EUR", "reference": "r"}),
            "amount",
        ),
        (
            json!({"amount": "100", "currency": "EUR", "reference": "r"}),
            "amount",
        ),
        (
            json!({"amount": 100, "currency": "EURO", "reference": "r"}),
            "currency",
        ),
        (
            json!({"amount": 100, "currency": "XXX", "reference": "r"}),
            "currency",
        ),
        (
            json!({"amount": 100, "currency": "EUR", "reference": ""}),
            "reference",
        ),
        (
            json!({"amount": 100, "currency": "EUR", "reference": "r", "customer_email": "nope"}),
            "customer_email",
        ),
    ] {
        let r = client.post("/v1/payments", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let first = payment(&client, 1050, None).await;
    let second = payment(&client, 99, Some("bo@example.com")).await;
    let p = get_payment(&client, &first).await;
    assert_eq!(
        (
            p["status"].as_str(),
            p["amount"].as_i64(),
            p["currency"].as_str()
        ),
        (Some("pending"), Some(1050), Some("EUR"))
    );
    let page = client.get("/v1/payments?limit=1").await.body;
    assert_eq!(page["data"][0]["id"], second.as_str(), "newest first");
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = client
        .get(&format!("/v1/payments?limit=1&cursor={cursor}"))
        .await
        .body;
    assert_eq!(next["data"][0]["id"], first.as_str());
    assert_eq!(next["has_more"], false);
    let pending = client.get("/v1/payments?status=succeeded").await.body;
    assert_eq!(pending["data"].as_array().map(Vec::len), Some(0));
    assert_eq!(client.get("/v1/payments?status=bogus").await.status, 422);
    assert_eq!(
        client
            .get("/v1/payments/pay_01HZZZZZZZZZZZZZZZZZZZZZZZ")
            .await
            .status,
        404
    );
}
in_both_modes!(payments_are_validated_created_and_listed, validation);

async fn out_of_order(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let t = now_secs() - 100;
    for provider in ["stripe", "standard"] {
        let gw = Gateway::create(&client, &stack.base_url(), provider).await;
        let (pending, failed) = if provider == "stripe" {
            ("payment_intent.processing", "payment_intent.payment_failed")
        } else {
            ("payment.pending", "payment.failed")
        };
        // Succeeded before pending, and a failure from before the success arriving late.
        let a = payment(&client, 1000, None).await;
        apply(
            &client,
            &gw,
            "a-ok",
            succeeded_type(&gw),
            t + 20,
            about(&gw, &a, json!({})),
            "processed",
        )
        .await;
        apply(
            &client,
            &gw,
            "a-pending",
            pending,
            t + 10,
            about(&gw, &a, json!({})),
            "ignored",
        )
        .await;
        apply(
            &client,
            &gw,
            "a-failed",
            failed,
            t + 5,
            about(&gw, &a, json!({})),
            "ignored",
        )
        .await;
        let p = get_payment(&client, &a).await;
        assert_eq!(p["status"], "succeeded", "{p}");
        let outcomes: Vec<_> = p["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["applied", "ignored", "ignored"], "{p}");
        // A refund before its payment succeeded is parked, then applied with the success.
        let b = payment(&client, 1000, None).await;
        let parked = apply(
            &client,
            &gw,
            "b-refund",
            refund_type(&gw),
            t + 30,
            refund(&gw, &b, 300, 300),
            "deferred",
        )
        .await;
        assert_eq!(get_payment(&client, &b).await["status"], "pending");
        apply(
            &client,
            &gw,
            "b-ok",
            succeeded_type(&gw),
            t + 20,
            about(&gw, &b, json!({})),
            "processed",
        )
        .await;
        wait_event(&client, parked["id"].as_str().unwrap(), "processed").await;
        let p = get_payment(&client, &b).await;
        assert_eq!(
            (p["status"].as_str(), p["amount_refunded"].as_i64()),
            (Some("partially_refunded"), Some(300)),
            "{p}"
        );
        let outcomes: Vec<_> = p["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["deferred", "applied", "applied"], "{p}");
    }
}
in_both_modes!(events_out_of_order_end_in_the_right_state, out_of_order);

async fn over_refund(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let t = now_secs() - 100;
    for provider in ["stripe", "standard"] {
        let gw = Gateway::create(&client, &stack.base_url(), provider).await;
        let pay = payment(&client, 1000, None).await;
        apply(
            &client,
            &gw,
            "ok",
            succeeded_type(&gw),
            t,
            about(&gw, &pay, json!({})),
            "processed",
        )
        .await;
        apply(
            &client,
            &gw,
            "r1",
            refund_type(&gw),
            t + 1,
            refund(&gw, &pay, 600, 600),
            "processed",
        )
        .await;
        let refused = apply(
            &client,
            &gw,
            "r2",
            refund_type(&gw),
            t + 2,
            refund(&gw, &pay, 500, 1100),
            "ignored",
        )
        .await;
        assert!(
            refused["reason"]
                .as_str()
                .unwrap()
                .contains("above the captured"),
            "{refused}"
        );
        let p = get_payment(&client, &pay).await;
        assert_eq!(
            (p["status"].as_str(), p["amount_refunded"].as_i64()),
            (Some("partially_refunded"), Some(600)),
            "{p}"
        );
        let last = &p["history"][2];
        assert_eq!(
            (last["outcome"].as_str(), last["amount"].as_i64()),
            (
                Some("ignored"),
                Some(if provider == "stripe" { 1100 } else { 500 })
            )
        );
        // Replaying the refused refund is allowed (it had no effect) and is refused again.
        let id = refused["id"].as_str().unwrap();
        assert_eq!(
            client
                .post_empty(&format!("/v1/webhook-events/{id}/replay"))
                .await
                .status,
            202
        );
        wait_event(&client, id, "ignored").await;
        assert_eq!(get_payment(&client, &pay).await["amount_refunded"], 600);
        apply(
            &client,
            &gw,
            "r3",
            refund_type(&gw),
            t + 3,
            refund(&gw, &pay, 400, 1000),
            "processed",
        )
        .await;
        assert_eq!(get_payment(&client, &pay).await["status"], "refunded");
    }
}
in_both_modes!(
    refunds_above_the_capture_are_refused_and_recorded,
    over_refund
);
