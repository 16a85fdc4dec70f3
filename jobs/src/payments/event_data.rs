//! `payment.succeeded`, `payment.failed`, `payment.refunded`, `payout.paid`, `payout.failed`
//! and `expense.recorded`: the ledger's changes as gateway webhooks report them.
//!
//! Amounts are integer minor units of `currency` (cents for EUR, yen for JPY), as everywhere in
//! the API.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::payments::machine::PaymentStatus;
use crate::payments::payouts::PayoutStatus;

/// The data of `payment.succeeded`, `payment.failed` and `payment.refunded`: the payment right
/// after the change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PaymentEventData {
    /// The payment's id (`pay_…`).
    pub payment_id: String,
    /// The stored status after the change: `succeeded`, `failed`, `partially_refunded` or
    /// `refunded`.
    pub status: PaymentStatus,
    /// The amount asked for, in minor units.
    pub amount: i64,
    /// Captured by the gateway so far, in minor units (0 until it succeeds).
    pub amount_captured: i64,
    /// Refunded so far, in minor units (never above `amount_captured`).
    pub amount_refunded: i64,
    /// `payment.refunded`: this refund's own amount, in minor units.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub refund_amount: Option<i64>,
    /// ISO 4217 code, upper case.
    pub currency: String,
    /// The client's own reference for the payment.
    pub reference: String,
    /// The key/values the payment was created with, returned as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub metadata: Option<serde_json::Value>,
    /// `payment.failed`: why, as the gateway said.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub failure_reason: Option<String>,
    /// The gateway webhook (inbox row, `evt_…`) that made the change.
    pub webhook_event_id: String,
    /// When the gateway says the change happened.
    pub occurred_at: DateTime<Utc>,
}

/// The data of `payout.paid` and `payout.failed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PayoutEventData {
    /// The payout's id in Longshore (`po_…`).
    pub payout_id: String,
    /// The gateway's id for the payout.
    pub external_id: String,
    /// `paid` or `failed`.
    pub status: PayoutStatus,
    /// In minor units.
    pub amount: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
    /// `payout.failed`: why, as the gateway said.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub failure_reason: Option<String>,
    /// When the gateway says the payout reached this status.
    pub occurred_at: DateTime<Utc>,
}

/// The data of `expense.recorded`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ExpenseEventData {
    /// The expense's id in Longshore (`exp_…`).
    pub expense_id: String,
    /// The gateway's id for the expense.
    pub external_id: String,
    /// In minor units.
    pub amount: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
    /// As the gateway described it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub description: Option<String>,
    /// The gateway's category (`fee`, `chargeback`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub category: Option<String>,
    /// When the gateway recorded it.
    pub occurred_at: DateTime<Utc>,
}
