//! Email addresses, parsed once at the edge: `a@x.com` or `Ada Lovelace <a@x.com>` (display names
//! in any script; lettre encodes them per RFC 2047 on the wire). Inside, an [`Recipient`] is
//! trusted, and [`Recipient::key`] is the normalised form the suppression list is keyed by.

use std::fmt;
use std::str::FromStr;

use lettre::message::Mailbox;

use crate::validation::{FieldError, Invalid};

/// Most recipients (to + cc + bcc) one email may have.
pub const MAX_RECIPIENTS: usize = 50;

/// A mailbox: an address with an optional display name.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient(Mailbox);

/// Why a mailbox was refused (shown to the client next to the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an email address like ada@example.com or \"Ada <ada@example.com>\"")]
pub struct InvalidAddress;

impl Recipient {
    /// The address alone (`ada@example.com`), as given.
    pub fn address(&self) -> String {
        self.0.email.to_string()
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The normalised address the suppression list uses (lower case, trimmed).
    pub fn key(&self) -> String {
        normalise(self.0.email.as_ref())
    }

    /// The domain part (for Message-IDs).
    pub fn domain(&self) -> &str {
        self.0.email.domain()
    }

    /// The lettre mailbox, for building messages.
    pub fn mailbox(&self) -> &Mailbox {
        &self.0
    }
}

/// The suppression-list form of an address: trimmed and lower-cased.
pub fn normalise(address: &str) -> String {
    address.trim().to_lowercase()
}

impl FromStr for Recipient {
    type Err = InvalidAddress;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s.len() > 320 || s.chars().any(|c| c.is_control()) {
            return Err(InvalidAddress);
        }
        let mailbox: Mailbox = s.parse().map_err(|_| InvalidAddress)?;
        // lettre accepts dotless domains (`a@localhost`); mail for tenants' recipients needs a
        // real domain, so a dot (or an address literal) is required.
        let domain = mailbox.email.domain();
        if !(domain.contains('.') || domain.starts_with('[')) || domain.ends_with('.') {
            return Err(InvalidAddress);
        }
        Ok(Recipient(mailbox))
    }
}

impl fmt::Display for Recipient {
    /// The mailbox as the client would write it: `Name <addr>` or `addr`, with the name quoted
    /// (lettre's form) when it holds a character that would end or split a mailbox (`,`, `"`,
    /// `<`, `@`, …). This text is what an email stores and what its sending re-reads
    /// ([`from_stored`]), so it must parse back to the same mailbox.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.name.as_deref() {
            Some(name) if plain_phrase(name) => write!(f, "{name} <{}>", self.0.email),
            _ => self.0.fmt(f),
        }
    }
}

/// A display name that reads back unquoted: words of letters and digits (any script) and
/// RFC 5322's other atom characters, one space apart.
fn plain_phrase(name: &str) -> bool {
    name.split(' ').all(|word| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
    })
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

/// Parses one optional mailbox field, recording an error under `field`.
pub fn parse_one(
    field: &str,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<Recipient> {
    let raw = raw?;
    match raw.parse() {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(FieldError::new(field, e.to_string()));
            None
        }
    }
}

/// Parses a list of mailboxes, naming each bad one (`to[1]`).
pub fn parse_list(field: &str, raw: &[String], errors: &mut Vec<FieldError>) -> Vec<Recipient> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, r)| parse_one(&format!("{field}[{i}]"), Some(r), errors))
        .collect()
}

/// Re-reads mailboxes stored by this code (they parsed once already).
pub fn from_stored(raw: &[String]) -> Result<Vec<Recipient>, Invalid> {
    let mut errors = Vec::new();
    let list = parse_list("stored", raw, &mut errors);
    if errors.is_empty() {
        Ok(list)
    } else {
        Err(Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_script_parse_and_keys_are_normalised() {
        let r: Recipient = "Zoë Ñúñez <Zoe@Example.COM>".parse().unwrap();
        assert_eq!(r.name(), Some("Zoë Ñúñez"));
        assert_eq!(r.key(), "zoe@example.com");
        assert_eq!(r.domain(), "Example.COM");
        let plain: Recipient = " ada@example.com ".parse().unwrap();
        assert_eq!(plain.to_string(), "ada@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "nope",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@localhost",
            "a@b.com\r\nBcc: x@y.z",
            "a@b.",
        ] {
            assert!(bad.parse::<Recipient>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_stored_mailbox_reads_back_as_the_same_mailbox() {
        // Found by fuzzing (edge_values): the name was printed unquoted, so `"Doe, Jane"`
        // was stored as `Doe, Jane <…>`, which does not parse, and the email failed at send.
        for given in [
            "\"Doe, Jane\" <jane@example.com>",
            "\"a \\\"quoted\\\" name\" <q@example.com>",
            "\"J. R. R.\" <t@example.com>",
            "Zoë Ñúñez <zoe@example.com>",
            "ada@example.com",
        ] {
            let r: Recipient = given.parse().unwrap();
            let stored = r.to_string();
            assert_eq!(
                from_stored(std::slice::from_ref(&stored)).unwrap(),
                vec![r],
                "{stored}"
            );
        }
        let unicode: Recipient = "Zoë Ñúñez <zoe@example.com>".parse().unwrap();
        assert_eq!(unicode.to_string(), "Zoë Ñúñez <zoe@example.com>");
    }

    #[test]
    fn list_errors_name_the_index() {
        let mut errors = Vec::new();
        let ok = parse_list("to", &["a@b.com".into(), "bad".into()], &mut errors);
        assert_eq!(ok.len(), 1);
        assert_eq!(errors[0].field, "to[1]");
    }
}
