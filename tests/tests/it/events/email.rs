//! Email events reach the app after what causes them: an SMTP server accepting the message, a
//! 5xx bounce, the open pixel, a click, a one-click unsubscribe, and a send to a suppressed
//! address, in anymail's vocabulary.

use longshore_testkit::SmtpSink;
use longshore_tests::{Mode, eventually};
use serde_json::{Value, json};

use super::{DEADLINE, body, endpoint};
use crate::email::{BROWSER, parse, send, tenant, tracking_paths, unsubscribe_path, wait_status};
use crate::in_both_modes;
use longshore_tests::receiver::Receiver;

/// The data of the first received event of `kind` about `email`, waiting for it.
async fn event_of(app: &Receiver, kind: &str, email: &str) -> Value {
    eventually(DEADLINE, &format!("{kind} of {email}"), || async {
        app.requests()
            .iter()
            .map(body)
            .find(|e| e["type"] == kind && e["data"]["email_id"] == email)
    })
    .await
}

async fn email_events_reach_the_app(mode: Mode) {
    let app = Receiver::start().await;
    let sink = SmtpSink::start();
    sink.reject_recipient("gone@example.com", 550, "5.1.1 No such user");
    let stack = longshore_tests::Stack::builder(mode)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_TRACKING_PREFETCH_WINDOW_MS", "0")
        .env("LONGSHORE_TRACKING_SCANNER_WINDOW_MS", "0")
        .env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
        .env("LONGSHORE_EVENT_POLL_MS", "100")
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    endpoint(&client, &app.url("/ok"), json!(["email.*"])).await;

    let email = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Tracked", "tags": ["welcome"],
               "metadata": {"user_id": "42"},
               "html": "<p>Hi</p><a href=\"https://example.com/pricing\">Pricing</a>"}),
    )
    .await;
    let id = email["id"].as_str().unwrap().to_owned();
    wait_status(&client, &id, "sent").await;
    let sent = event_of(&app, "email.sent", &id).await;
    assert_eq!(sent["data"]["event_type"], "sent");
    assert_eq!(sent["data"]["recipient"], "ada@example.com");
    assert_eq!(sent["data"]["tags"], json!(["welcome"]));
    assert_eq!(sent["data"]["metadata"], json!({"user_id": "42"}));
    assert!(
        sent["data"]["message_id"]
            .as_str()
            .is_some_and(|m| m.starts_with('<'))
    );
    assert!(sent["data"]["mta_response"].as_str().is_some(), "{sent}");

    // A person opens and clicks; a headless client's open is flagged as a machine's.
    let received = sink.wait_for(1, DEADLINE);
    let msg = parse(&received[0].data);
    let html = msg.body_html(0).unwrap().into_owned();
    let anon = stack.anonymous();
    let ua = |ua: &'static str| move |r: reqwest::RequestBuilder| r.header("user-agent", ua);
    let open = tracking_paths(&html, "o").remove(0);
    let click = tracking_paths(&html, "c").remove(0);
    assert_eq!(
        anon.send(reqwest::Method::GET, &open, ua(BROWSER))
            .await
            .status,
        200
    );
    anon.send(reqwest::Method::GET, &click, ua(BROWSER)).await;
    let opened = event_of(&app, "email.opened", &id).await;
    assert_eq!(opened["data"]["event_type"], "opened");
    assert_eq!(opened["data"]["machine"], false);
    assert_eq!(opened["data"]["user_agent"], BROWSER);
    let clicked = event_of(&app, "email.clicked", &id).await;
    assert_eq!(clicked["data"]["click_url"], "https://example.com/pricing");
    anon.send(reqwest::Method::GET, &open, ua("HeadlessChrome/120.0"))
        .await;
    eventually(DEADLINE, "a machine open", || async {
        app.requests()
            .iter()
            .map(body)
            .find(|e| e["type"] == "email.opened" && e["data"]["machine"] == true)
    })
    .await;

    // One-click unsubscribe; the next email to the address is suppressed, and told so.
    let path = unsubscribe_path(&msg);
    let r = anon
        .send(reqwest::Method::POST, &path, |r| {
            r.header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let unsubscribed = event_of(&app, "email.unsubscribed", &id).await;
    assert_eq!(
        unsubscribed["data"]["recipients"],
        json!(["ada@example.com"])
    );
    let again = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Again", "text": "Hi"}),
    )
    .await;
    let again = again["id"].as_str().unwrap();
    let suppressed = event_of(&app, "email.suppressed", again).await;
    assert_eq!(suppressed["data"]["event_type"], "rejected");
    assert_eq!(suppressed["data"]["reject_reason"], "unsubscribed");

    // A 5xx bounces.
    let gone = send(
        &client,
        json!({"to": ["gone@example.com"], "subject": "Hi", "text": "Hi"}),
    )
    .await;
    let gone = gone["id"].as_str().unwrap();
    let bounced = event_of(&app, "email.bounced", gone).await;
    assert_eq!(bounced["data"]["event_type"], "bounced");
    assert_eq!(bounced["data"]["reject_reason"], "bounced");
    assert!(
        bounced["data"]["mta_response"]
            .as_str()
            .unwrap_or("")
            .contains("550"),
        "{bounced}"
    );

    // Every event arrived once, each with its own id.
    let ids: Vec<String> = app
        .requests()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}
in_both_modes!(email_events_reach_the_app, email_events_reach_the_app);
