//! Money as integer minor units of an ISO 4217 currency, parsed once at the edge.
//!
//! Floating point never touches an amount: `1050` with `EUR` is €10.50, with `JPY` ¥1050, with
//! `KWD` 1.050 KD. The minor-unit table says how many decimals each currency has, so amounts can
//! be shown and compared with gateways that report major units.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount accepted (10^15 minor units): sums of several amounts can never overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// Active ISO 4217 codes whose minor unit is not 2 (the common case), with their decimals.
const NOT_TWO: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 codes with two decimals.
const TWO: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR",
    "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD",
    "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
];

/// An ISO 4217 currency code, upper case, known to the minor-unit table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u8,
}

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an active ISO 4217 currency code, e.g. EUR or USD")]
pub struct UnknownCurrency;

impl Currency {
    /// The three-letter code, upper case.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// How many decimals the currency has (0 for JPY, 2 for EUR, 3 for KWD).
    pub fn minor_units(self) -> u8 {
        self.minor_units
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;
    /// Accepts any case (gateways send `usd`); stores upper case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 3 {
            return Err(UnknownCurrency);
        }
        let upper = s.to_ascii_uppercase();
        if let Some((code, minor_units)) = NOT_TWO.iter().find(|(c, _)| *c == upper) {
            return Ok(Currency {
                code,
                minor_units: *minor_units,
            });
        }
        TWO.iter()
            .find(|c| **c == upper)
            .map(|code| Currency {
                code,
                minor_units: 2,
            })
            .ok_or(UnknownCurrency)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A strictly positive amount in minor units, at most [`MAX_AMOUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Amount(i64);

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an integer number of minor units between 1 and {MAX_AMOUNT}")]
pub struct InvalidAmount;

impl Amount {
    /// Parses a count of minor units.
    pub fn new(minor: i64) -> Result<Amount, InvalidAmount> {
        if (1..=MAX_AMOUNT).contains(&minor) {
            Ok(Amount(minor))
        } else {
            Err(InvalidAmount)
        }
    }

    /// The count of minor units.
    pub fn minor(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        Amount::new(n).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_parse_in_any_case_and_know_their_decimals() {
        let eur: Currency = "eur".parse().unwrap();
        assert_eq!(eur.code(), "EUR");
        assert_eq!(eur.minor_units(), 2);
        assert_eq!("JPY".parse::<Currency>().unwrap().minor_units(), 0);
        assert_eq!("KWD".parse::<Currency>().unwrap().minor_units(), 3);
        assert_eq!("CLF".parse::<Currency>().unwrap().minor_units(), 4);
        for bad in ["", "EU", "EURO", "XXX", "ABC", "€€€", "XAU"] {
            assert!(bad.parse::<Currency>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_table_entry_is_three_upper_case_letters() {
        for code in TWO.iter().chain(NOT_TWO.iter().map(|(c, _)| c)) {
            assert!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code}"
            );
        }
    }

    #[test]
    fn amounts_are_positive_and_bounded() {
        assert!(Amount::new(0).is_err());
        assert!(Amount::new(-5).is_err());
        assert!(Amount::new(MAX_AMOUNT + 1).is_err());
        assert_eq!(Amount::new(1050).unwrap().minor(), 1050);
        assert!(serde_json::from_str::<Amount>("10.5").is_err());
        assert!(serde_json::from_str::<Amount>("0").is_err());
    }
}
