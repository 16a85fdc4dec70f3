//! Tracking tokens (`/t/o/{token}`, `/t/c/{token}`, `/t/u/{token}`) and the tracking key
//! setting.

use std::sync::OnceLock;

use longshore_jobs::email::tokens::{Claims, KeyRing, MAX_TOKEN_LEN, TokenKind, is_http_link};
use longshore_jobs::ids::{EmailId, TenantId};

use crate::input::text;

/// Two keys, as during a rotation: `k2` signs, `k1` still verifies.
const KEYS: &str = "k2:fuzz-second-tracking-key-32-chars!!,k1:fuzz-first-tracking-key-of-32-chars";

fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| KeyRing::parse(KEYS).expect("the fuzz key ring parses"))
}

/// A token from a tracking URL's path segment, verified for each endpoint; also the same text
/// as the link of a click token, and as `LONGSHORE_TRACKING_KEYS`.
///
/// Asserts that a verified token is of the endpoint's kind, that a click token's link is an
/// `http(s)` link, and that re-signing what verified verifies to the same claims; that a click
/// token for any link verifies exactly when the link is trackable; and that a key ring parsed
/// from the text verifies the tokens it signs.
pub fn tracking_token(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let ring = ring();
    for kind in [TokenKind::Open, TokenKind::Click, TokenKind::Unsubscribe] {
        if let Some(claims) = ring.verify(kind, text) {
            assert_eq!(claims.kind, kind);
            assert_eq!(claims.link.is_some(), kind == TokenKind::Click);
            if let Some(link) = &claims.link {
                assert!(is_http_link(link), "a click token redirects to {link:?}");
            }
            assert_eq!(ring.verify(kind, &ring.sign(&claims)), Some(claims));
        }
    }
    let click = Claims {
        kind: TokenKind::Click,
        tenant: TenantId::from_trusted("ten_fuzz"),
        email: EmailId::from_trusted("em_fuzz"),
        issued_at: 1_700_000_000_000,
        link: Some(text.to_owned()),
    };
    let token = ring.sign(&click);
    if token.len() <= MAX_TOKEN_LEN {
        let verified = ring.verify(TokenKind::Click, &token);
        assert_eq!(verified.is_some(), is_http_link(text), "link {text:?}");
        assert!(
            ring.verify(TokenKind::Open, &token).is_none(),
            "a click token opened"
        );
    }
    if let Ok(parsed) = KeyRing::parse(text) {
        let open = Claims {
            kind: TokenKind::Open,
            link: None,
            ..click
        };
        let token = parsed.sign(&open);
        assert!(token.starts_with(&format!("{}.", parsed.signing_kid())));
        assert_eq!(parsed.verify(TokenKind::Open, &token), Some(open));
    }
}
