//! Vectors computed independently (the `hmac` crate directly, and the Standard Webhooks
//! project's published example), then every way a request can be wrong.

use super::*;

const STRIPE_SECRET: &str = "whsec_test_secret_for_vectors";
const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
const NOW: i64 = 1_700_000_000;

/// HMAC-SHA256 computed here, without the module's helpers.
fn independent_hex(key: &[u8], message: &[u8]) -> String {
    let mut m = HmacSha256::new_from_slice(key).unwrap();
    m.update(message);
    hex::encode(m.finalize().into_bytes())
}

#[test]
fn stripe_accepts_an_independently_computed_signature() {
    let message = [format!("{NOW}.").as_bytes(), BODY].concat();
    let sig = independent_hex(STRIPE_SECRET.as_bytes(), &message);
    let header = format!("t={NOW},v1={sig}");
    assert_eq!(
        verify_stripe(&[STRIPE_SECRET], Some(&header), BODY, NOW, 300),
        Ok(NOW)
    );
    assert_eq!(sign_stripe(STRIPE_SECRET, NOW, BODY), header);
}

#[test]
fn stripe_accepts_any_of_several_v1_values_and_ignores_v0() {
    let good = sign_stripe(STRIPE_SECRET, NOW, BODY);
    let sig = good.split("v1=").nth(1).unwrap();
    let header = format!("t={NOW},v0=abc,v1={},v1={sig}", "00".repeat(32));
    assert!(verify_stripe(&[STRIPE_SECRET], Some(&header), BODY, NOW, 300).is_ok());
}

#[test]
fn stripe_refuses_tampering_reserialising_and_wrong_secrets() {
    let header = sign_stripe(STRIPE_SECRET, NOW, BODY);
    let tampered = br#"{"id":"evt_1","type":"payment_intent.succeedeD"}"#;
    let respaced = br#"{"id": "evt_1", "type": "payment_intent.succeeded"}"#;
    for body in [&tampered[..], &respaced[..]] {
        assert_eq!(
            verify_stripe(&[STRIPE_SECRET], Some(&header), body, NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }
    assert_eq!(
        verify_stripe(&["whsec_other"], Some(&header), BODY, NOW, 300),
        Err(SignatureError::Mismatch)
    );
    // With two secrets valid (rotation overlap) either one verifies.
    assert!(
        verify_stripe(
            &["whsec_other", STRIPE_SECRET],
            Some(&header),
            BODY,
            NOW,
            300
        )
        .is_ok()
    );
}

#[test]
fn stripe_refuses_old_future_missing_and_malformed() {
    let old = sign_stripe(STRIPE_SECRET, NOW - 301, BODY);
    assert_eq!(
        verify_stripe(&[STRIPE_SECRET], Some(&old), BODY, NOW, 300),
        Err(SignatureError::Stale(300))
    );
    let future = sign_stripe(STRIPE_SECRET, NOW + 301, BODY);
    assert_eq!(
        verify_stripe(&[STRIPE_SECRET], Some(&future), BODY, NOW, 300),
        Err(SignatureError::Stale(300))
    );
    for extreme in [i64::MIN, i64::MAX] {
        let signed = sign_stripe(STRIPE_SECRET, extreme, BODY);
        assert_eq!(
            verify_stripe(&[STRIPE_SECRET], Some(&signed), BODY, NOW, 300),
            Err(SignatureError::Stale(300))
        );
    }
    let edge = sign_stripe(STRIPE_SECRET, NOW - 300, BODY);
    assert!(verify_stripe(&[STRIPE_SECRET], Some(&edge), BODY, NOW, 300).is_ok());
    assert!(matches!(
        verify_stripe(&[STRIPE_SECRET], None, BODY, NOW, 300),
        Err(SignatureError::Missing(_))
    ));
    for bad in [
        "",
        "t=abc,v1=00",
        "v1=00",
        &format!("t={NOW}"),
        &format!("t={NOW},t={NOW},v1=00"),
    ] {
        assert!(
            matches!(
                verify_stripe(&[STRIPE_SECRET], Some(bad), BODY, NOW, 300),
                Err(SignatureError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

/// The example of the Standard Webhooks specification's reference libraries.
#[test]
fn standard_matches_the_published_example() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    let ts = 1614265330;
    let body = br#"{"test": 2432232314}"#;
    let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert_eq!(sign_standard(secret, id, ts, body), expected);
    let headers = StandardHeaders {
        id: Some(id),
        timestamp: Some("1614265330"),
        signature: Some(expected),
    };
    assert_eq!(verify_standard(&[secret], headers, body, ts, 300), Ok(ts));
}

#[test]
fn standard_accepts_an_independent_signature_among_several() {
    let secret = "whsec_c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5";
    let key = BASE64
        .decode("c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5")
        .unwrap();
    let message = [format!("msg_1.{NOW}.").as_bytes(), BODY].concat();
    let sig = hex::decode(independent_hex(&key, &message)).unwrap();
    let header = format!(
        "v1,{} v1a,xyz v1,{}",
        BASE64.encode([0u8; 32]),
        BASE64.encode(sig)
    );
    let ts = NOW.to_string();
    let headers = StandardHeaders {
        id: Some("msg_1"),
        timestamp: Some(&ts),
        signature: Some(&header),
    };
    assert_eq!(verify_standard(&[secret], headers, BODY, NOW, 300), Ok(NOW));
    // The id is signed: the same signature under another id fails.
    let other = StandardHeaders {
        id: Some("msg_2"),
        ..headers
    };
    assert_eq!(
        verify_standard(&[secret], other, BODY, NOW, 300),
        Err(SignatureError::Mismatch)
    );
    let respaced = br#"{"id": "evt_1", "type": "payment_intent.succeeded"}"#;
    assert_eq!(
        verify_standard(&[secret], headers, respaced, NOW, 300),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn standard_refuses_stale_future_and_missing_headers() {
    let secret = "whsec_c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5";
    for t in [NOW - 301, NOW + 301] {
        let sig = sign_standard(secret, "msg_1", t, BODY);
        let ts = t.to_string();
        let h = StandardHeaders {
            id: Some("msg_1"),
            timestamp: Some(&ts),
            signature: Some(&sig),
        };
        assert_eq!(
            verify_standard(&[secret], h, BODY, NOW, 300),
            Err(SignatureError::Stale(300))
        );
    }
    let sig = sign_standard(secret, "msg_1", NOW, BODY);
    let ts = NOW.to_string();
    let full = StandardHeaders {
        id: Some("msg_1"),
        timestamp: Some(&ts),
        signature: Some(&sig),
    };
    for h in [
        StandardHeaders { id: None, ..full },
        StandardHeaders {
            timestamp: None,
            ..full
        },
        StandardHeaders {
            signature: None,
            ..full
        },
    ] {
        assert!(matches!(
            verify_standard(&[secret], h, BODY, NOW, 300),
            Err(SignatureError::Missing(_))
        ));
    }
    let garbage = StandardHeaders {
        signature: Some("nonsense"),
        ..full
    };
    assert!(matches!(
        verify_standard(&[secret], garbage, BODY, NOW, 300),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn stripe_bounds_the_header_before_any_mac() {
    let good = sign_stripe(STRIPE_SECRET, NOW, BODY);
    let sig = good.split("v1=").nth(1).unwrap();
    let filler = "00".repeat(32);
    // Up to MAX_CANDIDATES signatures (a rotation's few) still verify, wherever the good one is.
    let mut parts: Vec<String> = vec![format!("t={NOW}")];
    parts.extend((1..MAX_CANDIDATES).map(|_| format!("v1={filler}")));
    parts.push(format!("v1={sig}"));
    let header = parts.join(",");
    assert!(verify_stripe(&[STRIPE_SECRET], Some(&header), BODY, NOW, 300).is_ok());
    // Thousands of candidates, valid or not, are refused as malformed, before any MAC.
    let many = format!("t={NOW},{}v1={sig}", format!("v1={filler},").repeat(5_000));
    assert_eq!(
        verify_stripe(&[STRIPE_SECRET], Some(&many), BODY, NOW, 300),
        Err(SignatureError::Malformed("Stripe-Signature"))
    );
    let junk = format!("t={NOW},{}v1={sig}", "v1=zz,".repeat(MAX_CANDIDATES + 2));
    assert_eq!(
        verify_stripe(&[STRIPE_SECRET], Some(&junk), BODY, NOW, 300),
        Err(SignatureError::Malformed("Stripe-Signature"))
    );
    let long = format!("t={NOW},v0={},v1={sig}", "a".repeat(MAX_HEADER_BYTES));
    assert_eq!(
        verify_stripe(&[STRIPE_SECRET], Some(&long), BODY, NOW, 300),
        Err(SignatureError::Malformed("Stripe-Signature"))
    );
}

#[test]
fn standard_bounds_the_header_before_any_mac() {
    let secret = "whsec_c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5";
    let good = sign_standard(secret, "msg_1", NOW, BODY);
    let ts = NOW.to_string();
    let filler = format!("v1,{}", BASE64.encode([0u8; 32]));
    let check = |header: &str| {
        verify_standard(
            &[secret],
            StandardHeaders {
                id: Some("msg_1"),
                timestamp: Some(&ts),
                signature: Some(header),
            },
            BODY,
            NOW,
            300,
        )
    };
    let mut few: Vec<String> = vec![filler.clone(); MAX_CANDIDATES - 1];
    few.push(good.clone());
    assert_eq!(check(&few.join(" ")), Ok(NOW));
    let many = format!("{}{good}", format!("{filler} ").repeat(5_000));
    assert_eq!(
        check(&many),
        Err(SignatureError::Malformed("webhook-signature"))
    );
    let long = format!("v1,{} {good}", "A".repeat(MAX_HEADER_BYTES));
    assert_eq!(
        check(&long),
        Err(SignatureError::Malformed("webhook-signature"))
    );
}

#[test]
fn one_mac_per_secret_compares_against_every_candidate() {
    let expected = tag(b"key", &[b"a", b".", b"b"]).unwrap();
    let mut m = HmacSha256::new_from_slice(b"key").unwrap();
    m.update(b"a.b");
    assert_eq!(expected[..], m.finalize().into_bytes()[..]);
    let wrong = vec![0u8; 32];
    let short = expected[..31].to_vec();
    assert!(any_matches(&expected, &[wrong.clone(), expected.to_vec()]));
    assert!(!any_matches(&expected, &[wrong, short]));
}
