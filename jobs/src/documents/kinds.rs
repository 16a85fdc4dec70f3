//! The kinds of document and their typed data: parsed once at the edge (`422` naming the field),
//! stored as JSON, and read back by the renderer.

use super::certificate::CertificateData;
use super::fields::Checker;
use super::investor::InvestorUpdateData;
use super::receipt::ReceiptData;
use crate::validation::{Invalid, decode};
use crate::words::word_enum;

word_enum!(
    /// What a document is; decides its data schema and its layout.
    DocumentKind {
        /// A verifiable certificate (A4 landscape, with a QR code to its verification page).
        Certificate => "certificate",
        /// A payment receipt with a per-tenant receipt number (A4 portrait).
        Receipt => "receipt",
        /// An investor-update letter that flows onto as many pages as it needs (A4 portrait).
        InvestorUpdate => "investor_update",
    }
);

/// A document's data, typed by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentData {
    Certificate(CertificateData),
    Receipt(ReceiptData),
    InvestorUpdate(InvestorUpdateData),
}

impl DocumentData {
    /// Decodes and checks `data` for `kind`; field names in errors start with `prefix`.
    pub fn parse(
        kind: DocumentKind,
        prefix: &str,
        data: &serde_json::Value,
    ) -> Result<Self, Invalid> {
        Self::parse_unnamed(kind, prefix, data)
    }

    fn parse_unnamed(
        kind: DocumentKind,
        prefix: &str,
        data: &serde_json::Value,
    ) -> Result<Self, Invalid> {
        let mut c = Checker::default();
        let parsed = match kind {
            DocumentKind::Certificate => {
                let d: CertificateData = decode(prefix, data)?;
                d.check(&mut c);
                DocumentData::Certificate(d)
            }
            DocumentKind::Receipt => {
                let d: ReceiptData = decode(prefix, data)?;
                d.check(&mut c);
                DocumentData::Receipt(d)
            }
            DocumentKind::InvestorUpdate => {
                let d: InvestorUpdateData = decode(prefix, data)?;
                d.check(&mut c);
                DocumentData::InvestorUpdate(d)
            }
        };
        c.finish(prefix)?;
        Ok(parsed)
    }

    /// Reads data back from storage (already validated when it was stored).
    pub fn from_stored(kind: DocumentKind, json: &str) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            DocumentKind::Certificate => DocumentData::Certificate(serde_json::from_str(json)?),
            DocumentKind::Receipt => DocumentData::Receipt(serde_json::from_str(json)?),
            DocumentKind::InvestorUpdate => {
                DocumentData::InvestorUpdate(serde_json::from_str(json)?)
            }
        })
    }

    /// The kind of this data.
    pub fn kind(&self) -> DocumentKind {
        match self {
            DocumentData::Certificate(_) => DocumentKind::Certificate,
            DocumentData::Receipt(_) => DocumentKind::Receipt,
            DocumentData::InvestorUpdate(_) => DocumentKind::InvestorUpdate,
        }
    }

    /// The data as JSON, for storage and for the API.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            DocumentData::Certificate(d) => serde_json::to_value(d),
            DocumentData::Receipt(d) => serde_json::to_value(d),
            DocumentData::InvestorUpdate(d) => serde_json::to_value(d),
        };
        value.unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(kind: DocumentKind, data: serde_json::Value) -> Vec<String> {
        match DocumentData::parse(kind, "data", &data) {
            Ok(_) => vec![],
            Err(Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_certificate_missing_its_name_names_the_field() {
        let f = fields(
            DocumentKind::Certificate,
            json!({"course_title": "Rust", "issued_on": "2026-01-02"}),
        );
        assert_eq!(f, ["data.recipient_name"]);
        let f = fields(
            DocumentKind::Certificate,
            json!({"recipient_name": " ", "course_title": "Rust", "issued_on": "2026-01-02", "credits": -1}),
        );
        assert_eq!(f, ["data.recipient_name", "data.credits"]);
        let f = fields(
            DocumentKind::Certificate,
            json!({"recipient_name": "Ann", "course_title": "Rust", "issued_on": "2026-13-02"}),
        );
        assert_eq!(f, ["data.issued_on"]);
    }

    #[test]
    fn receipt_line_items_must_add_up_and_currency_must_exist() {
        let base = json!({
            "amount": 1500, "currency": "JPY", "reference": "ORD-1", "paid_at": "2026-03-01T10:00:00Z",
            "customer_name": "Zoë", "line_items": [{"description": "Tea", "amount": 1000}, {"description": "Cake", "amount": 500}]
        });
        assert!(fields(DocumentKind::Receipt, base.clone()).is_empty());
        let mut bad = base.clone();
        bad["amount"] = json!(1600);
        assert_eq!(fields(DocumentKind::Receipt, bad), ["data.line_items"]);
        let mut bad = base.clone();
        bad["currency"] = json!("XYZ");
        assert_eq!(fields(DocumentKind::Receipt, bad), ["data.currency"]);
        let mut bad = base.clone();
        bad["amount"] = json!(15.5);
        assert_eq!(fields(DocumentKind::Receipt, bad), ["data.amount"]);
        let mut bad = base;
        bad["line_items"][1]["description"] = json!("two\nlines");
        assert_eq!(
            fields(DocumentKind::Receipt, bad),
            ["data.line_items[1].description"]
        );
    }

    #[test]
    fn a_line_item_of_i64_min_is_refused_not_a_panic() {
        // Found by fuzzing (document_data): `abs()` overflowed; in release it wrapped to a
        // negative number that passed the bound, and saturating sums made the total match.
        let data = json!({
            "amount": 1, "currency": "KWD", "reference": "R", "paid_at": "2026-03-01T10:00:00Z",
            "customer_name": "Ann", "line_items": [
                {"description": "a", "amount": i64::MIN},
                {"description": "b", "amount": i64::MAX},
                {"description": "c", "amount": 2}
            ]
        });
        assert_eq!(
            fields(DocumentKind::Receipt, data),
            ["data.line_items[0].amount", "data.line_items[1].amount"]
        );
    }

    #[test]
    fn stored_receipt_data_needs_its_amount_even_with_a_payment_id() {
        let data = json!({
            "payment_id": "pay_1", "reference": "R", "paid_at": "2026-03-01T10:00:00Z",
            "customer_name": "Ann", "line_items": [{"description": "x", "amount": 1}]
        });
        assert_eq!(fields(DocumentKind::Receipt, data), ["data.amount"]);
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for k in DocumentKind::ALL {
            assert_eq!(k.as_str().parse::<DocumentKind>().unwrap(), *k);
        }
    }
}
