//! The events the ledger's changes cause: `payment.succeeded`, `payment.failed`,
//! `payment.refunded`, `payout.paid`, `payout.failed` and `expense.recorded`.
//!
//! Each is built from the change the apply transaction just made and recorded in that same
//! transaction (the single path records it at once; a batch records all of its events with one
//! call). Its id comes from the gateway's own identity of the change (the inbox row for a
//! payment, the payout's status and event time, the expense's gateway id) and the event's
//! creation time at the gateway: an apply that runs twice (it cannot: the inbox row is claimed
//! once, but a replay of the same gateway event could) gives the same id, which is recorded once.

use super::machine::{PaymentEvent, PaymentState, PaymentStatus};
use super::repo::Locked;
use crate::clock::from_ms;
use crate::events::{EventType, NewEvent};
use crate::ids::WebhookEventId;
use crate::payments::event_data::PaymentEventData;

/// The event of a payment that went from `before` to its current state because of gateway
/// event `event` (inbox row `webhook`), created at `at`: none when the change is not one the
/// app is told of (back to `pending`, `cancelled`) or nothing changed.
pub fn payment_event(
    before: &PaymentState,
    payment: &Locked,
    webhook: &WebhookEventId,
    event: &PaymentEvent,
    at: i64,
) -> Option<NewEvent> {
    let after = &payment.state;
    let kind = if after.refunded > before.refunded {
        EventType::PaymentRefunded
    } else if after.status == before.status {
        return None;
    } else {
        match after.status {
            PaymentStatus::Succeeded => EventType::PaymentSucceeded,
            PaymentStatus::Failed => EventType::PaymentFailed,
            _ => return None,
        }
    };
    let failure_reason = match event {
        PaymentEvent::Failed { reason } => reason.clone(),
        _ => None,
    };
    let data = PaymentEventData {
        payment_id: payment.id.to_string(),
        status: after.status,
        amount: after.amount,
        amount_captured: after.captured,
        amount_refunded: after.refunded,
        refund_amount: (kind == EventType::PaymentRefunded)
            .then(|| after.refunded - before.refunded),
        currency: after.currency.code().to_owned(),
        reference: payment.reference.clone(),
        metadata: payment.metadata.clone(),
        failure_reason,
        webhook_event_id: webhook.to_string(),
        occurred_at: from_ms(at),
    };
    Some(NewEvent::of_change(
        &payment.tenant,
        kind,
        payment.id.as_str(),
        at,
        &format!("{}/{webhook}", payment.id),
        &data,
    ))
}
