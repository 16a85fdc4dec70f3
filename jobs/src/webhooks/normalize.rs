//! Turns a provider's event body into one typed internal event, so the rest of Longshore never
//! sees a provider's JSON.
//!
//! Stripe: `payment_intent.succeeded` / `.payment_failed` / `.processing` / `.canceled`,
//! `charge.refunded` (cumulative `amount_refunded`), `payout.paid` / `.failed`; the payment is
//! found through `data.object.metadata.longshore_payment_id` or `…metadata.reference`.
//! Standard Webhooks: `payment.succeeded` / `.failed` / `.pending` / `.cancelled`,
//! `refund.succeeded` (this refund's `amount`), `payout.paid` / `.failed`, `expense.recorded`,
//! `payment.instant_notification` (`data.status` says which); the payment is found through
//! `data.payment_id` or `data.reference`.

use chrono::DateTime;
use serde_json::Value;

use super::Provider;
use crate::payments::expenses::ExpenseEvent;
use crate::payments::machine::{PaymentEvent, RefundBasis};
use crate::payments::money::Currency;
use crate::payments::payouts::{PayoutEvent, PayoutStatus};
use crate::payments::repo::PaymentRef;

/// Event types Longshore acts on; anything else is stored and marked `ignored`.
pub fn is_known(provider: Provider, event_type: &str) -> bool {
    match provider {
        Provider::Stripe => matches!(
            event_type,
            "payment_intent.succeeded"
                | "payment_intent.payment_failed"
                | "payment_intent.processing"
                | "payment_intent.canceled"
                | "charge.refunded"
                | "payout.paid"
                | "payout.failed"
        ),
        Provider::Standard => matches!(
            event_type,
            "payment.succeeded"
                | "payment.failed"
                | "payment.pending"
                | "payment.cancelled"
                | "refund.succeeded"
                | "payout.paid"
                | "payout.failed"
                | "expense.recorded"
                | "payment.instant_notification"
        ),
    }
}

/// A gateway event in Longshore's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEvent {
    /// Something happened to one payment.
    Payment {
        target: PaymentRef,
        event: PaymentEvent,
    },
    Payout(PayoutEvent),
    Expense(ExpenseEvent),
    /// A type Longshore does not act on.
    Unknown(String),
}

/// Why a signed event could not be understood (the inbox row is marked `failed` with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

fn bad(why: impl Into<String>) -> Unreadable {
    Unreadable(why.into())
}

/// What intake reads from a body: just enough to deduplicate and to order events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Stripe's `id` (Standard Webhooks carries it in the `webhook-id` header instead).
    pub event_id: Option<String>,
    pub event_type: String,
    /// The event's creation time at the gateway (epoch ms), when the body says.
    pub occurred_at: Option<i64>,
}

#[derive(serde::Deserialize)]
struct RawHead {
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    created: Option<i64>,
    created_at: Option<Value>,
}

/// Reads the [`Head`] of a raw body without building the whole document.
///
/// A body holding a NUL character in any string is refused here: PostgreSQL's text cannot store
/// one, so such an event could never be recorded or applied.
pub fn head(provider: Provider, body: &[u8]) -> Result<Head, Unreadable> {
    refuse_nul(body)?;
    let raw: RawHead = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not a JSON event: {e}")))?;
    let event_type = raw
        .event_type
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("the event has no `type`"))?;
    let occurred_at = match provider {
        Provider::Stripe => raw.created.map(|s| s.saturating_mul(1000)),
        Provider::Standard => match raw.created_at {
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.timestamp_millis()),
            Some(Value::Number(n)) => n.as_i64().map(|s| s.saturating_mul(1000)),
            _ => None,
        },
    };
    Ok(Head {
        event_id: raw.id,
        event_type,
        occurred_at,
    })
}

/// JSON can only carry a NUL as the escape `\u0000`, so bodies without that text (all real
/// events) are passed at the cost of one scan; the others are parsed to see where it is.
fn refuse_nul(body: &[u8]) -> Result<(), Unreadable> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(()); // not JSON: the caller says so
    };
    match crate::validation::refuse_nul(&value) {
        Ok(()) => Ok(()),
        Err(invalid) => Err(bad(format!(
            "the event holds a NUL character (\\u0000) in `{}`",
            invalid.0[0].field
        ))),
    }
}

/// Normalises a raw body whose type [`head`] read, reading only the fields [`normalize`] looks
/// at: the rest of the document (most of a 1-3 KB gateway event) is skipped without being
/// built, which made parsing the largest part of applying an event. (One difference from a
/// whole-document parse: a field that appears twice in the same object is refused.)
pub fn parse(provider: Provider, event_type: &str, body: &str) -> Result<GatewayEvent, Unreadable> {
    if !is_known(provider, event_type) {
        return Ok(GatewayEvent::Unknown(event_type.to_owned()));
    }
    let not_json = |e: serde_json::Error| bad(format!("the body is not JSON: {e}"));
    let body = match provider {
        Provider::Stripe => {
            let e: StripeEnvelope = serde_json::from_str(body).map_err(not_json)?;
            serde_json::json!({"data": {"object": e.data.object.into_value()}})
        }
        Provider::Standard => {
            let e: StandardEnvelope = serde_json::from_str(body).map_err(not_json)?;
            serde_json::json!({"data": e.data.into_value()})
        }
    };
    normalize(provider, event_type, &body)
}

/// Every field [`normalize`] reads from a Stripe `data.object` or a Standard Webhooks `data`;
/// absent ones stay `null`, as indexing a whole document would give.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Fields {
    amount: Value,
    amount_received: Value,
    amount_refunded: Value,
    category: Value,
    currency: Value,
    description: Value,
    expense_id: Value,
    failure_message: Value,
    failure_reason: Value,
    id: Value,
    last_payment_error: Value,
    metadata: Value,
    payment_id: Value,
    payout_id: Value,
    reason: Value,
    reference: Value,
    status: Value,
}

impl Fields {
    fn into_value(self) -> Value {
        let fields = [
            ("amount", self.amount),
            ("amount_received", self.amount_received),
            ("amount_refunded", self.amount_refunded),
            ("category", self.category),
            ("currency", self.currency),
            ("description", self.description),
            ("expense_id", self.expense_id),
            ("failure_message", self.failure_message),
            ("failure_reason", self.failure_reason),
            ("id", self.id),
            ("last_payment_error", self.last_payment_error),
            ("metadata", self.metadata),
            ("payment_id", self.payment_id),
            ("payout_id", self.payout_id),
            ("reason", self.reason),
            ("reference", self.reference),
            ("status", self.status),
        ];
        Value::Object(
            fields
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct StripeData {
    object: Fields,
}

#[derive(serde::Deserialize)]
struct StripeEnvelope {
    #[serde(default)]
    data: StripeData,
}

#[derive(serde::Deserialize)]
struct StandardEnvelope {
    #[serde(default)]
    data: Fields,
}

/// Normalises a parsed body whose type [`head`] read.
pub fn normalize(
    provider: Provider,
    event_type: &str,
    body: &Value,
) -> Result<GatewayEvent, Unreadable> {
    if !is_known(provider, event_type) {
        return Ok(GatewayEvent::Unknown(event_type.to_owned()));
    }
    match provider {
        Provider::Stripe => stripe(event_type, &body["data"]["object"]),
        Provider::Standard => standard(event_type, &body["data"]),
    }
}

fn stripe(event_type: &str, o: &Value) -> Result<GatewayEvent, Unreadable> {
    let payment = |event| -> Result<GatewayEvent, Unreadable> {
        let meta = &o["metadata"];
        let target = text(&meta["longshore_payment_id"])
            .map(PaymentRef::Id)
            .or_else(|| text(&meta["reference"]).map(PaymentRef::Reference))
            .ok_or_else(|| {
                bad("data.object.metadata has neither `longshore_payment_id` nor `reference`")
            })?;
        Ok(GatewayEvent::Payment { target, event })
    };
    match event_type {
        "payment_intent.succeeded" => payment(PaymentEvent::Succeeded {
            amount: o["amount_received"]
                .as_i64()
                .or_else(|| o["amount"].as_i64()),
            currency: currency(&o["currency"])?,
        }),
        "payment_intent.payment_failed" => payment(PaymentEvent::Failed {
            reason: text(&o["last_payment_error"]["message"]),
        }),
        "payment_intent.processing" => payment(PaymentEvent::Pending),
        "payment_intent.canceled" => payment(PaymentEvent::Cancelled),
        "charge.refunded" => payment(PaymentEvent::Refunded {
            amount: o["amount_refunded"]
                .as_i64()
                .ok_or_else(|| bad("charge.refunded without `amount_refunded`"))?,
            currency: currency(&o["currency"])?,
            basis: RefundBasis::Total,
        }),
        _ => payout(o, event_type, "id", "failure_message"),
    }
}

fn standard(event_type: &str, d: &Value) -> Result<GatewayEvent, Unreadable> {
    let payment = |event| -> Result<GatewayEvent, Unreadable> {
        let target = text(&d["payment_id"])
            .map(PaymentRef::Id)
            .or_else(|| text(&d["reference"]).map(PaymentRef::Reference))
            .ok_or_else(|| bad("data has neither `payment_id` nor `reference`"))?;
        Ok(GatewayEvent::Payment { target, event })
    };
    let succeeded = || -> Result<PaymentEvent, Unreadable> {
        Ok(PaymentEvent::Succeeded {
            amount: d["amount"].as_i64(),
            currency: currency(&d["currency"])?,
        })
    };
    match event_type {
        "payment.succeeded" => payment(succeeded()?),
        "payment.failed" => payment(PaymentEvent::Failed {
            reason: text(&d["reason"]),
        }),
        "payment.pending" => payment(PaymentEvent::Pending),
        "payment.cancelled" => payment(PaymentEvent::Cancelled),
        "payment.instant_notification" => match d["status"].as_str() {
            Some("succeeded") => payment(succeeded()?),
            Some("failed") => payment(PaymentEvent::Failed {
                reason: text(&d["reason"]),
            }),
            Some("pending") => payment(PaymentEvent::Pending),
            Some("cancelled") => payment(PaymentEvent::Cancelled),
            _ => Err(bad(
                "payment.instant_notification needs data.status: succeeded, failed, pending or cancelled",
            )),
        },
        "refund.succeeded" => payment(PaymentEvent::Refunded {
            amount: d["amount"]
                .as_i64()
                .ok_or_else(|| bad("refund.succeeded without data.amount"))?,
            currency: currency(&d["currency"])?,
            basis: RefundBasis::Increment,
        }),
        "expense.recorded" => Ok(GatewayEvent::Expense(ExpenseEvent {
            external_id: text(&d["expense_id"])
                .or_else(|| text(&d["id"]))
                .ok_or_else(|| bad("expense.recorded without data.expense_id"))?,
            amount: d["amount"]
                .as_i64()
                .ok_or_else(|| bad("expense.recorded without data.amount"))?,
            currency: currency(&d["currency"])?
                .ok_or_else(|| bad("expense.recorded without data.currency"))?,
            description: text(&d["description"]),
            category: text(&d["category"]),
        })),
        _ => {
            let id_field = if d["payout_id"].is_string() {
                "payout_id"
            } else {
                "id"
            };
            payout(d, event_type, id_field, "failure_reason")
        }
    }
}

fn payout(
    o: &Value,
    event_type: &str,
    id_field: &str,
    reason_field: &str,
) -> Result<GatewayEvent, Unreadable> {
    let status = if event_type.ends_with(".paid") {
        PayoutStatus::Paid
    } else {
        PayoutStatus::Failed
    };
    Ok(GatewayEvent::Payout(PayoutEvent {
        external_id: text(&o[id_field])
            .ok_or_else(|| bad(format!("{event_type} without `{id_field}`")))?,
        amount: o["amount"]
            .as_i64()
            .ok_or_else(|| bad(format!("{event_type} without `amount`")))?,
        currency: currency(&o["currency"])?
            .ok_or_else(|| bad(format!("{event_type} without `currency`")))?,
        status,
        failure_reason: text(&o[reason_field]),
    }))
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// An optional currency; present but not ISO 4217 is an error.
fn currency(v: &Value) -> Result<Option<Currency>, Unreadable> {
    match v.as_str() {
        None => Ok(None),
        Some(c) => c
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("unknown currency `{c}`"))),
    }
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
