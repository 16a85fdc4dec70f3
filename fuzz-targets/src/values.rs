//! Single values parsed once at the edge: ids in paths, currency codes, certificate
//! verification codes, email addresses.

use std::fmt::Display;
use std::str::FromStr;

use longshore_jobs::documents::code::VerificationCode;
use longshore_jobs::documents::money::Currency as ReceiptCurrency;
use longshore_jobs::email::address::{Recipient, from_stored};
use longshore_jobs::ids::{
    ApiKeyId, BatchId, DocumentId, EmailId, EventEndpointId, EventId, ExpenseId, JobId, PaymentId,
    PayoutId, ReportId, ScheduleId, TaskId, TenantId, WebhookEndpointId, WebhookEventId,
};
use longshore_jobs::payments::money::Currency;

use crate::input::text;

/// One text tried as every id type (`/v1/jobs/{id}`, …), as a payment or receipt currency,
/// as a verification code (`/v/{code}`, typed by people) and as an email address (`to`,
/// `from`, `reply_to`).
///
/// Asserts that whatever parses prints as text that parses back equal: ids and codes as
/// they are shown, currencies as their code, and an address as it is stored with the email
/// and re-read when the email is sent.
pub fn edge_values(data: &[u8]) {
    let Some(text) = text(data) else { return };
    round_trip::<JobId>(text);
    round_trip::<TenantId>(text);
    round_trip::<ApiKeyId>(text);
    round_trip::<PaymentId>(text);
    round_trip::<WebhookEndpointId>(text);
    round_trip::<WebhookEventId>(text);
    round_trip::<PayoutId>(text);
    round_trip::<ExpenseId>(text);
    round_trip::<DocumentId>(text);
    round_trip::<BatchId>(text);
    round_trip::<EmailId>(text);
    round_trip::<ScheduleId>(text);
    round_trip::<ReportId>(text);
    round_trip::<TaskId>(text);
    round_trip::<EventId>(text);
    round_trip::<EventEndpointId>(text);
    if let Ok(c) = text.parse::<Currency>() {
        assert_eq!(c.code().parse::<Currency>(), Ok(c));
    }
    if let Ok(c) = text.parse::<ReceiptCurrency>() {
        assert_eq!(c.code().parse::<ReceiptCurrency>(), Ok(c));
        let _ = c.format(i64::MIN);
    }
    if let Ok(code) = text.parse::<VerificationCode>() {
        assert_eq!(code.as_str().parse::<VerificationCode>(), Ok(code.clone()));
        round_trip::<VerificationCode>(code.as_str());
    }
    if let Ok(r) = text.parse::<Recipient>() {
        let stored = r.to_string();
        let read = from_stored(std::slice::from_ref(&stored));
        assert_eq!(
            read.ok(),
            Some(vec![r]),
            "{text:?} was stored as {stored:?}"
        );
    }
}

/// `text` parses as `T`, then prints as text that parses back equal.
fn round_trip<T>(text: &str)
where
    T: FromStr + Display + PartialEq + std::fmt::Debug,
{
    if let Ok(v) = text.parse::<T>() {
        let printed = v.to_string();
        assert_eq!(
            printed.parse::<T>().ok(),
            Some(v),
            "{text:?} printed as {printed:?}"
        );
    }
}
