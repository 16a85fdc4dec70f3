//! A worker SIGKILLed after the SMTP server accepted a message and before it recorded the
//! outcome: after a restart the email ends `sent`, flagged unconfirmed, and exactly one copy
//! was delivered.

use longshore_testkit::SmtpSink;
use longshore_tests::{Mode, Stack};
use serde_json::json;

use super::*;
use crate::in_both_modes;

async fn killed_after_acceptance(mode: Mode) {
    let sink = SmtpSink::start();
    // The sink stores each message, then keeps the worker waiting for its `250`.
    sink.hold_replies();
    let mut stack = Stack::builder(mode)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        // Short lease and SMTP timeout so the takeover (lease) and the claim's expiry
        // (2 × 3 s + 15 s) come within the test's deadline.
        .env("LONGSHORE_LEASE_SECS", "3")
        .env("LONGSHORE_SMTP_TIMEOUT_SECS", "3")
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    let email = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Once", "text": "Exactly one copy"}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    assert_eq!(
        sink.wait_for(1, DEADLINE).len(),
        1,
        "the sink has the message"
    );
    stack.workers[0].kill();
    sink.release_replies();
    stack.spawn_worker();

    let sent = wait_status(&client, id, "sent").await;
    let job = client
        .wait_for_state(email["job_id"].as_str().unwrap(), "succeeded", DEADLINE)
        .await;
    assert!(job["attempts"].as_u64().unwrap() >= 2, "{job}");
    assert_eq!(event_types(&sent), ["queued", "sent"], "{sent}");
    let data = &sent["events"][1]["data"];
    assert_eq!(data["unconfirmed"], true, "{sent}");
    // The job is finished, so nothing can send again: exactly one copy arrived.
    assert_eq!(sink.count(), 1);
    assert_eq!(sink.refused(), 0);
}
in_both_modes!(
    a_worker_killed_after_the_server_accepted_sends_no_second_copy,
    killed_after_acceptance
);

/// The server stores the message and the connection drops before its final reply: the email
/// is recorded `sent`, flagged unconfirmed with the connection error as the reason, and is never
/// sent again (one copy at the server, as after a worker killed in that window).
async fn dropped_after_the_message(mode: Mode) {
    let sink = SmtpSink::start();
    sink.drop_after_data(1);
    let stack = Stack::builder(mode)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    let email = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Once", "text": "One copy, even unanswered"}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    let sent = wait_status(&client, id, "sent").await;
    let job = client
        .wait_for_state(email["job_id"].as_str().unwrap(), "succeeded", DEADLINE)
        .await;
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(event_types(&sent), ["queued", "sent"], "{sent}");
    let data = &sent["events"][1]["data"];
    assert_eq!(data["unconfirmed"], true, "{sent}");
    let reason = data["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("no reply"),
        "the reason names what happened: {sent}"
    );
    let reply = sent["last_smtp_reply"].as_str().unwrap_or_default();
    assert!(
        !reply.is_empty(),
        "the connection error is recorded: {sent}"
    );
    // The tenant's retry policy would have sent again within a second; nothing did.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(sink.count(), 1, "exactly one copy");
    assert_eq!(sink.connections(), 1, "no second conversation");
}
in_both_modes!(
    a_connection_dropped_after_the_message_sends_no_second_copy,
    dropped_after_the_message
);

/// The server stores the message and its final reply never comes: once the conversation's time
/// is up the email is recorded `sent`, unconfirmed (a timeout after the message is no 4xx), and
/// the held reply, released later, changes nothing.
async fn reply_timed_out_after_the_message(mode: Mode) {
    let sink = SmtpSink::start();
    sink.hold_replies();
    let stack = Stack::builder(mode)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        // The whole conversation is bounded by 2 × 1 s + 5 s.
        .env("LONGSHORE_SMTP_TIMEOUT_SECS", "1")
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    let email = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Once", "text": "One copy, even unanswered"}),
    )
    .await;
    let id = email["id"].as_str().unwrap();
    let sent = wait_status(&client, id, "sent").await;
    sink.release_replies();
    let job = client
        .wait_for_state(email["job_id"].as_str().unwrap(), "succeeded", DEADLINE)
        .await;
    assert_eq!(job["attempts"], 1, "{job}");
    let data = &sent["events"][1]["data"];
    assert_eq!(data["unconfirmed"], true, "{sent}");
    assert!(
        data["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("no reply within"),
        "{sent}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(sink.count(), 1, "exactly one copy");
}
in_both_modes!(
    a_reply_that_times_out_after_the_message_sends_no_second_copy,
    reply_timed_out_after_the_message
);
