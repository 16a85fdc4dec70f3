//! Verification codes printed on certificates: 17 random Crockford base32 symbols (85 bits, so
//! unguessable) plus one Luhn mod 32 check symbol, shown in three groups of six
//! (`7KQ2MX-H4RT9B-0VZ3PE`). The check symbol rejects every single mistyped symbol and most
//! swapped neighbours before any lookup; Crockford's alphabet has no I, L, O or U, and reading
//! accepts `I`/`L` as 1, `O` as 0, lower case, spaces and hyphens, as people type them.

use std::fmt;
use std::str::FromStr;

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random symbols per code (17 × 5 = 85 bits).
const RANDOM_SYMBOLS: usize = 17;
/// Symbols per printed group.
const GROUP: usize = 6;

/// A well-formed verification code (random part and valid check symbol), in canonical form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerificationCode(String);

/// The text is not a well-formed code (wrong length, bad symbol, or the check symbol fails).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a well-formed verification code")]
pub struct MalformedCode;

impl VerificationCode {
    /// A fresh random code from the operating system's CSPRNG (through `rand`).
    pub fn generate() -> Self {
        let mut symbols: Vec<u8> = (0..RANDOM_SYMBOLS)
            .map(|_| ALPHABET[usize::from(rand::random::<u8>() & 31)])
            .collect();
        symbols.push(ALPHABET[check_value(&symbols)]);
        VerificationCode(String::from_utf8_lossy(&symbols).into_owned())
    }

    /// The canonical form stored in the database: 18 symbols, no separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a code read back from storage.
    pub fn from_trusted(raw: impl Into<String>) -> Self {
        VerificationCode(raw.into())
    }

    /// A code with a chosen random part (17 symbols) and its check symbol: fixtures only.
    #[cfg(test)]
    pub(crate) fn with_random_part(random: &str) -> Self {
        let mut symbols = random.as_bytes().to_vec();
        symbols.push(ALPHABET[check_value(&symbols)]);
        VerificationCode(String::from_utf8_lossy(&symbols).into_owned())
    }

    /// The printed form, in groups of six joined by hyphens.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(GROUP)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

impl fmt::Display for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl FromStr for VerificationCode {
    type Err = MalformedCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 64 {
            return Err(MalformedCode);
        }
        let mut symbols = Vec::with_capacity(RANDOM_SYMBOLS + 1);
        for c in s.chars() {
            match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => symbols.push(b'0'),
                'I' | 'L' => symbols.push(b'1'),
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => symbols.push(c as u8),
                _ => return Err(MalformedCode),
            }
        }
        if symbols.len() != RANDOM_SYMBOLS + 1 || !check_passes(&symbols) {
            return Err(MalformedCode);
        }
        Ok(VerificationCode(
            String::from_utf8_lossy(&symbols).into_owned(),
        ))
    }
}

fn value(symbol: u8) -> usize {
    ALPHABET.iter().position(|&a| a == symbol).unwrap_or(0)
}

/// Luhn mod N: each symbol's value, doubled at every other position from the right, folded
/// back into base 32 and summed.
fn luhn_sum(symbols: &[u8], double_first_from_right: bool) -> usize {
    let mut double = double_first_from_right;
    symbols.iter().rev().fold(0, |sum, &s| {
        let mut addend = value(s) * if double { 2 } else { 1 };
        addend = addend / 32 + addend % 32;
        double = !double;
        sum + addend
    })
}

/// The check value that makes the whole code's Luhn sum a multiple of 32.
fn check_value(random: &[u8]) -> usize {
    (32 - luhn_sum(random, true) % 32) % 32
}

fn check_passes(symbols: &[u8]) -> bool {
    luhn_sum(symbols, false).is_multiple_of(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_grouped_and_parse_back() {
        for _ in 0..1000 {
            let code = VerificationCode::generate();
            assert_eq!(code.as_str().len(), 18);
            let printed = code.grouped();
            assert_eq!(printed.len(), 20);
            assert_eq!(printed.matches('-').count(), 2);
            assert_eq!(printed.parse::<VerificationCode>().unwrap(), code);
            assert_eq!(code.as_str().parse::<VerificationCode>().unwrap(), code);
        }
    }

    #[test]
    fn codes_are_different_each_time() {
        let codes: std::collections::HashSet<String> = (0..10_000)
            .map(|_| VerificationCode::generate().as_str().to_owned())
            .collect();
        assert_eq!(codes.len(), 10_000);
    }

    #[test]
    fn people_typing_is_forgiven() {
        let code = VerificationCode::generate();
        let lower = code.grouped().to_lowercase().replace('-', " ");
        assert_eq!(lower.parse::<VerificationCode>().unwrap(), code);
        let with_o = code.as_str().replace('0', "O").replace('1', "I");
        assert_eq!(with_o.parse::<VerificationCode>().unwrap(), code);
    }

    #[test]
    fn every_single_symbol_typo_is_caught_by_the_check_symbol() {
        let code = VerificationCode::generate();
        let symbols = code.as_str().as_bytes().to_vec();
        for i in 0..symbols.len() {
            for &replacement in ALPHABET {
                if replacement == symbols[i] {
                    continue;
                }
                let mut typo = symbols.clone();
                typo[i] = replacement;
                let text = String::from_utf8(typo).unwrap();
                assert_eq!(
                    text.parse::<VerificationCode>(),
                    Err(MalformedCode),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn wrong_length_and_foreign_symbols_are_malformed() {
        assert!("".parse::<VerificationCode>().is_err());
        assert!("ABC".parse::<VerificationCode>().is_err());
        assert!("UUUUUU-UUUUUU-UUUUUU".parse::<VerificationCode>().is_err());
        assert!("ÄBCDEF-GHJKMN-PQRSTV".parse::<VerificationCode>().is_err());
        assert!("A".repeat(100).parse::<VerificationCode>().is_err());
        let code = VerificationCode::generate();
        let longer = format!("{}0", code.as_str());
        assert!(longer.parse::<VerificationCode>().is_err());
    }
}
