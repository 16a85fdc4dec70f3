//! Operator keys (`LONGSHORE_ADMIN_KEY`): `label:secret` or bare secrets, comma-separated, so a
//! new key can be added before the old one is removed (rotation without downtime). The label
//! names the operator in the audit log; a bare secret is labelled by a fingerprint of it.
//!
//! Only SHA-256 digests are kept in memory after parsing, and a presented key is compared with
//! every configured one in constant time, so neither timing nor a memory dump of the API's
//! configuration struct after startup tells more than the environment already does.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::db::api_keys::KEY_PREFIX;

/// Shortest secret accepted: 32 characters (of a random generator, 128 bits or more).
pub const MIN_SECRET_LEN: usize = 32;
/// Longest label.
const MAX_LABEL_LEN: usize = 64;

/// Why `LONGSHORE_ADMIN_KEY` was refused. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadOperatorKey {
    #[error("entry {0}: the secret must be at least {MIN_SECRET_LEN} characters")]
    TooShort(usize),
    #[error("entry {0}: the secret must be visible ASCII without spaces or commas")]
    BadCharacters(usize),
    #[error("entry {0}: a tenant API key (`lsk_…`) cannot be an operator key")]
    TenantKey(usize),
    #[error("entry {0}: the label must be 1 to {MAX_LABEL_LEN} letters, digits, `.`, `_` or `-`")]
    BadLabel(usize),
    #[error("the label `{0}` is given twice")]
    DuplicateLabel(String),
}

/// An authenticated operator: who the audit log says acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub label: String,
}

#[derive(Debug, Clone)]
struct OperatorKey {
    label: String,
    digest: [u8; 32],
}

/// The configured operator keys.
#[derive(Debug, Clone, Default)]
pub struct OperatorKeys(Vec<OperatorKey>);

fn is_label(s: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl OperatorKeys {
    /// Parses the setting; an empty one configures no key (every operator request is refused).
    pub fn parse(list: &str) -> Result<OperatorKeys, BadOperatorKey> {
        let mut keys: Vec<OperatorKey> = Vec::new();
        for (n, entry) in list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let n = n + 1;
            let (label, secret) = match entry.split_once(':') {
                Some((label, secret)) if !label.is_empty() => {
                    if !is_label(label) {
                        return Err(BadOperatorKey::BadLabel(n));
                    }
                    (Some(label), secret)
                }
                _ => (None, entry),
            };
            if !secret.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(BadOperatorKey::BadCharacters(n));
            }
            if secret.len() < MIN_SECRET_LEN {
                return Err(BadOperatorKey::TooShort(n));
            }
            if secret.starts_with(KEY_PREFIX) {
                return Err(BadOperatorKey::TenantKey(n));
            }
            let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
            let label = label.map_or_else(
                || format!("key-{}", &hex::encode(digest)[..8]),
                str::to_owned,
            );
            if keys.iter().any(|k| k.label == label) {
                return Err(BadOperatorKey::DuplicateLabel(label));
            }
            keys.push(OperatorKey { label, digest });
        }
        Ok(OperatorKeys(keys))
    }

    /// True when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an operator key labelled `label` is configured (a dashboard session ends when
    /// its operator's key is removed from the setting).
    pub fn has_label(&self, label: &str) -> bool {
        self.0.iter().any(|k| k.label == label)
    }

    /// The operator whose key `presented` is, if any. Every configured key is compared, each
    /// in constant time, whatever matched first.
    pub fn verify(&self, presented: &str) -> Option<Operator> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for key in &self.0 {
            if bool::from(key.digest.ct_eq(&digest)) && found.is_none() {
                found = Some(Operator {
                    label: key.label.clone(),
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn labelled_and_bare_keys_verify_with_their_label() {
        let keys = OperatorKeys::parse(&format!("alice:{A}, {B}")).unwrap();
        assert_eq!(keys.verify(A).unwrap().label, "alice");
        let bare = keys.verify(B).unwrap().label;
        assert!(bare.starts_with("key-") && bare.len() == 12, "{bare}");
        assert!(keys.verify("not a key").is_none());
        assert!(keys.verify(&A[..31]).is_none());
        assert!(keys.verify(&format!("alice:{A}")).is_none());
        assert!(keys.has_label("alice") && keys.has_label(&bare));
        assert!(!keys.has_label("bob"));
    }

    #[test]
    fn an_empty_setting_has_no_keys() {
        assert!(OperatorKeys::parse("").unwrap().is_empty());
        assert!(OperatorKeys::parse(" , ").unwrap().verify("").is_none());
    }

    #[test]
    fn weak_or_confusing_keys_are_refused_without_echoing_them() {
        let short = OperatorKeys::parse("alice:short").unwrap_err();
        assert_eq!(short, BadOperatorKey::TooShort(1));
        assert!(!short.to_string().contains("short"));
        let tenant = format!("lsk_{A}");
        assert_eq!(
            OperatorKeys::parse(&tenant).unwrap_err(),
            BadOperatorKey::TenantKey(1)
        );
        assert_eq!(
            OperatorKeys::parse(&format!("{A},bad label:{B}")).unwrap_err(),
            BadOperatorKey::BadLabel(2)
        );
        assert_eq!(
            OperatorKeys::parse(&format!("x:{A},x:{B}")).unwrap_err(),
            BadOperatorKey::DuplicateLabel("x".into())
        );
        assert_eq!(
            OperatorKeys::parse(&format!("x:{A}\u{7f}")).unwrap_err(),
            BadOperatorKey::BadCharacters(1)
        );
    }
}
