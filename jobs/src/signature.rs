//! The two signature schemes, over the raw request bytes: verified for what gateways send to
//! `/hooks/…`, and (Standard Webhooks) computed for what Longshore sends (`outbound::signing`).
//!
//! - Stripe: `Stripe-Signature: t=<unix secs>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over
//!   `"{t}.{body}"` keyed with the whole `whsec_…` string.
//! - Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …`
//!   (space-separated), HMAC-SHA256 over `"{id}.{timestamp}.{body}"` keyed with the base64-decoded
//!   part of the secret after `whsec_`.
//!
//! The header is read before anything is authenticated, so its cost is bounded: at most
//! [`MAX_HEADER_BYTES`] and [`MAX_CANDIDATES`] signatures (more is refused as malformed), and
//! the MAC over the body is computed once per secret, never per candidate; each candidate is
//! then compared with it in constant time. The timestamp must be within the tolerance in both
//! directions, so a captured request cannot be replayed later and a future-dated one is refused
//! too. Several secrets may be valid at once (rotation overlap).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The longest signature header read (a rotation's few signatures take a few hundred bytes).
pub const MAX_HEADER_BYTES: usize = 2048;
/// The most signatures one header may carry (senders send one per secret they sign with).
pub const MAX_CANDIDATES: usize = 8;

/// Why a request's signature was refused. The messages are safe to return to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("malformed {0} header")]
    Malformed(&'static str),
    #[error("timestamp outside the tolerance of {0} seconds")]
    Stale(i64),
    #[error("no signature matches")]
    Mismatch,
}

/// The headers of the Standard Webhooks scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Verifies a Stripe-signed body against any of `secrets`; returns the signed timestamp.
pub fn verify_stripe(
    secrets: &[&str],
    header: Option<&str>,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    const NAME: &str = "Stripe-Signature";
    let header = header.ok_or(SignatureError::Missing(NAME))?;
    if header.len() > MAX_HEADER_BYTES || header.split(',').count() > MAX_CANDIDATES + 2 {
        return Err(SignatureError::Malformed(NAME));
    }
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed(NAME))?;
        match k {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    v.parse::<i64>()
                        .map_err(|_| SignatureError::Malformed(NAME))?,
                );
            }
            "t" => return Err(SignatureError::Malformed(NAME)),
            // Undecodable hex cannot match; skip it rather than refuse the other values.
            "v1" => candidates.extend(hex::decode(v).ok()),
            _ => {} // other schemes (v0) are ignored, as Stripe's libraries do
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed(NAME))?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed(NAME));
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(SignatureError::Malformed(NAME));
    }
    let t_text = t.to_string();
    let matched = secrets.iter().any(|secret| {
        tag(secret.as_bytes(), &[t_text.as_bytes(), b".", body])
            .is_some_and(|expected| any_matches(&expected, &candidates))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    check_time(t, now_secs, tolerance_secs)?;
    Ok(t)
}

/// Verifies a Standard Webhooks body against any of `secrets` (`whsec_<base64>`); returns the
/// signed timestamp.
pub fn verify_standard(
    secrets: &[&str],
    headers: StandardHeaders<'_>,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let id = headers.id.ok_or(SignatureError::Missing("webhook-id"))?;
    let ts_text = headers
        .timestamp
        .ok_or(SignatureError::Missing("webhook-timestamp"))?;
    let sig_header = headers
        .signature
        .ok_or(SignatureError::Missing("webhook-signature"))?;
    let ts: i64 = ts_text
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed("webhook-timestamp"))?;
    if sig_header.len() > MAX_HEADER_BYTES
        || sig_header.split(' ').filter(|s| !s.is_empty()).count() > MAX_CANDIDATES
    {
        return Err(SignatureError::Malformed("webhook-signature"));
    }
    let candidates: Vec<Vec<u8>> = sig_header
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, b64)| BASE64.decode(b64).ok())
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("webhook-signature"));
    }
    let matched = secrets.iter().filter_map(|s| standard_key(s)).any(|key| {
        standard_tag(&key, id, ts_text, body)
            .is_some_and(|expected| any_matches(&expected, &candidates))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    check_time(ts, now_secs, tolerance_secs)?;
    Ok(ts)
}

/// The HMAC key of a Standard Webhooks secret: the base64 after `whsec_`, decoded.
pub fn standard_key(secret: &str) -> Option<Vec<u8>> {
    BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
}

/// The Standard Webhooks MAC: HMAC-SHA256 over `"{id}.{timestamp}.{body}"` under `key` (a
/// secret decoded by [`standard_key`]), `timestamp` exactly as sent. The scheme's one
/// implementation: [`verify_standard`] compares against it and `outbound::signing` signs with
/// it, so what Longshore sends is what it would accept.
pub fn standard_tag(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Option<[u8; 32]> {
    tag(
        key,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    )
}

/// The HMAC-SHA256 tag of `parts` under `key`: computed once, then compared per candidate.
fn tag(key: &[u8], parts: &[&[u8]]) -> Option<[u8; 32]> {
    mac(key, parts).map(|m| m.finalize().into_bytes().into())
}

/// True when any candidate equals `expected`, each compared in constant time (a wrong length
/// is refused without looking at the bytes, as `verify_slice` does).
fn any_matches(expected: &[u8; 32], candidates: &[Vec<u8>]) -> bool {
    candidates
        .iter()
        .any(|sig| bool::from(expected.as_slice().ct_eq(sig.as_slice())))
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Option<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(key).ok()?;
    for p in parts {
        m.update(p);
    }
    Some(m)
}

fn check_time(t: i64, now: i64, tolerance: i64) -> Result<(), SignatureError> {
    if now.saturating_sub(t).saturating_abs() > tolerance {
        return Err(SignatureError::Stale(tolerance));
    }
    Ok(())
}

/// Signs like Stripe does (for tests, benchmarks and the documentation).
pub fn sign_stripe(secret: &str, t: i64, body: &[u8]) -> String {
    let sig = mac(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body])
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={t},v1={sig}")
}

/// Signs like a Standard Webhooks sender does: the `webhook-signature` value.
pub fn sign_standard(secret: &str, id: &str, t: i64, body: &[u8]) -> String {
    let key = standard_key(secret).unwrap_or_default();
    let sig = standard_tag(&key, id, &t.to_string(), body)
        .map(|tag| BASE64.encode(tag))
        .unwrap_or_default();
    format!("v1,{sig}")
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
