//! Tenants' email templates (minijinja), rendered with a client's variables.

use longshore_jobs::email::templates::{MAX_RENDERED_BYTES, Template, check, render};
use serde_json::json;

use crate::input::text;

/// A template's subject, HTML and text parts as saved (`PUT /v1/email-templates/{name}`), and
/// the `variables` of an email that uses it (`POST /v1/emails`). Input: the parts and the
/// variables' JSON, separated by NUL (a missing part is absent; missing variables are a
/// fixed set).
///
/// Asserts that a template that passes the save-time check renders within the bounds (or is
/// refused with a field error), and that a rendered subject is a single line.
pub fn email_template(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0);
    let Some(subject) = parts.next().and_then(text) else {
        return;
    };
    let (html, body_text) = (parts.next().map(text), parts.next().map(text));
    if html == Some(None) || body_text == Some(None) {
        return; // not UTF-8: a JSON string cannot carry it
    }
    let (html, body_text) = (html.flatten(), body_text.flatten());
    let variables = match parts.next() {
        Some(raw) => match serde_json::from_slice(raw) {
            Ok(v) => v,
            Err(_) => return,
        },
        None => json!({"name": "Ada", "items": [1, 2, 3], "order": {"total": "12.50"}}),
    };
    let template = Template {
        name: "fuzz".into(),
        subject: subject.to_owned(),
        html: html.map(str::to_owned),
        text: body_text.map(str::to_owned),
        created_at: 0,
        updated_at: 0,
    };
    if check(&template).is_err() {
        return;
    }
    if let Ok(rendered) = render(&template, &variables) {
        assert!(!rendered.subject.contains(['\r', '\n']));
        for part in [rendered.html, rendered.text].into_iter().flatten() {
            assert!(part.len() <= MAX_RENDERED_BYTES);
        }
    }
}
