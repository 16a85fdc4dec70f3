//! Receipt data: a payment's amount in integer minor units, its currency, and line items that
//! add up to it. A receipt of a Longshore payment is given as `{"payment_id"}` alone and filled
//! in from the payment before it is checked (see [`super::from_payment`]); the stored data is
//! always complete.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fields::Checker;
use super::money::Currency;

/// Longest free text on a receipt line, in characters.
pub const MAX_TEXT: usize = 200;
/// Most line items on one receipt.
pub const MAX_LINE_ITEMS: usize = 200;
/// Largest absolute amount accepted (10^15 minor units), so sums never overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// A payment receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct ReceiptData {
    /// The Longshore payment (`pay_…`) this receipt was built from. To build a receipt from a
    /// payment, send `{"payment_id": "pay_…"}` alone (see `ReceiptFromPayment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Total paid, in integer minor units of `currency` (cents for USD, yen for JPY, fils for
    /// KWD). Never a float.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// ISO 4217 code, e.g. `USD`, `JPY`, `KWD`; decides how many decimals are printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Your reference for the payment (order number, invoice), up to 200 characters.
    pub reference: String,
    /// When the payment was made (RFC 3339); also the PDF's creation date.
    pub paid_at: DateTime<Utc>,
    /// Who paid, up to 200 characters.
    pub customer_name: String,
    /// What was paid for: 1 to 200 items whose amounts add up to `amount`.
    pub line_items: Vec<LineItem>,
}

/// One line of a receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// What was bought, up to 200 characters.
    pub description: String,
    /// How many (printed only; `amount` is the line's total). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// The line's total in minor units; negative for a discount.
    pub amount: i64,
}

impl ReceiptData {
    /// Field checks beyond the types; field names are relative to the data object.
    pub fn check(&self, c: &mut Checker) {
        if let Some(id) = &self.payment_id {
            c.line("payment_id", id, 64);
        }
        if self.amount.is_none() {
            c.fail(
                "amount",
                "is required (integer minor units) unless payment_id is given",
            );
        }
        match self.currency.as_deref() {
            None if self.amount.is_some() => c.fail("currency", "is required with amount"),
            None => {}
            Some(code) => {
                if let Err(e) = code.parse::<Currency>() {
                    c.fail("currency", e.to_string());
                }
            }
        }
        c.line("reference", &self.reference, MAX_TEXT);
        c.line("customer_name", &self.customer_name, MAX_TEXT);
        if let Some(amount) = self.amount
            && !(1..=MAX_AMOUNT).contains(&amount)
        {
            c.fail(
                "amount",
                format!("must be between 1 and {MAX_AMOUNT} minor units"),
            );
        }
        if !c.count("line_items", self.line_items.len(), 1, MAX_LINE_ITEMS) {
            return;
        }
        let mut sum: i64 = 0;
        for (i, item) in self.line_items.iter().enumerate() {
            c.line(
                &format!("line_items[{i}].description"),
                &item.description,
                MAX_TEXT,
            );
            // Not `abs()`: a client may send i64::MIN, whose absolute value does not fit.
            if !(-MAX_AMOUNT..=MAX_AMOUNT).contains(&item.amount) {
                c.fail(
                    format!("line_items[{i}].amount"),
                    format!("must be within ±{MAX_AMOUNT}"),
                );
            }
            if item.quantity == Some(0) {
                c.fail(format!("line_items[{i}].quantity"), "must be at least 1");
            }
            sum = sum.saturating_add(item.amount);
        }
        if let Some(amount) = self.amount
            && sum != amount
        {
            c.fail(
                "line_items",
                format!("the amounts add up to {sum}, but amount is {amount} (minor units)"),
            );
        }
    }

    /// The parsed currency (valid once [`check`](Self::check) passed).
    pub fn currency(&self) -> Option<Currency> {
        self.currency.as_deref().and_then(|c| c.parse().ok())
    }
}
