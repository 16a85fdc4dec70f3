//! Gateway webhook bodies (`/hooks/{id}`), after their signature verified.

use longshore_jobs::webhooks::Provider;
use longshore_jobs::webhooks::normalize::{head, normalize, parse};

use crate::input::{first_line, text};

/// A provider's event body. Input: the provider's word (`stripe`, `standard`; anything else
/// tries both), `\n`, the raw body.
///
/// Asserts that the fast path the applier uses (reading only the fields it needs) agrees with
/// normalising the whole document, whenever both can read the body: the same event.
pub fn gateway_webhook(data: &[u8]) {
    let (provider, body) = first_line(data);
    let providers = match text(provider).and_then(|p| p.parse().ok()) {
        Some(p) => vec![p],
        None => Provider::ALL.to_vec(),
    };
    for provider in providers {
        let Ok(h) = head(provider, body) else {
            continue;
        };
        let Some(body) = text(body) else { continue };
        let Ok(fast) = parse(provider, &h.event_type, body) else {
            continue;
        };
        // Numbers beyond f64 (`1e700`) are text to the fast path, an error to a whole parse.
        let Ok(whole) = serde_json::from_str::<serde_json::Value>(body) else {
            continue;
        };
        assert_eq!(normalize(provider, &h.event_type, &whole), Ok(fast));
    }
}
