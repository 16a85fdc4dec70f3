//! Payments, payouts and expenses as gateway webhooks report them.
//!
//! A client creates a payment (`pending`); the gateway's signed callbacks then drive it through
//! the pure state machine in [`machine`], applied by the `payment.apply_event` job in one
//! database transaction per event, or per batch of events under load (see
//! [`crate::webhooks::apply`] and [`crate::webhooks::apply_batch`]; [`bulk`] holds the batch's
//! multi-row statements). Money is integer minor units
//! of an ISO 4217 currency ([`money`]). Read [`machine`] first: it holds every rule about order,
//! duplicates and refunds.

pub mod bulk;
pub mod effects;
pub mod event_data;
pub mod events;
pub mod expenses;
mod ledger;
pub mod machine;
pub mod money;
pub mod new;
pub mod payouts;
pub mod repo;
#[cfg(test)]
mod state_props;

use serde::{Deserialize, Serialize};

use crate::ids::{PaymentId, TenantId, WebhookEventId};
use machine::PaymentStatus;
use money::Currency;

/// A payment with its amounts and (when read alone) its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    pub id: PaymentId,
    pub tenant: TenantId,
    /// Asked for, in minor units.
    pub amount: i64,
    pub currency: Currency,
    /// The client's own reference; gateways may find the payment by it.
    pub reference: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub status: PaymentStatus,
    pub captured: i64,
    pub refunded: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Every event the payment saw, in the order it was decided (empty in listings).
    pub history: Vec<HistoryEntry>,
    /// The receipt's progress, once the payment succeeded with a customer email.
    pub receipt: Option<effects::Effect>,
}

/// What the history says about one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOutcome {
    /// The event changed the payment.
    Applied,
    /// The event had no effect (the reason says why).
    Ignored,
    /// The event was parked until the payment succeeds.
    Deferred,
}

impl HistoryOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryOutcome::Applied => "applied",
            HistoryOutcome::Ignored => "ignored",
            HistoryOutcome::Deferred => "deferred",
        }
    }

    /// Parses a stored name (unknown names read as `ignored`, the harmless reading).
    pub fn parse(s: &str) -> HistoryOutcome {
        match s {
            "applied" => HistoryOutcome::Applied,
            "deferred" => HistoryOutcome::Deferred,
            _ => HistoryOutcome::Ignored,
        }
    }
}

/// One decided event in a payment's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Position in the history, from 1.
    pub seq: i64,
    /// The webhook event (inbox row) that carried it.
    pub event: WebhookEventId,
    /// `pending`, `succeeded`, `failed`, `cancelled` or `refunded`.
    pub kind: String,
    pub amount: Option<i64>,
    /// The event's own creation time at the gateway (epoch ms).
    pub occurred_at: i64,
    pub outcome: HistoryOutcome,
    pub reason: Option<String>,
    /// The payment's status after the decision.
    pub status_after: PaymentStatus,
    pub recorded_at: i64,
}

/// Filters and paging for listings, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100.
    pub limit: i64,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as the cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts a `limit + 1` fetch into a page, using `id` of the last kept item as the cursor.
    pub fn from_overfetch(items: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let (items, next_cursor) = crate::db::page::split_overfetch(items, limit, id);
        Page { items, next_cursor }
    }
}
