//! Certificate data: attendance or CPD certificates that anyone can verify by their code.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fields::Checker;

/// Longest recipient name, in characters.
pub const MAX_NAME: usize = 120;
/// Longest course title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest issuer name, in characters.
pub const MAX_ISSUER: usize = 120;
/// Most credits a certificate may state.
pub const MAX_CREDITS: f64 = 10_000.0;

/// A certificate of attendance or completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct CertificateData {
    /// The person certified, as it should be printed (any script the font covers), up to 120
    /// characters.
    pub recipient_name: String,
    /// The course, event or programme, up to 200 characters.
    pub course_title: String,
    /// The date of issue (`YYYY-MM-DD`); also the PDF's creation date.
    pub issued_on: NaiveDate,
    /// Credits earned, e.g. CPD hours (0 < credits ≤ 10000; up to two decimals are printed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<f64>,
    /// Who issues it; the tenant's name when omitted. Up to 120 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The recipient's address, kept with the certificate. Batches e-mail each certificate to
    /// it; a single certificate from `POST /v1/documents` is not e-mailed (attach it to an email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_email: Option<String>,
}

impl CertificateData {
    /// Field checks beyond the types; field names are relative to the data object.
    pub fn check(&self, c: &mut Checker) {
        c.line("recipient_name", &self.recipient_name, MAX_NAME);
        c.line("course_title", &self.course_title, MAX_TITLE);
        c.optional_line("issuer", self.issuer.as_deref(), MAX_ISSUER);
        check_credits(c, "credits", self.credits);
        if let Some(email) = &self.recipient_email {
            c.email("recipient_email", email);
        }
    }
}

/// Credits must be a positive, finite number within bounds.
pub fn check_credits(c: &mut Checker, field: &str, credits: Option<f64>) {
    if let Some(n) = credits
        && !(n.is_finite() && n > 0.0 && n <= MAX_CREDITS)
    {
        c.fail(
            field,
            format!("must be greater than 0 and at most {MAX_CREDITS}"),
        );
    }
}

/// Credits as printed: `1.5`, `12`, `0.25`.
pub fn format_credits(n: f64) -> String {
    let text = format!("{n:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_print_without_trailing_zeros() {
        assert_eq!(format_credits(1.5), "1.5");
        assert_eq!(format_credits(12.0), "12");
        assert_eq!(format_credits(0.25), "0.25");
        assert_eq!(format_credits(2.999), "3");
    }
}
