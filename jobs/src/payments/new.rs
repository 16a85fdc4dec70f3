//! A client's request to create a payment, parsed into trusted types with every field error.

use serde::Deserialize;

use super::money::{Amount, Currency};
use crate::validation::{FieldError, Invalid};

/// Longest `reference`, `customer_name` and `customer_email`.
pub const MAX_SHORT_TEXT: usize = 200;
/// Longest `description`.
pub const MAX_DESCRIPTION: usize = 1000;
/// Largest `metadata`, serialised.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;

/// The request as received (types already checked by the JSON decoder).
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentInput {
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// A validated payment request.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPayment {
    pub amount: Amount,
    pub currency: Currency,
    pub reference: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

impl NewPayment {
    /// Validates every field, reporting all problems at once.
    pub fn parse(input: PaymentInput) -> Result<NewPayment, Invalid> {
        let mut errors = Vec::new();
        let amount = Amount::new(input.amount)
            .map_err(|e| errors.push(FieldError::new("amount", e.to_string())))
            .ok();
        let currency = input
            .currency
            .parse::<Currency>()
            .map_err(|e| errors.push(FieldError::new("currency", e.to_string())))
            .ok();
        let reference = input.reference.trim().to_owned();
        if reference.is_empty() || reference.chars().count() > MAX_SHORT_TEXT {
            errors.push(FieldError::new(
                "reference",
                format!("must be 1 to {MAX_SHORT_TEXT} characters"),
            ));
        }
        let customer_email = input.customer_email.map(|e| e.trim().to_owned());
        if let Some(email) = &customer_email
            && !is_plausible_email(email)
        {
            errors.push(FieldError::new(
                "customer_email",
                "must be an email address like name@example.com",
            ));
        }
        if input
            .customer_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_SHORT_TEXT)
        {
            errors.push(FieldError::new(
                "customer_name",
                format!("must be at most {MAX_SHORT_TEXT} characters"),
            ));
        }
        if input
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            errors.push(FieldError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION} characters"),
            ));
        }
        if let Some(m) = &input.metadata {
            if !m.is_object() {
                errors.push(FieldError::new("metadata", "must be a JSON object"));
            } else if m.to_string().len() > MAX_METADATA_BYTES {
                errors.push(FieldError::new(
                    "metadata",
                    format!("must be at most {MAX_METADATA_BYTES} bytes"),
                ));
            }
        }
        match (amount, currency) {
            (Some(amount), Some(currency)) if errors.is_empty() => Ok(NewPayment {
                amount,
                currency,
                reference,
                customer_email,
                customer_name: input.customer_name,
                description: input.description,
                metadata: input.metadata,
            }),
            _ => Err(Invalid(errors)),
        }
    }
}

/// A deliberately loose check (one `@`, a dotted domain, no spaces): the mail server decides.
fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= MAX_SHORT_TEXT
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PaymentInput {
        PaymentInput {
            amount: 1050,
            currency: "eur".into(),
            reference: "order-1".into(),
            customer_email: Some("ada@example.com".into()),
            customer_name: None,
            description: None,
            metadata: None,
        }
    }

    #[test]
    fn a_good_request_parses() {
        let p = NewPayment::parse(input()).unwrap();
        assert_eq!(p.currency.code(), "EUR");
        assert_eq!(p.amount.minor(), 1050);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = PaymentInput {
            amount: 0,
            currency: "EURO".into(),
            reference: " ".into(),
            customer_email: Some("nope".into()),
            metadata: Some(serde_json::json!([1])),
            ..input()
        };
        let Invalid(errors) = NewPayment::parse(bad).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "amount",
                "currency",
                "reference",
                "customer_email",
                "metadata"
            ]
        );
    }
}
