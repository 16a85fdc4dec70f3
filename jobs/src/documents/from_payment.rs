//! Receipts built from Longshore payments: `POST /v1/documents` with
//! `{"kind": "receipt", "data": {"payment_id": "pay_…"}}`, and the receipt chain of a payment
//! that succeeded with a customer email (`payment.receipt`).
//!
//! The payment supplies everything: the amount (captured, else asked), currency, reference,
//! when it was paid (the time the gateway reported the success), the customer's name, and one
//! line item (the payment's description, else its reference). The payment must belong to the
//! same tenant; another tenant's id reads as unknown (`422` naming `data.payment_id`).
//!
//! The chain's document has an id derived from the payment ([`receipt_document_id`]) and carries
//! the email to the customer as its follow-up ([`super::follow_up`]): running the chain again
//! finds the document (and, once rendered, its email) instead of making new ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kinds::{DocumentData, DocumentKind};
use super::model::{Document, render_job_id};
use super::receipt::{LineItem, MAX_TEXT, ReceiptData};
use super::repo::{self, NewRow};
use super::service::{DocumentError, render_intent};
use crate::clock::from_ms;
use crate::db::Db;
use crate::ids::{PaymentId, TenantId};
use crate::intent::Dispatch;
use crate::payments::effects::receipt_document_id;
use crate::payments::machine::PaymentStatus;
use crate::payments::{HistoryOutcome, Payment};
use crate::validation::Invalid;

/// Receipt data given as a Longshore payment: everything else comes from the payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct ReceiptFromPayment {
    /// A succeeded (or since refunded) payment of yours (`pay_…`). Amount, currency, reference,
    /// paid_at, customer_name and a single line item are taken from it; give none of them.
    pub payment_id: String,
}

/// True when receipt `data` names a payment instead of giving the amounts.
pub fn names_payment(kind: DocumentKind, data: &serde_json::Value) -> bool {
    kind == DocumentKind::Receipt && data.get("payment_id").is_some()
}

/// Single-line text of at most [`MAX_TEXT`] characters, as receipts print it.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat.trim().chars().take(MAX_TEXT).collect()
}

/// When the payment was paid: the gateway's time of the applied success, else its last change.
fn paid_at(p: &Payment) -> DateTime<Utc> {
    let succeeded = p
        .history
        .iter()
        .find(|h| h.kind == "succeeded" && h.outcome == HistoryOutcome::Applied)
        .map(|h| h.occurred_at);
    from_ms(succeeded.unwrap_or(p.updated_at))
}

/// The receipt of a payment.
pub fn receipt_data(p: &Payment) -> ReceiptData {
    let amount = if p.captured > 0 { p.captured } else { p.amount };
    let customer = p
        .customer_name
        .as_deref()
        .or(p.customer_email.as_deref())
        .map(one_line)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Customer".into());
    let description = p
        .description
        .as_deref()
        .map(one_line)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| one_line(&format!("Payment {}", p.reference)));
    ReceiptData {
        payment_id: Some(p.id.to_string()),
        amount: Some(amount),
        currency: Some(p.currency.code().to_owned()),
        reference: one_line(&p.reference),
        paid_at: paid_at(p),
        customer_name: customer,
        line_items: vec![LineItem {
            description,
            quantity: None,
            amount,
        }],
    }
}

/// True once the payment has been paid (receipts are not issued for pending or failed ones).
fn was_paid(p: &Payment) -> bool {
    matches!(
        p.status,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
    )
}

/// Resolves `{"payment_id"}` receipt data of `tenant` into full receipt data (as JSON, to be
/// checked like any receipt). Field names in errors start with `prefix`.
pub async fn resolve(
    db: &Db,
    tenant: &TenantId,
    prefix: &str,
    data: &serde_json::Value,
) -> Result<serde_json::Value, DocumentError> {
    let field = |name: &str| format!("{prefix}.{name}");
    if let Some(map) = data.as_object() {
        let extra: Vec<_> = map.keys().filter(|k| *k != "payment_id").collect();
        if !extra.is_empty() {
            let errors = extra
                .into_iter()
                .map(|k| {
                    crate::validation::FieldError::new(
                        field(k),
                        "comes from the payment when payment_id is given; leave it out",
                    )
                })
                .collect();
            return Err(Invalid(errors).into());
        }
    }
    let Some(raw) = data.get("payment_id").and_then(|v| v.as_str()) else {
        return Err(Invalid::one(field("payment_id"), "must be a payment id (pay_…)").into());
    };
    let Ok(id) = raw.parse::<PaymentId>() else {
        return Err(Invalid::one(field("payment_id"), "must be a payment id (pay_…)").into());
    };
    let Some(payment) = crate::payments::repo::get(db, tenant, &id).await? else {
        return Err(Invalid::one(field("payment_id"), "no such payment").into());
    };
    if !was_paid(&payment) {
        return Err(Invalid::one(
            field("payment_id"),
            format!(
                "the payment is {}; receipts are issued once it succeeded",
                payment.status.as_str()
            ),
        )
        .into());
    }
    Ok(DocumentData::Receipt(receipt_data(&payment)).to_json())
}

/// Why the receipt chain could not make the document.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Nothing to do, ever (the payment is gone or has no customer email).
    #[error("{0}")]
    Never(String),
    #[error(transparent)]
    Documents(#[from] DocumentError),
}

/// Makes sure the receipt document of `payment` exists, with the email to the customer as its
/// follow-up, and that its render job is enqueued. Idempotent: the document id derives from the
/// payment, and the render job id from the document.
pub async fn ensure_receipt(
    db: &Db,
    out: &dyn Dispatch,
    tenant: &TenantId,
    payment: &PaymentId,
    request_id: Option<String>,
) -> Result<Document, ChainError> {
    let id = receipt_document_id(payment);
    let doc = match repo::get(db, tenant, &id)
        .await
        .map_err(DocumentError::from)?
    {
        Some(doc) => doc,
        None => {
            let p = crate::payments::repo::get(db, tenant, payment)
                .await
                .map_err(DocumentError::from)?
                .ok_or_else(|| ChainError::Never(format!("payment {payment} does not exist")))?;
            let to = p.customer_email.clone().ok_or_else(|| {
                ChainError::Never(format!("payment {payment} has no customer email"))
            })?;
            let data = DocumentData::Receipt(receipt_data(&p));
            let issuer = repo::tenant_name(db, tenant)
                .await
                .map_err(DocumentError::from)?
                .unwrap_or_default();
            let row = NewRow {
                job_id: render_job_id(&id),
                id: id.clone(),
                tenant: tenant.clone(),
                kind: DocumentKind::Receipt,
                data: data.to_json(),
                metadata: Some(serde_json::json!({ "payment_id": payment })),
                batch_id: None,
                issuer,
                verification: None,
                follow_up: Some(super::follow_up::receipt_email(to)),
            };
            match repo::insert(db, &row).await {
                Ok(doc) => doc,
                // A concurrent run recorded it first.
                Err(e) => repo::get(db, tenant, &id)
                    .await
                    .map_err(DocumentError::from)?
                    .ok_or(DocumentError::Db(e))?,
            }
        }
    };
    out.dispatch(render_intent(tenant, &doc.id, request_id))
        .await
        .map_err(DocumentError::from)?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_ids_derive_from_the_payment_and_parse() {
        let p = PaymentId::new();
        let d = receipt_document_id(&p);
        assert_eq!(d.as_str().parse::<crate::ids::DocumentId>().unwrap(), d);
        assert_eq!(receipt_document_id(&p), d);
        assert_eq!(
            render_job_id(&d)
                .as_str()
                .parse::<crate::ids::JobId>()
                .unwrap(),
            render_job_id(&d)
        );
    }

    #[test]
    fn text_from_a_payment_is_one_printable_line() {
        assert_eq!(one_line(" a\nb\tc "), "a b c");
        assert_eq!(one_line(&"x".repeat(500)).chars().count(), MAX_TEXT);
    }
}
