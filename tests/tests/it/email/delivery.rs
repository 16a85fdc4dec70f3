//! Delivery: what arrives, 4xx then success with one copy, 5xx bounces and suppresses.

use std::time::Duration;

use longshore_testkit::SmtpSink;
use longshore_tests::Mode;
use mail_parser::MimeHeaders;
use serde_json::json;

use super::*;
use crate::in_both_modes;

async fn arrives(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = stack(mode, &sink).await;
    let client = tenant(&stack, "Ολυμπία Shipping").await;
    let (doc, pdf) = receipt_pdf(&stack, &client).await;
    let html = "<html><body><h1>Γειά σου Zoë 🚢</h1><p>Your receipt for <b>Crane hire</b> is attached.</p>\
                <p><a href=\"https://example.com/account?a=1&amp;b=2\">Your account</a></p></body></html>";
    let email = send(
        &client,
        json!({"to": ["Zoë Ñúñez <zoe@example.com>"], "cc": ["Łukasz <lukasz@example.com>"],
               "bcc": ["audit@example.com"], "subject": "Reçu n° 1 — Ολυμπία 🚢", "html": html,
               "attachments": [{"document_id": doc}], "tags": ["receipt"]}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    let sent = wait_status(&client, id, "sent").await;
    assert_eq!(sent["attempts"], 1);
    assert!(
        sent["last_smtp_reply"].as_str().unwrap().starts_with("250"),
        "{sent}"
    );
    assert_eq!(event_types(&sent), ["queued", "sent"]);

    let received = sink.wait_for(1, DEADLINE);
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m.mail_from, "noreply@longshore.example");
    let mut rcpts = m.rcpt_to.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["audit@example.com", "lukasz@example.com", "zoe@example.com"]
    );
    let raw = m.text();
    assert!(
        raw.contains("Subject: =?utf-8?"),
        "the subject is RFC 2047 encoded: {raw:.600}"
    );
    assert!(
        !raw.to_lowercase().contains("\nbcc:"),
        "no Bcc header leaks"
    );
    let msg = parse(&m.data);
    assert_eq!(msg.subject(), Some("Reçu n° 1 — Ολυμπία 🚢"));
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(
        (to.name(), to.address()),
        (Some("Zoë Ñúñez"), Some("zoe@example.com"))
    );
    assert_eq!(
        msg.from().unwrap().first().unwrap().name(),
        Some("Longshore Tests")
    );
    assert_eq!(
        msg.reply_to().unwrap().first().unwrap().address(),
        Some("help@longshore.example")
    );
    assert_eq!(
        format!("<{}>", msg.message_id().unwrap()),
        sent["message_id"].as_str().unwrap()
    );
    assert!(msg.date().is_some());
    assert!(unsubscribe_path(&msg).starts_with("/t/u/"));
    assert_eq!(
        msg.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        raw.contains("multipart/mixed") && raw.contains("multipart/alternative"),
        "{raw:.2000}"
    );

    let text = msg.body_text(0).unwrap();
    assert!(
        text.contains("Γειά σου Zoë 🚢")
            && text.contains("Your receipt for Crane hire is attached."),
        "{text}"
    );
    assert!(
        text.contains("https://example.com/account?a=1&b=2"),
        "derived text keeps the link: {text}"
    );
    let html_part = msg.body_html(0).unwrap();
    assert!(html_part.contains("Γειά σου Zoë 🚢"));
    assert_eq!(tracking_paths(&html_part, "c").len(), 1, "{html_part}");
    assert_eq!(tracking_paths(&html_part, "o").len(), 1, "{html_part}");
    assert!(
        !html_part.contains("https://example.com/account"),
        "the link goes through the tracker"
    );

    assert_eq!(msg.attachment_count(), 1);
    let a = msg.attachment(0).unwrap();
    assert_eq!(
        a.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("application", Some("pdf")))
    );
    assert!(a.attachment_name().unwrap().ends_with(".pdf"));
    assert_eq!(
        a.contents(),
        pdf.as_slice(),
        "the stored PDF, byte for byte"
    );
}
in_both_modes!(
    a_sent_email_arrives_with_headers_parts_and_attachment,
    arrives
);

async fn deferred_then_sent(mode: Mode) {
    let sink = SmtpSink::start();
    sink.fail_next(1, 451, "4.7.1 Greylisted, try again later");
    let stack = stack(mode, &sink).await;
    let client = tenant(&stack, "acme").await;
    let email = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    let sent = wait_status(&client, id, "sent").await;
    assert_eq!(sent["attempts"], 2);
    assert_eq!(event_types(&sent), ["queued", "deferred", "sent"]);
    let deferred = &sent["events"][1];
    assert!(
        deferred["data"]["reply"].as_str().unwrap().contains("451"),
        "{deferred}"
    );
    let job = client
        .wait_for_state(sent["job_id"].as_str().unwrap(), "succeeded", DEADLINE)
        .await;
    assert_eq!(job["attempts"], 2);
    assert_eq!(sink.refused(), 1);
    // The job is finished, so nothing can send again; exactly one copy arrived.
    assert_eq!(sink.wait_for(1, DEADLINE).len(), 1);
    assert_eq!(sink.count(), 1);
}
in_both_modes!(
    a_4xx_is_deferred_then_sent_with_exactly_one_copy,
    deferred_then_sent
);

async fn bounced(mode: Mode) {
    let sink = SmtpSink::start();
    sink.reject_recipient("gone@example.com", 550, "5.1.1 No such user");
    let stack = stack(mode, &sink).await;
    let client = tenant(&stack, "acme").await;
    let email = send(
        &client,
        json!({"to": ["Gone <Gone@Example.com>"], "subject": "Hello", "html": "<p>Hi</p>"}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    let bounced = wait_status(&client, id, "bounced").await;
    assert_eq!(bounced["attempts"], 1);
    assert!(
        bounced["last_smtp_reply"].as_str().unwrap().contains("550"),
        "{bounced}"
    );
    assert_eq!(event_types(&bounced), ["queued", "bounced"]);
    let job = client
        .wait_for_state(bounced["job_id"].as_str().unwrap(), "dead", DEADLINE)
        .await;
    assert_eq!(job["attempts"], 1, "a 5xx is not retried");

    let s = client.get("/v1/suppressions/gone@example.com").await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["reason"], "bounced");
    assert_eq!(s.body["email_id"], id);

    // Later emails to the address end `suppressed` without an SMTP conversation.
    let refused = sink.refused();
    let again = send(
        &client,
        json!({"to": ["gone@example.com"], "subject": "Again", "text": "Hi"}),
    )
    .await;
    let suppressed = wait_status(&client, again["id"].as_str().unwrap(), "suppressed").await;
    assert_eq!(suppressed["attempts"], 1);
    assert_eq!(
        suppressed["suppressed_recipients"],
        json!(["gone@example.com"])
    );
    assert_eq!(event_types(&suppressed), ["queued", "suppressed"]);
    assert_eq!(sink.refused(), refused, "no RCPT was attempted");
    assert_eq!(sink.count(), 0);

    // Lifting the suppression lets mail through again.
    let d = client
        .send(
            reqwest::Method::DELETE,
            "/v1/suppressions/gone@example.com",
            |r| r,
        )
        .await;
    assert_eq!(d.status, 204);
    sink.accept_all();
    let third = send(
        &client,
        json!({"to": ["gone@example.com"], "subject": "Third", "text": "Hi"}),
    )
    .await;
    wait_status(&client, third["id"].as_str().unwrap(), "sent").await;
    assert_eq!(sink.wait_for(1, Duration::from_secs(30)).len(), 1);
}
in_both_modes!(
    a_5xx_bounces_without_retry_and_suppresses_the_address,
    bounced
);
