//! Payments and the gateways' signed webhooks about them: a payment is created through the API,
//! then its gateway reports its success and sometimes one or two refunds, sometimes a refund
//! before the success it follows (out of order), and sometimes an event twice (a gateway retry
//! after a lost answer). About half the payments go through a Standard Webhooks gateway
//! (`webhook-id`/`webhook-signature`, `payment.succeeded`, `refund.succeeded` with this refund's
//! amount), the others through a Stripe one (`Stripe-Signature: t=…,v1=…`, the event id in the
//! body, `payment_intent.succeeded`, `charge.refunded` with the cumulative `amount_refunded`).
//! Amounts are integer minor units; a gateway retries every delivery until it gets a `200`, as
//! real gateways do.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use reqwest::Method;
use serde_json::json;

use super::Ctx;
use crate::api::Api;
use crate::ledger::{GatewayEvent, Payment};

/// How long a gateway keeps retrying one delivery here (real ones retry for days).
const DELIVERY_DEADLINE: Duration = Duration::from_secs(120);

/// What happens to one payment.
#[derive(Debug, Clone)]
pub struct Scenario {
    amount: i64,
    /// Refund amounts, in the order they happened.
    refunds: Vec<i64>,
    /// Deliver the first refund before the success.
    refund_first: bool,
    /// Deliver this event (index into success + refunds) a second time once accepted.
    resend: Option<usize>,
    /// Through the Stripe gateway (else the Standard Webhooks one).
    stripe: bool,
}

impl Scenario {
    pub fn pick(rng: &mut impl Rng) -> Scenario {
        let amount = rng.random_range(100..=250_000);
        let mut refunds = Vec::new();
        if rng.random_bool(0.4) {
            refunds.push(rng.random_range(1..=amount / 2));
            if rng.random_bool(0.3) {
                refunds.push(rng.random_range(1..=amount / 4));
            }
        }
        let refund_first = !refunds.is_empty() && rng.random_bool(0.4);
        let resend = rng
            .random_bool(0.3)
            .then(|| rng.random_range(0..=refunds.len()));
        Scenario {
            amount,
            refunds,
            refund_first,
            resend,
            stripe: rng.random_bool(0.5),
        }
    }
}

/// Which signing scheme and event shapes a gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Standard,
    Stripe,
}

/// A fake payment gateway: signs and delivers events to the tenant's endpoint.
#[derive(Clone)]
pub struct Gateway {
    api: Api,
    path: String,
    secret: String,
    provider: Provider,
}

/// The two gateways a payment can go through.
#[derive(Clone)]
pub struct Gateways {
    pub standard: Gateway,
    pub stripe: Gateway,
}

impl Gateway {
    pub fn new(base: &str, endpoint_id: &str, secret: &str, provider: Provider) -> Gateway {
        Gateway {
            api: Api::new(base, None).expect("an HTTP client"),
            path: format!("/hooks/{endpoint_id}"),
            secret: secret.to_owned(),
            provider,
        }
    }

    /// The event's body in the gateway's format. `refunded` is the payment's refunded total
    /// once this event happened (Stripe's `charge.refunded` carries the total, not the refund).
    fn body(&self, payment: &str, created: i64, event: &GatewayEvent, refunded: i64) -> String {
        match self.provider {
            Provider::Standard => {
                let at = chrono::DateTime::from_timestamp(created, 0)
                    .unwrap_or_default()
                    .to_rfc3339();
                json!({"type": event.kind, "created_at": at,
                    "data": {"payment_id": payment, "amount": event.amount, "currency": "EUR"}})
            }
            Provider::Stripe => {
                let object = match event.kind {
                    "payment_intent.succeeded" => json!({
                        "id": format!("pi_{payment}"), "object": "payment_intent",
                        "amount": event.amount, "amount_received": event.amount,
                        "currency": "eur", "status": "succeeded",
                        "metadata": {"longshore_payment_id": payment}}),
                    _ => json!({
                        "id": format!("ch_{payment}"), "object": "charge",
                        "amount_refunded": refunded, "currency": "eur", "refunded": false,
                        "metadata": {"longshore_payment_id": payment}}),
                };
                json!({"id": event.id, "object": "event", "type": event.kind,
                    "created": created, "livemode": false, "data": {"object": object}})
            }
        }
        .to_string()
    }

    /// The signature headers of `body`, signed at `t`.
    fn headers(&self, event: &GatewayEvent, t: i64, body: &str) -> Vec<(&'static str, String)> {
        use longshore_tests::gateway::{standard_signature, stripe_signature};
        match self.provider {
            Provider::Standard => vec![
                ("webhook-id", event.id.clone()),
                ("webhook-timestamp", t.to_string()),
                (
                    "webhook-signature",
                    standard_signature(&self.secret, &event.id, t, body.as_bytes()),
                ),
            ],
            Provider::Stripe => vec![(
                "stripe-signature",
                stripe_signature(&self.secret, t, body.as_bytes()),
            )],
        }
    }

    /// Delivers `event` until it is answered `200`, signing each attempt afresh; records the
    /// answer (new or duplicate, and the inbox id) on it.
    async fn deliver(
        &self,
        payment: &str,
        created: i64,
        refunded: i64,
        event: &mut GatewayEvent,
    ) -> bool {
        let body = self.body(payment, created, event, refunded);
        // The client sends the value's serialisation, which is `body` (serde_json keeps the
        // keys sorted both ways): the signature is over the bytes sent.
        let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        debug_assert_eq!(value.to_string(), body);
        let deadline = tokio::time::Instant::now() + DELIVERY_DEADLINE;
        while tokio::time::Instant::now() < deadline {
            let headers = self.headers(event, Utc::now().timestamp(), &body);
            if let Ok(a) = self
                .api
                .call(Method::POST, &self.path, Some(&value), &headers)
                .await
                && a.status == 200
            {
                if a.body["duplicate"] == true {
                    event.duplicate_answers += 1;
                } else {
                    event.fresh_answers += 1;
                }
                if event.inbox_id.is_none() {
                    event.inbox_id = a.body["id"].as_str().map(str::to_owned);
                }
                return true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    }
}

/// Runs payment `n`'s scenario and records it.
pub async fn run(ctx: Ctx, gateways: Gateways, n: u64, s: Scenario) {
    let body = json!({"amount": s.amount, "currency": "EUR", "reference": format!("soak-{n}")});
    let Some(payment) = ctx
        .create("webhooks", "/v1/payments", &body, &format!("payment-{n}"))
        .await
    else {
        return;
    };
    let (gateway, provider, success, refund) = if s.stripe {
        (
            &gateways.stripe,
            "stripe",
            "payment_intent.succeeded",
            "charge.refunded",
        )
    } else {
        (
            &gateways.standard,
            "standard",
            "payment.succeeded",
            "refund.succeeded",
        )
    };
    let mut events = vec![event(n, 0, success, s.amount)];
    for (i, amount) in s.refunds.iter().enumerate() {
        events.push(event(n, i + 1, refund, *amount));
    }
    // The refunded total once each event happened (the success: none yet).
    let totals: Vec<i64> = std::iter::once(0)
        .chain(s.refunds.iter().scan(0, |sum, r| {
            *sum += r;
            Some(*sum)
        }))
        .collect();
    // Creation times follow the story (success, then refunds), whatever the delivery order.
    let created = Utc::now().timestamp() - 60;
    let mut order: Vec<usize> = (0..events.len()).collect();
    if s.refund_first {
        order.swap(0, 1);
    }
    for i in order {
        let at = created + i as i64;
        if !gateway
            .deliver(&payment, at, totals[i], &mut events[i])
            .await
        {
            let id = events[i].id.clone();
            ctx.ledger
                .gave_up("webhooks", &id, "the gateway never got a 200");
        }
        if s.resend == Some(i) {
            events[i].resent = true;
            gateway
                .deliver(&payment, at, totals[i], &mut events[i])
                .await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ctx.ledger.lock().payments.push(Payment {
        id: payment,
        events,
        out_of_order: s.refund_first,
        provider,
    });
}

fn event(n: u64, i: usize, kind: &'static str, amount: i64) -> GatewayEvent {
    GatewayEvent {
        id: format!("evt-soak-{n}-{i}"),
        kind,
        amount,
        inbox_id: None,
        fresh_answers: 0,
        duplicate_answers: 0,
        resent: false,
    }
}
