//! The payment state machine: a pure function from (state, event, event time) to a decision.
//!
//! ```text
//! pending ──► succeeded ──► partially_refunded ──► refunded
//!    │ ▲          (sticky: nothing moves a captured payment back)
//!    ▼ │ (newer pending: the customer retries)
//!  failed ──► cancelled (terminal; also from pending)
//! ```
//! Gateways deliver late, twice and out of order, so every rule is written to be safe under any
//! order: success is sticky (a late `pending` or `failed` never undoes it); among the non-final
//! states the event's own creation time decides (an event older than the current status is
//! ignored, and one that repeats the current status with a newer time moves the status's time,
//! so an older event arriving after it is still seen as stale); refunds are bounded by the captured amount; a refund that arrives before its payment
//! succeeded is *deferred* (parked, then applied when the success arrives) rather than lost.
//! Every decision carries its reason, which the payment history records.

use serde::{Deserialize, Serialize};

use super::money::Currency;
use crate::words::word_enum;

word_enum!(
    /// Where a payment stands.
    PaymentStatus {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
        PartiallyRefunded => "partially_refunded",
        Refunded => "refunded",
    }
);

impl PaymentStatus {
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<PaymentStatus> {
        s.parse().ok()
    }

    /// True once money was captured: such a payment never goes back to pending, failed or cancelled.
    pub fn is_captured(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

/// What the machine needs to know about a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub status: PaymentStatus,
    /// The amount asked for, in minor units.
    pub amount: i64,
    pub currency: Currency,
    /// Captured by the gateway (0 until it succeeds).
    pub captured: i64,
    /// Refunded so far; never above `captured`.
    pub refunded: i64,
    /// Creation time (epoch ms) of the event that set the current status; `None` while the
    /// payment is in its initial `pending`.
    pub status_at: Option<i64>,
}

impl PaymentState {
    /// A new payment: pending, nothing captured.
    pub fn new(amount: i64, currency: Currency) -> Self {
        PaymentState {
            status: PaymentStatus::Pending,
            amount,
            currency,
            captured: 0,
            refunded: 0,
            status_at: None,
        }
    }
}

/// How a refund event states its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundBasis {
    /// This refund's own amount (Standard Webhooks `refund.succeeded`).
    Increment,
    /// The total refunded so far (Stripe's `charge.refunded` `amount_refunded`): order-safe.
    Total,
}

/// A gateway event about one payment, normalised from any provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentEvent {
    /// The payment is being processed.
    Pending,
    /// Money was captured; `amount` defaults to the payment's amount.
    Succeeded {
        amount: Option<i64>,
        currency: Option<Currency>,
    },
    /// The attempt failed (the customer may retry).
    Failed { reason: Option<String> },
    /// The payment was cancelled before capture.
    Cancelled,
    /// Money was returned to the customer.
    Refunded {
        amount: i64,
        currency: Option<Currency>,
        basis: RefundBasis,
    },
}

impl PaymentEvent {
    /// A short name for the history.
    pub fn name(&self) -> &'static str {
        match self {
            PaymentEvent::Pending => "pending",
            PaymentEvent::Succeeded { .. } => "succeeded",
            PaymentEvent::Failed { .. } => "failed",
            PaymentEvent::Cancelled => "cancelled",
            PaymentEvent::Refunded { .. } => "refunded",
        }
    }

    /// The amount the event speaks of, if any (for the history).
    pub fn amount(&self) -> Option<i64> {
        match self {
            PaymentEvent::Succeeded { amount, .. } => *amount,
            PaymentEvent::Refunded { amount, .. } => Some(*amount),
            _ => None,
        }
    }
}

/// What the machine decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The event changes the payment to this state.
    Applied(PaymentState),
    /// The event has no effect, for this reason (recorded in the history).
    Ignored(String),
    /// The event cannot apply yet (a refund before its payment succeeded): park it and apply it
    /// when the payment succeeds.
    Deferred(String),
}

/// Decides what `event`, created at `at` (epoch ms), does to a payment in `state`.
pub fn apply(state: &PaymentState, event: &PaymentEvent, at: i64) -> Decision {
    use PaymentStatus::*;
    let stale = state.status_at.is_some_and(|t| at < t);
    let set = |status: PaymentStatus| {
        Decision::Applied(PaymentState {
            status,
            status_at: Some(at),
            ..state.clone()
        })
    };
    let ignored = |why: String| Decision::Ignored(why);
    // The same status again: nothing changes but its time, when this event is newer. Without
    // that, `failed`@10 arriving after `pending`@20 on a pending payment would not be stale.
    let repeated = |what: &str| {
        if state.status_at.is_none_or(|t| at > t) {
            set(state.status)
        } else {
            ignored(format!("the payment is already {what} since a newer event"))
        }
    };
    match event {
        PaymentEvent::Pending => match state.status {
            Pending => repeated("pending"),
            Failed if stale => ignored("older than the failure it would undo".into()),
            Failed => set(Pending),
            Cancelled => ignored("the payment is cancelled".into()),
            _ => ignored(format!(
                "the payment already {}; a pending event never undoes it",
                state.status.as_str()
            )),
        },
        PaymentEvent::Failed { .. } => match state.status {
            Failed => repeated("failed"),
            Pending if stale => ignored("older than the current pending status".into()),
            Pending => set(Failed),
            Cancelled => ignored("the payment is cancelled".into()),
            _ => ignored(format!(
                "the payment already {}; a failure never undoes it",
                state.status.as_str()
            )),
        },
        PaymentEvent::Cancelled => match state.status {
            Pending | Failed => set(Cancelled),
            Cancelled => ignored("the payment is already cancelled".into()),
            _ => ignored("a captured payment cannot be cancelled (refund it instead)".into()),
        },
        PaymentEvent::Succeeded { amount, currency } => {
            if let Some(c) = currency
                && *c != state.currency
            {
                return ignored(format!(
                    "currency {c} does not match the payment's {}",
                    state.currency
                ));
            }
            let captured = amount.unwrap_or(state.amount);
            match state.status {
                Pending | Failed if captured <= 0 || captured > state.amount => ignored(format!(
                    "captured amount {captured} is outside 1..={}",
                    state.amount
                )),
                Pending | Failed => Decision::Applied(PaymentState {
                    status: Succeeded,
                    captured,
                    status_at: Some(at),
                    ..state.clone()
                }),
                Cancelled => ignored("the payment is cancelled".into()),
                _ => ignored("the payment already succeeded".into()),
            }
        }
        PaymentEvent::Refunded {
            amount,
            currency,
            basis,
        } => {
            if let Some(c) = currency
                && *c != state.currency
            {
                return ignored(format!(
                    "currency {c} does not match the payment's {}",
                    state.currency
                ));
            }
            if *amount <= 0 {
                return ignored("a refund must be of a positive amount".into());
            }
            match state.status {
                Pending | Failed => {
                    return Decision::Deferred(format!(
                        "the payment has not succeeded yet ({}); the refund applies when it does",
                        state.status.as_str()
                    ));
                }
                Cancelled => return ignored("a cancelled payment cannot be refunded".into()),
                _ => {}
            }
            let total = match basis {
                // A gateway's amount is untrusted input: a sum past i64 is refused, never wrapped.
                RefundBasis::Increment => match state.refunded.checked_add(*amount) {
                    Some(total) => total,
                    None => {
                        return ignored(format!(
                            "refused: a refund of {amount} on the {} refunded so far exceeds \
                             the largest amount ({}), above the captured {}",
                            state.refunded,
                            i64::MAX,
                            state.captured
                        ));
                    }
                },
                RefundBasis::Total if *amount <= state.refunded => {
                    return ignored(format!(
                        "{} already refunded; this total is not higher",
                        state.refunded
                    ));
                }
                RefundBasis::Total => *amount,
            };
            if total > state.captured {
                return ignored(format!(
                    "refused: refunds would total {total}, above the captured {} (refunded so far {})",
                    state.captured, state.refunded
                ));
            }
            let status = if total == state.captured {
                Refunded
            } else {
                PartiallyRefunded
            };
            Decision::Applied(PaymentState {
                status,
                refunded: total,
                ..state.clone()
            })
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
