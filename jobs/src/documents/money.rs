//! Money as receipts need it: integer minor units (never floats) and ISO 4217 currencies with
//! their own number of decimals (JPY 0, USD 2, KWD 3), so `1500` means ¥1,500, $15.00 or
//! KD 1.500 depending on the currency.

use std::fmt;
use std::str::FromStr;

/// Active ISO 4217 codes and their minor units (decimals).
#[rustfmt::skip]
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2),
    ("AUD", 2), ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2),
    ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BRL", 2), ("BSD", 2),
    ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHF", 2),
    ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2),
    ("CZK", 2), ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2),
    ("ETB", 2), ("EUR", 2), ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2),
    ("GIP", 2), ("GMD", 2), ("GNF", 0), ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2),
    ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2),
    ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2),
    ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2),
    ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2),
    ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2),
    ("MVR", 2), ("MWK", 2), ("MXN", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2),
    ("NIO", 2), ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2),
    ("PGK", 2), ("PHP", 2), ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2),
    ("RSD", 2), ("RUB", 2), ("RWF", 0), ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2),
    ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2),
    ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2),
    ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2),
    ("UGX", 0), ("USD", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2), ("VES", 2),
    ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XOF", 0), ("XPF", 0),
    ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// An ISO 4217 currency, parsed once at the edge so amounts can be formatted correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    minor_units: u8,
}

/// The text is not an active ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an ISO 4217 currency code such as USD, EUR or JPY")]
pub struct UnknownCurrency;

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == s)
            .map(|&(code, minor_units)| Currency { code, minor_units })
            .ok_or(UnknownCurrency)
    }
}

impl Currency {
    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (0 for JPY, 2 for USD, 3 for KWD).
    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }

    /// Formats an amount in minor units for people: `USD 1,234.50`, `JPY 1,500`, `KWD 1.500`.
    pub fn format(&self, minor: i64) -> String {
        Money {
            minor,
            currency: *self,
        }
        .to_string()
    }
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = 10u128.pow(u32::from(self.currency.minor_units));
        let abs = u128::from(self.minor.unsigned_abs());
        let (major, minor) = (abs / scale, abs % scale);
        let sign = if self.minor < 0 { "-" } else { "" };
        write!(f, "{} {sign}{}", self.currency.code, group_thousands(major))?;
        if self.currency.minor_units > 0 {
            let width = usize::from(self.currency.minor_units);
            write!(f, ".{minor:0width$}")?;
        }
        Ok(())
    }
}

fn group_thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(code: &str, minor: i64) -> String {
        code.parse::<Currency>().unwrap().format(minor)
    }

    #[test]
    fn amounts_follow_the_currencys_minor_units() {
        assert_eq!(fmt("USD", 123_450), "USD 1,234.50");
        assert_eq!(fmt("USD", 5), "USD 0.05");
        assert_eq!(fmt("JPY", 1500), "JPY 1,500");
        assert_eq!(fmt("KWD", 1500), "KWD 1.500");
        assert_eq!(fmt("BHD", 1), "BHD 0.001");
        assert_eq!(fmt("EUR", -250), "EUR -2.50");
        assert_eq!(fmt("USD", 100_000_000_000), "USD 1,000,000,000.00");
        assert_eq!(fmt("CLF", 12345), "CLF 1.2345");
        assert_eq!(fmt("USD", i64::MIN), "USD -92,233,720,368,547,758.08");
    }

    #[test]
    fn unknown_and_lowercase_codes_are_refused() {
        assert!("XYZ".parse::<Currency>().is_err());
        assert!("usd".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
        assert_eq!("JPY".parse::<Currency>().unwrap().minor_units(), 0);
    }
}
