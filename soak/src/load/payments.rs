//! Payments and the gateway's signed webhooks about them (Standard Webhooks): a payment is
//! created through the API, then the gateway reports its success and sometimes one or two
//! refunds, sometimes a refund before the success it follows (out of order), and sometimes an
//! event twice (a gateway retry after a lost answer). Amounts are integer minor units; the
//! gateway retries every delivery until it gets a `200`, as real gateways do.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use reqwest::Method;
use serde_json::json;

use super::{Ctx, SUBMIT_DEADLINE};
use crate::api::{Api, Created};
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
        }
    }
}

/// The fake payment gateway: signs and delivers events to the tenant's endpoint.
#[derive(Clone)]
pub struct Gateway {
    api: Api,
    path: String,
    secret: String,
}

impl Gateway {
    pub fn new(base: &str, endpoint_id: &str, secret: &str) -> Gateway {
        Gateway {
            api: Api::new(base, None).expect("an HTTP client"),
            path: format!("/hooks/{endpoint_id}"),
            secret: secret.to_owned(),
        }
    }

    /// Delivers `event` until it is answered `200`, signing each attempt afresh; records the
    /// answer (new or duplicate, and the inbox id) on it.
    async fn deliver(&self, payment: &str, created: i64, event: &mut GatewayEvent) -> bool {
        let at = chrono::DateTime::from_timestamp(created, 0)
            .unwrap_or_default()
            .to_rfc3339();
        let body = json!({"type": event.kind, "created_at": at,
            "data": {"payment_id": payment, "amount": event.amount, "currency": "EUR"}})
        .to_string();
        let deadline = tokio::time::Instant::now() + DELIVERY_DEADLINE;
        while tokio::time::Instant::now() < deadline {
            let t = Utc::now().timestamp();
            let signature = longshore_tests::gateway::standard_signature(
                &self.secret,
                &event.id,
                t,
                body.as_bytes(),
            );
            let headers = [
                ("webhook-id", event.id.clone()),
                ("webhook-timestamp", t.to_string()),
                ("webhook-signature", signature),
            ];
            let value = serde_json::from_str(&body).unwrap_or_default();
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
pub async fn run(ctx: Ctx, gateway: Gateway, n: u64, s: Scenario) {
    let body = json!({"amount": s.amount, "currency": "EUR", "reference": format!("soak-{n}")});
    let payment = match ctx
        .api
        .create(
            Method::POST,
            "/v1/payments",
            &body,
            &format!("payment-{n}"),
            SUBMIT_DEADLINE,
        )
        .await
    {
        Created::Accepted(p) => p["id"].as_str().unwrap_or_default().to_owned(),
        Created::Refused(a) => {
            return ctx
                .ledger
                .refused("webhooks", format!("payment-{n}: {} {}", a.status, a.text));
        }
        Created::GaveUp(last) => {
            return ctx
                .ledger
                .gave_up("webhooks", &format!("payment-{n}"), &last);
        }
    };
    let mut events = vec![event(n, 0, "payment.succeeded", s.amount)];
    for (i, amount) in s.refunds.iter().enumerate() {
        events.push(event(n, i + 1, "refund.succeeded", *amount));
    }
    // Creation times follow the story (success, then refunds), whatever the delivery order.
    let created = Utc::now().timestamp() - 60;
    let mut order: Vec<usize> = (0..events.len()).collect();
    if s.refund_first {
        order.swap(0, 1);
    }
    for i in order {
        let at = created + i as i64;
        if !gateway.deliver(&payment, at, &mut events[i]).await {
            let id = events[i].id.clone();
            ctx.ledger
                .gave_up("webhooks", &id, "the gateway never got a 200");
        }
        if s.resend == Some(i) {
            events[i].resent = true;
            gateway.deliver(&payment, at, &mut events[i]).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ctx.ledger.lock().payments.push(Payment {
        id: payment,
        events,
        out_of_order: s.refund_first,
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
