//! Standard Webhooks signatures on the requests Longshore sends, so a client's endpoint can
//! tell a call really came from Longshore and was not replayed.
//!
//! Three headers: `webhook-id` (the same on every retry, the receiver's dedup key),
//! `webhook-timestamp` (unix seconds of this attempt, so old captures go stale) and
//! `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret,
//! space-separated, so a receiver holding either the old or the new secret accepts a request
//! sent during a rotation. The MAC itself is [`crate::signature::standard_tag`], the
//! function the inbound verifier uses: one implementation of the scheme in the code base.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::signature::{standard_key, standard_tag};

/// Header carrying the message id.
pub const ID_HEADER: &str = "webhook-id";
/// Header carrying the attempt's unix timestamp, in seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// Random bytes in a generated secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// The three signature headers of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
}

impl Signed {
    /// The headers to add to the request, as (name, value).
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            (ID_HEADER, &self.id),
            (TIMESTAMP_HEADER, &self.timestamp),
            (SIGNATURE_HEADER, &self.signature),
        ]
    }
}

/// Why a request could not be signed. Never carries a secret, only its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("no signing secret")]
    NoSecret,
    #[error("signing secret #{0} is not `whsec_` followed by base64")]
    BadSecret(usize),
    #[error("the message id must not be empty or contain '.'")]
    BadId,
}

/// Signs `body` for message `id` at `timestamp` (unix seconds) with each of `secrets`
/// (`whsec_<base64>`). The id must not contain `.`, which would make the signed content
/// ambiguous.
pub fn sign(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<Signed, SigningError> {
    if id.is_empty() || id.contains('.') {
        return Err(SigningError::BadId);
    }
    if secrets.is_empty() {
        return Err(SigningError::NoSecret);
    }
    let timestamp = timestamp.to_string();
    let signatures = secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| {
            let key = standard_key(secret)
                .filter(|k| !k.is_empty())
                .ok_or(SigningError::BadSecret(i))?;
            let tag = standard_tag(&key, id, &timestamp, body).ok_or(SigningError::BadSecret(i))?;
            Ok(format!("v1,{}", BASE64.encode(tag)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Signed {
        id: id.to_owned(),
        timestamp,
        signature: signatures.join(" "),
    })
}

/// A fresh signing secret: `whsec_` and the base64 of 32 random bytes (from the OS-seeded
/// generator, as the other keys of the code base).
pub fn generate_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    format!("whsec_{}", BASE64.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{SignatureError, StandardHeaders, verify_standard};

    /// The known answer published with the Standard Webhooks reference libraries.
    #[test]
    fn matches_the_reference_libraries_known_answer() {
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signed = sign(
            &["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
        )
        .unwrap();
        assert_eq!(
            signed.signature,
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        assert_eq!(signed.timestamp, "1649367553");
    }

    fn verify(secret: &str, s: &Signed, body: &[u8]) -> Result<i64, SignatureError> {
        let headers = StandardHeaders {
            id: Some(&s.id),
            timestamp: Some(&s.timestamp),
            signature: Some(&s.signature),
        };
        verify_standard(&[secret], headers, body, 1_700_000_000, 300)
    }

    #[test]
    fn the_inbound_verifier_accepts_what_is_signed_with_either_secret() {
        let (old, new) = (generate_secret(), generate_secret());
        assert_ne!(old, new);
        let body = br#"{"task":"tsk_1"}"#;
        let signed = sign(&[&old, &new], "msg_1", 1_700_000_000, body).unwrap();
        assert_eq!(signed.signature.split(' ').count(), 2);
        assert_eq!(verify(&old, &signed, body), Ok(1_700_000_000));
        assert_eq!(verify(&new, &signed, body), Ok(1_700_000_000));
        assert_eq!(
            verify(&generate_secret(), &signed, body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_id_or_timestamp_fails_verification() {
        let secret = generate_secret();
        let signed = sign(&[&secret], "msg_1", 1_700_000_000, b"{\"a\":1}").unwrap();
        assert_eq!(
            verify(&secret, &signed, b"{\"a\":2}"),
            Err(SignatureError::Mismatch)
        );
        let other_id = Signed {
            id: "msg_2".into(),
            ..signed.clone()
        };
        assert_eq!(
            verify(&secret, &other_id, b"{\"a\":1}"),
            Err(SignatureError::Mismatch)
        );
        let other_time = Signed {
            timestamp: "1700000001".into(),
            ..signed
        };
        assert_eq!(
            verify(&secret, &other_time, b"{\"a\":1}"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn generated_secrets_decode_to_32_bytes() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(standard_key(&secret).map(|k| k.len()), Some(32));
    }

    #[test]
    fn bad_inputs_are_refused_without_echoing_the_secret() {
        assert_eq!(sign(&[], "msg_1", 1, b""), Err(SigningError::NoSecret));
        let err = sign(&["whsec_AAAA", "whsec_not base64!"], "msg_1", 1, b"").unwrap_err();
        assert_eq!(err, SigningError::BadSecret(1));
        assert!(!err.to_string().contains("base64!"));
        assert_eq!(
            sign(&["whsec_AAAA"], "msg.1", 1, b""),
            Err(SigningError::BadId)
        );
    }
}
