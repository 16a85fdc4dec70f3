use serde_json::json;

use super::*;

#[test]
fn stripe_payment_intents_find_their_payment_by_metadata() {
    let body = json!({"id": "evt_1", "type": "payment_intent.succeeded", "created": 1_700_000_000,
        "data": {"object": {"amount": 1000, "amount_received": 900, "currency": "eur",
            "metadata": {"longshore_payment_id": "pay_X"}}}});
    let h = head(Provider::Stripe, body.to_string().as_bytes()).unwrap();
    assert_eq!(h.occurred_at, Some(1_700_000_000_000));
    assert_eq!(h.event_id.as_deref(), Some("evt_1"));
    let e = normalize(Provider::Stripe, &h.event_type, &body).unwrap();
    assert_eq!(
        e,
        GatewayEvent::Payment {
            target: PaymentRef::Id("pay_X".into()),
            event: PaymentEvent::Succeeded {
                amount: Some(900),
                currency: Some("EUR".parse().unwrap())
            },
        }
    );
    let by_ref = json!({"type": "charge.refunded", "data": {"object": {"amount_refunded": 300,
        "currency": "eur", "metadata": {"reference": "order-7"}}}});
    let e = normalize(Provider::Stripe, "charge.refunded", &by_ref).unwrap();
    let GatewayEvent::Payment { target, event } = e else {
        panic!()
    };
    assert_eq!(target, PaymentRef::Reference("order-7".into()));
    assert!(matches!(
        event,
        PaymentEvent::Refunded {
            amount: 300,
            basis: RefundBasis::Total,
            ..
        }
    ));
}

#[test]
fn standard_events_of_every_kind_normalise() {
    let refund = json!({"type": "refund.succeeded", "created_at": "2024-01-01T00:00:00Z",
        "data": {"payment_id": "pay_X", "amount": 250}});
    let h = head(Provider::Standard, refund.to_string().as_bytes()).unwrap();
    assert_eq!(h.occurred_at, Some(1_704_067_200_000));
    assert!(matches!(
        normalize(Provider::Standard, "refund.succeeded", &refund).unwrap(),
        GatewayEvent::Payment {
            event: PaymentEvent::Refunded {
                amount: 250,
                basis: RefundBasis::Increment,
                ..
            },
            ..
        }
    ));
    let ipn = json!({"data": {"reference": "r1", "status": "failed", "reason": "card declined"}});
    assert!(matches!(
        normalize(Provider::Standard, "payment.instant_notification", &ipn).unwrap(),
        GatewayEvent::Payment {
            event: PaymentEvent::Failed { .. },
            ..
        }
    ));
    let payout = json!({"data": {"payout_id": "po_9", "amount": 5000, "currency": "USD"}});
    let GatewayEvent::Payout(p) = normalize(Provider::Standard, "payout.paid", &payout).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (p.external_id.as_str(), p.status.as_str(), p.amount),
        ("po_9", "paid", 5000)
    );
    let expense = json!({"data": {"expense_id": "fee_1", "amount": 30, "currency": "EUR", "category": "fees"}});
    assert!(matches!(
        normalize(Provider::Standard, "expense.recorded", &expense).unwrap(),
        GatewayEvent::Expense(_)
    ));
}

#[test]
fn unknown_types_and_unreadable_events_are_told_apart() {
    let body = json!({"type": "customer.created", "data": {}});
    assert_eq!(
        normalize(Provider::Stripe, "customer.created", &body).unwrap(),
        GatewayEvent::Unknown("customer.created".into())
    );
    let no_target = json!({"data": {"amount": 5}});
    assert!(normalize(Provider::Standard, "payment.succeeded", &no_target).is_err());
    let bad_currency = json!({"data": {"payment_id": "pay_X", "amount": 5, "currency": "ZZZ"}});
    assert!(normalize(Provider::Standard, "refund.succeeded", &bad_currency).is_err());
    assert!(head(Provider::Stripe, br#"{"id": "evt"}"#).is_err());
    assert!(head(Provider::Stripe, b"not json").is_err());
}

#[test]
fn parsing_only_the_read_fields_gives_what_the_whole_document_gives() {
    let cases = [
        (
            Provider::Stripe,
            "payment_intent.succeeded",
            json!({"id": "evt_1", "object": "event",
            "request": {"id": "req_1", "idempotency_key": null}, "livemode": false,
            "data": {"object": {"id": "pi_1", "amount": 1000, "amount_received": 900,
                "currency": "eur", "shipping": {"address": {"city": "Zoë", "line2": null}},
                "payment_method_types": ["card"], "metadata": {"longshore_payment_id": "pay_X", "cart": "c1"}}}}),
        ),
        (
            Provider::Stripe,
            "payment_intent.payment_failed",
            json!({"data": {"object": {
            "last_payment_error": {"message": "card declined", "code": "x"},
            "metadata": {"reference": "order-1"}}}}),
        ),
        (
            Provider::Stripe,
            "charge.refunded",
            json!({"data": {"object": {"amount_refunded": 300,
            "currency": "eur", "metadata": {"reference": "order-7"}}}}),
        ),
        (
            Provider::Stripe,
            "payout.failed",
            json!({"data": {"object": {"id": "po_1", "amount": 70,
            "currency": "usd", "failure_message": "closed account"}}}),
        ),
        (
            Provider::Stripe,
            "payment_intent.succeeded",
            json!({"data": {"object": {"amount": 5}}}),
        ),
        (
            Provider::Standard,
            "refund.succeeded",
            json!({"data": {"payment_id": "pay_X", "amount": 250, "extra": [1, 2]}}),
        ),
        (
            Provider::Standard,
            "payment.instant_notification",
            json!({"data": {"reference": "r1",
            "status": "failed", "reason": "card declined"}}),
        ),
        (
            Provider::Standard,
            "payout.paid",
            json!({"data": {"payout_id": "po_9", "amount": 5000, "currency": "USD"}}),
        ),
        (
            Provider::Standard,
            "expense.recorded",
            json!({"data": {"expense_id": "fee_1", "amount": 30,
            "currency": "EUR", "category": "fees", "description": "bank fee"}}),
        ),
        (
            Provider::Standard,
            "refund.succeeded",
            json!({"data": {"payment_id": "pay_X", "amount": "5"}}),
        ),
        (
            Provider::Standard,
            "payment.succeeded",
            json!({"data": {"payment_id": "pay_X", "currency": "ZZZ"}}),
        ),
        (Provider::Standard, "customer.created", json!({"data": 5})),
    ];
    for (provider, kind, body) in cases {
        assert_eq!(
            parse(provider, kind, &body.to_string()),
            normalize(provider, kind, &body),
            "{kind}: {body}"
        );
    }
}

#[test]
fn a_nul_character_anywhere_makes_the_event_unreadable() {
    let body =
        br#"{"id": "evt_1", "type": "payment.succeeded", "data": {"reference": "a\u0000b"}}"#;
    let e = head(Provider::Standard, body).unwrap_err();
    assert!(e.0.contains("data.reference"), "{e}");
    let body = br#"{"id": "evt_\u0000", "type": "payment_intent.succeeded"}"#;
    assert!(head(Provider::Stripe, body).is_err());
    // An escaped backslash followed by `u0000` is ordinary text.
    let body =
        br#"{"id": "evt_1", "type": "payment.succeeded", "data": {"reference": "a\\u0000b"}}"#;
    assert!(head(Provider::Standard, body).is_ok());
}
