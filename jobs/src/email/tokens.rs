//! Tracking tokens: what `/t/o/{token}`, `/t/c/{token}` and `/t/u/{token}` carry.
//!
//! Format: `<kid>.<payload>.<mac>`, both base64url without padding. The payload names the kind
//! (open, click, unsubscribe), the tenant, the email, when the message was built, and for a
//! click the original link; the MAC is HMAC-SHA256 under the key `kid`, truncated to 128 bits.
//! Verifying needs no database read. Tokens never expire; a key ring with several keys lets a
//! new key sign while old ones still verify (rotation). A token whose key id is unknown, whose
//! MAC does not match, or whose payload does not parse is refused, and so no click can redirect
//! anywhere that was not signed into a sent email.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::{EmailId, TenantId};

type HmacSha256 = Hmac<Sha256>;

/// MAC bytes kept in a token.
const MAC_LEN: usize = 16;
/// Longest token accepted (a long link makes a long token).
pub const MAX_TOKEN_LEN: usize = 8192;

/// What a token is for; a token of one kind never works at another endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Open,
    Click,
    Unsubscribe,
}

impl TokenKind {
    fn tag(self) -> &'static str {
        match self {
            TokenKind::Open => "o",
            TokenKind::Click => "c",
            TokenKind::Unsubscribe => "u",
        }
    }
}

/// A verified token's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub kind: TokenKind,
    pub tenant: TenantId,
    pub email: EmailId,
    /// When the message carrying the token was built (≈ sent), ms since the epoch.
    pub issued_at: i64,
    /// Clicks: the original link.
    pub link: Option<String>,
}

/// One signing key.
#[derive(Clone)]
struct Key {
    kid: String,
    mac: HmacSha256,
}

/// The keys tokens are signed and verified with; the first signs.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        write!(f, "KeyRing({kids:?})")
    }
}

/// The key ring could not be built.
#[derive(Debug, thiserror::Error)]
#[error("tracking keys: {0}")]
pub struct KeyError(pub String);

impl KeyRing {
    /// A ring from `(kid, secret)` pairs; the first signs.
    pub fn new(keys: &[(String, String)]) -> Result<KeyRing, KeyError> {
        if keys.is_empty() {
            return Err(KeyError("at least one key is needed".into()));
        }
        let keys = keys
            .iter()
            .map(|(kid, secret)| {
                let mac = HmacSha256::new_from_slice(secret.as_bytes())
                    .map_err(|e| KeyError(e.to_string()))?;
                Ok(Key {
                    kid: kid.clone(),
                    mac,
                })
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        Ok(KeyRing { keys })
    }

    /// Parses `kid:secret,kid:secret` (see `LONGSHORE_TRACKING_KEYS`).
    pub fn parse(raw: &str) -> Result<KeyRing, KeyError> {
        crate::config::tracking_keys_syntax(raw).map_err(KeyError)?;
        let pairs: Vec<(String, String)> = raw
            .split(',')
            .filter_map(|e| e.trim().split_once(':'))
            .map(|(k, s)| (k.to_owned(), s.to_owned()))
            .collect();
        KeyRing::new(&pairs)
    }

    /// The id of the signing key.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    fn mac(key: &Key, signed: &str) -> [u8; MAC_LEN] {
        let mut mac = key.mac.clone();
        mac.update(signed.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// Signs a token with the current key.
    pub fn sign(&self, claims: &Claims) -> String {
        let key = &self.keys[0];
        let payload = format!(
            "{}\n{}\n{}\n{}\n{}",
            claims.kind.tag(),
            claims.tenant,
            claims.email,
            claims.issued_at,
            claims.link.as_deref().unwrap_or("")
        );
        let signed = format!("{}.{}", key.kid, URL_SAFE_NO_PAD.encode(payload.as_bytes()));
        let mac = Self::mac(key, &signed);
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Verifies a token meant for `kind`; `None` for anything forged, altered, unknown or misused.
    pub fn verify(&self, kind: TokenKind, token: &str) -> Option<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (signed, mac_b64) = token.rsplit_once('.')?;
        let (kid, payload_b64) = signed.split_once('.')?;
        let key = self.keys.iter().find(|k| k.kid == kid)?;
        let given = URL_SAFE_NO_PAD.decode(mac_b64).ok()?;
        if given.len() != MAC_LEN {
            return None;
        }
        let mut mac = key.mac.clone();
        mac.update(signed.as_bytes());
        // Constant-time comparison of the truncated MAC.
        mac.verify_truncated_left(&given).ok()?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload_b64).ok()?).ok()?;
        let mut parts = payload.splitn(5, '\n');
        let tag = parts.next()?;
        if tag != kind.tag() {
            return None;
        }
        let tenant: TenantId = parts.next()?.parse().ok()?;
        let email: EmailId = parts.next()?.parse().ok()?;
        let issued_at: i64 = parts.next()?.parse().ok()?;
        let link = parts.next()?;
        let link = match kind {
            TokenKind::Click if is_http_link(link) => Some(link.to_owned()),
            TokenKind::Click => return None,
            _ if link.is_empty() => None,
            _ => return None,
        };
        Some(Claims {
            kind,
            tenant,
            email,
            issued_at,
            link,
        })
    }

    /// A keyed, one-way fingerprint of an opener (IP and user agent) for unique counts.
    pub fn fingerprint(&self, email: &EmailId, ip: &str, user_agent: &str) -> String {
        let signed = format!("fp\n{email}\n{ip}\n{user_agent}");
        hex::encode(&Self::mac(&self.keys[0], &signed)[..8])
    }
}

/// True for an absolute `http://` or `https://` link (the only ones that are tracked).
pub fn is_http_link(s: &str) -> bool {
    let lower = s.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && s.len() > 8
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pairs: &[(&str, &str)]) -> KeyRing {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, s)| (k.to_string(), s.to_string()))
            .collect();
        KeyRing::new(&pairs).unwrap()
    }

    fn click() -> Claims {
        Claims {
            kind: TokenKind::Click,
            tenant: TenantId::new(),
            email: EmailId::new(),
            issued_at: 1_700_000_000_000,
            link: Some("https://example.com/a?b=c&d=ü".into()),
        }
    }

    #[test]
    fn tokens_round_trip_and_are_url_safe() {
        let r = ring(&[("k1", "a-secret-of-at-least-thirty-two-chars")]);
        let c = click();
        let t = r.sign(&c);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{t}"
        );
        assert_eq!(r.verify(TokenKind::Click, &t), Some(c));
    }

    #[test]
    fn forged_altered_and_misused_tokens_are_refused() {
        let r = ring(&[("k1", "a-secret-of-at-least-thirty-two-chars")]);
        let t = r.sign(&click());
        // Wrong endpoint.
        assert!(r.verify(TokenKind::Open, &t).is_none());
        // Every single-character change of the token is caught.
        for i in 0..t.len() {
            let mut bytes = t.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            if let Ok(altered) = String::from_utf8(bytes)
                && altered != t
            {
                assert!(
                    r.verify(TokenKind::Click, &altered).is_none(),
                    "accepted {altered}"
                );
            }
        }
        // Another key, another link, junk.
        let other = ring(&[("k1", "another-secret-of-at-least-32-chars!")]);
        assert!(other.verify(TokenKind::Click, &t).is_none());
        let mut evil = click();
        evil.link = Some("https://evil.example".into());
        let forged_payload = other.sign(&evil);
        assert!(r.verify(TokenKind::Click, &forged_payload).is_none());
        for junk in ["", ".", "..", "k1..", "k9.abc.def", "a.b.c.d"] {
            assert!(r.verify(TokenKind::Click, junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn rotated_keys_keep_old_links_working() {
        let old = ring(&[("k1", "the-first-secret-of-32-characters!!")]);
        let t_old = old.sign(&click());
        let rotated = ring(&[
            ("k2", "the-second-secret-of-32-characters!"),
            ("k1", "the-first-secret-of-32-characters!!"),
        ]);
        assert!(rotated.verify(TokenKind::Click, &t_old).is_some());
        let t_new = rotated.sign(&click());
        assert!(t_new.starts_with("k2."));
        assert!(
            old.verify(TokenKind::Click, &t_new).is_none(),
            "unknown kid"
        );
        let retired = ring(&[("k2", "the-second-secret-of-32-characters!")]);
        assert!(retired.verify(TokenKind::Click, &t_old).is_none());
    }

    #[test]
    fn only_http_links_are_clickable() {
        assert!(is_http_link("https://a.example/x"));
        assert!(is_http_link("HTTP://a.example"));
        for bad in [
            "javascript:alert(1)",
            "mailto:a@b.c",
            "//evil",
            "https://a b",
            "https://",
        ] {
            assert!(!is_http_link(bad), "{bad}");
        }
    }
}
