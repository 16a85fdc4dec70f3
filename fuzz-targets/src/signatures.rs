//! Gateway webhook signature headers, both schemes, against fixed secrets and a fixed clock.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use longshore_jobs::signature::{
    StandardHeaders, sign_standard, sign_stripe, standard_key, standard_tag, verify_standard,
    verify_stripe,
};

use crate::input::{first_line, text};

/// A Stripe endpoint secret (the whole `whsec_…` string is the HMAC key).
const STRIPE_SECRET: &str = "whsec_fuzz0123456789abcdefghijklmnopqrstuvwxyz";
/// A Standard Webhooks secret (the base64 after `whsec_` is the key): the spec's example.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The receiver's clock and tolerance.
const NOW: i64 = 1_700_000_000;
const TOLERANCE: i64 = 300;

/// `Stripe-Signature` and the raw body of a `/hooks/{id}` request from a Stripe endpoint.
/// Input: the header value, `\n`, the body (an empty first line is an absent header).
///
/// Asserts that only a header carrying the true MAC of its timestamp and the body verifies,
/// at a timestamp within the tolerance, and that what [`sign_stripe`] makes for the fuzzed
/// body verifies, also among rotated secrets.
pub fn stripe_signature(data: &[u8]) {
    let (header, body) = first_line(data);
    if let Some(header) = text(header) {
        let given = (!header.is_empty()).then_some(header);
        if let Ok(t) = verify_stripe(&[STRIPE_SECRET], given, body, NOW, TOLERANCE) {
            assert!(
                (NOW - t).abs() <= TOLERANCE,
                "accepted a stale timestamp {t}"
            );
            let true_sig = sign_stripe(STRIPE_SECRET, t, body);
            let (_, hex) = true_sig.split_once(",v1=").expect("sign_stripe's shape");
            let header = header.to_ascii_lowercase(); // hex digits in either case
            assert!(
                header.contains(hex),
                "accepted {header:?} without the true MAC"
            );
        }
    }
    let signed = sign_stripe(STRIPE_SECRET, NOW, body);
    let rotated = ["whsec_retired", STRIPE_SECRET];
    assert_eq!(
        verify_stripe(&rotated, Some(&signed), body, NOW, TOLERANCE),
        Ok(NOW),
        "our own signature of {body:?} was refused"
    );
}

/// The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers and the raw body of a
/// `/hooks/{id}` request from a Standard Webhooks endpoint. Input: the three header values and
/// the body, separated by `\n`.
///
/// Asserts that only a signature header carrying the true MAC of the id, the timestamp as sent
/// and the body verifies, within the tolerance, and that what [`sign_standard`] makes for the
/// fuzzed id and body verifies (this scheme also signs Longshore's own outbound events).
pub fn standard_signature(data: &[u8]) {
    let (id, rest) = first_line(data);
    let (timestamp, rest) = first_line(rest);
    let (signature, body) = first_line(rest);
    let (Some(id), Some(timestamp), Some(signature)) = (text(id), text(timestamp), text(signature))
    else {
        return;
    };
    let headers = StandardHeaders {
        id: Some(id),
        timestamp: Some(timestamp),
        signature: Some(signature),
    };
    if let Ok(ts) = verify_standard(&[STANDARD_SECRET], headers, body, NOW, TOLERANCE) {
        assert!(
            (NOW - ts).abs() <= TOLERANCE,
            "accepted a stale timestamp {ts}"
        );
        let key = standard_key(STANDARD_SECRET).expect("a valid secret");
        let tag = standard_tag(&key, id, timestamp, body).expect("HMAC takes any key");
        assert!(
            signature.contains(&BASE64.encode(tag)),
            "accepted {signature:?} without the true MAC"
        );
    }
    let signed = sign_standard(STANDARD_SECRET, id, NOW, body);
    let now_text = NOW.to_string();
    let ours = StandardHeaders {
        id: Some(id),
        timestamp: Some(&now_text),
        signature: Some(&signed),
    };
    assert_eq!(
        verify_standard(&[STANDARD_SECRET], ours, body, NOW, TOLERANCE),
        Ok(NOW),
        "our own signature of id {id:?} was refused"
    );
}
