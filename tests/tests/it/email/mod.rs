//! Email end to end, against the real binaries and a real SMTP server in the test process
//! (`testkit::SmtpSink`): delivery with headers, parts and a rendered PDF attached; 4xx then
//! success with one copy; 5xx bounces and suppresses; opens and clicks recorded and redirected;
//! forged tokens refused; one-click unsubscribe; templates; tenant isolation; unicode; inline
//! attachments (bytes exact, stored once, 422s naming the field, 503 on a broken store).

use std::time::Duration;

use longshore_testkit::SmtpSink;
use longshore_tests::{Client, Mode, Stack, eventually};
use mail_parser::{Message, MessageParser};
use serde_json::{Value, json};

mod api;
mod connections;
mod crash;
mod delivery;
mod domain_rate;
mod inline;
mod tracking;

pub const DEADLINE: Duration = Duration::from_secs(90);

/// The default sender the tests configure.
pub const FROM: &str = "Longshore Tests <noreply@longshore.example>";

/// A firefox user agent (a person).
pub const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A stack whose workers send to `sink`, with the "at delivery" machine windows off (so the
/// tests' immediate opens and clicks count as human unless a rule says otherwise).
pub async fn stack(mode: Mode, sink: &SmtpSink) -> Stack {
    Stack::builder(mode)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_TRACKING_PREFETCH_WINDOW_MS", "0")
        .env("LONGSHORE_TRACKING_SCANNER_WINDOW_MS", "0")
        .start()
        .await
}

/// A tenant with a default sender and a quick retry policy.
pub async fn tenant(stack: &Stack, name: &str) -> Client {
    let client = stack.tenant(name).await;
    let r = client
        .send(reqwest::Method::PUT, "/v1/email-settings", |r| {
            r.header("content-type", "application/json").body(
                json!({"from": FROM, "reply_to": "help@longshore.example", "retry_base_ms": 200, "retry_max_ms": 1000})
                    .to_string(),
            )
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    client
}

/// Sends an email, asserting 202 and `queued`.
pub async fn send(client: &Client, body: Value) -> Value {
    let r = client.post("/v1/emails", &body).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["status"], "queued");
    assert!(r.body["id"].as_str().unwrap().starts_with("em_"));
    r.body
}

/// Waits until the email is `status`; returns it.
pub async fn wait_status(client: &Client, id: &str, status: &str) -> Value {
    eventually(DEADLINE, &format!("email {id} to be {status}"), || async {
        let r = client.get(&format!("/v1/emails/{id}")).await;
        (r.status == 200 && r.body["status"] == status).then_some(r.body)
    })
    .await
}

/// Waits until `check` holds for the email; returns it.
pub async fn wait_email(
    client: &Client,
    id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(DEADLINE, what, || async {
        let r = client.get(&format!("/v1/emails/{id}")).await;
        (r.status == 200 && check(&r.body)).then_some(r.body)
    })
    .await
}

/// Parses a received message.
pub fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .expect("a parsable message")
}

/// The event types of an email, in order.
pub fn event_types(email: &Value) -> Vec<String> {
    email["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The tracking URLs (`/t/<kind>/<token>`) in a decoded HTML body, as paths.
pub fn tracking_paths(html: &str, kind: &str) -> Vec<String> {
    let needle = format!("/t/{kind}/");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        let tail = &rest[at..];
        let end = tail.find(['"', '\'', ' ', '>']).unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

/// The path (`/t/u/<token>`) of a message's `List-Unsubscribe` header.
pub fn unsubscribe_path(msg: &Message<'_>) -> String {
    let raw = msg
        .header_raw("List-Unsubscribe")
        .expect("List-Unsubscribe");
    let at = raw.find("/t/u/").expect("an unsubscribe URL");
    raw[at..].trim().trim_end_matches('>').to_owned()
}

/// A ready receipt PDF of the client's tenant: its id and bytes.
pub async fn receipt_pdf(stack: &Stack, client: &Client) -> (String, Vec<u8>) {
    let r = client
        .post(
            "/v1/documents",
            &json!({"kind": "receipt", "data": {
                "amount": 1250, "currency": "EUR", "reference": "INV-9", "paid_at": "2026-02-01T09:15:00Z",
                "customer_name": "Zoë Ñúñez", "line_items": [{"description": "Crane hire", "amount": 1250}]
            }}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    eventually(DEADLINE, "the receipt to render", || async {
        let r = client.get(&format!("/v1/documents/{id}")).await;
        (r.body["status"] == "ready").then_some(())
    })
    .await;
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/documents/{id}/content", stack.base_url()))
        .bearer_auth(client.key().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    (id, resp.bytes().await.unwrap().to_vec())
}
