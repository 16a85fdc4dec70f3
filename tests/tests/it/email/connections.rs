//! The SMTP connections behind delivery: pooled connections the server closed are replaced
//! without deferring anything, commands go one at a time to a server without PIPELINING, and a
//! refused recipient among several delivers no copy to the others.

use longshore_testkit::SmtpSink;
use longshore_tests::Mode;
use serde_json::{Value, json};

use super::*;

/// A tenant on an embedded stack sending through `sink`.
async fn sending_through(sink: &SmtpSink) -> (longshore_tests::Stack, longshore_tests::Client) {
    let stack = stack(Mode::Embedded, sink).await;
    let client = tenant(&stack, "acme").await;
    (stack, client)
}

/// Sends a text email to `to` and waits until it is `status`; returns it.
async fn deliver(client: &longshore_tests::Client, to: &[&str], text: &str, status: &str) -> Value {
    let email = send(client, json!({"to": to, "subject": "Hello", "text": text})).await;
    wait_status(client, email["id"].as_str().unwrap(), status).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_closed_is_replaced_without_a_deferral() {
    let sink = SmtpSink::start();
    let (_stack, client) = sending_through(&sink).await;
    deliver(&client, &["ada@example.com"], "First", "sent").await;
    assert_eq!(sink.connections(), 1);

    // The server drops its idle connections; the pool still holds the one it used.
    sink.close_connections();
    let sent = deliver(&client, &["ada@example.com"], "Second", "sent").await;
    assert_eq!(sent["attempts"], 1, "{sent}");
    assert_eq!(event_types(&sent), ["queued", "sent"]);
    assert_eq!(
        sink.connections(),
        2,
        "a new connection replaced the closed one"
    );
    let received = sink.wait_for(2, DEADLINE);
    assert_eq!(received.len(), 2);
    assert!(received[1].text().contains("Second"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_pipelining_gets_one_command_at_a_time() {
    let sink = SmtpSink::start_without_pipelining();
    sink.reject_recipient("gone@example.com", 550, "5.1.1 No such user");
    let (_stack, client) = sending_through(&sink).await;
    let to = ["ada@example.com", "Bob <bob@example.com>"];
    let sent = deliver(&client, &to, "Hi\r\n.\r\nthere", "sent").await;
    assert!(sent["last_smtp_reply"].as_str().unwrap().starts_with("250"));
    let received = sink.wait_for(1, DEADLINE);
    assert_eq!(received[0].rcpt_to, ["ada@example.com", "bob@example.com"]);
    assert!(
        received[0].text().contains("Hi\r\n.\r\nthere"),
        "a line holding one dot survives transparency"
    );

    let bounced = deliver(&client, &["gone@example.com"], "Hi", "bounced").await;
    assert!(bounced["last_smtp_reply"].as_str().unwrap().contains("550"));
    assert_eq!(sink.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_among_several_delivers_no_copy_to_the_others() {
    let sink = SmtpSink::start();
    sink.reject_recipient("gone@example.com", 550, "5.1.1 No such user");
    let (_stack, client) = sending_through(&sink).await;
    let to = ["ada@example.com", "gone@example.com"];
    let bounced = deliver(&client, &to, "Hi", "bounced").await;
    assert!(bounced["last_smtp_reply"].as_str().unwrap().contains("550"));
    assert_eq!(event_types(&bounced), ["queued", "bounced"]);

    // The pool goes on working after the aborted transaction.
    deliver(&client, &["ada@example.com"], "Hi again", "sent").await;
    let received = sink.wait_for(1, DEADLINE);
    assert_eq!(received.len(), 1, "only the later email arrived");
    assert!(received[0].text().contains("Hi again"));
}

/// A tenant on a stack sending through a STARTTLS sink that requires AUTH as `mailer`, trusting
/// the sink's test CA and logging in with `password`.
async fn through_tls(
    password: &str,
) -> (SmtpSink, longshore_tests::Stack, longshore_tests::Client) {
    let sink = SmtpSink::start_tls("mailer", "s3cret pass");
    let url = format!("smtp://127.0.0.1:{}?tls=required", sink.port());
    let ca = SmtpSink::tls_ca_file();
    let stack = longshore_tests::Stack::builder(Mode::Embedded)
        .env("LONGSHORE_SMTP_URL", &url)
        .env("LONGSHORE_SMTP_USERNAME", "mailer")
        .env("LONGSHORE_SMTP_PASSWORD", password)
        .env("LONGSHORE_SMTP_CA_FILE", ca.to_str().unwrap())
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    (sink, stack, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_auth_carry_the_message() {
    let (sink, _stack, client) = through_tls("s3cret pass").await;
    let sent = deliver(&client, &["ada@example.com"], "Over TLS", "sent").await;
    assert_eq!(sent["attempts"], 1, "{sent}");
    // The sink takes MAIL only after STARTTLS and a successful AUTH.
    let received = sink.wait_for(1, DEADLINE);
    assert!(received[0].text().contains("Over TLS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_defers_and_never_suppresses_the_recipient() {
    let (sink, _stack, client) = through_tls("wrong").await;
    let deferred = deliver(&client, &["ada@example.com"], "Hi", "deferred").await;
    let reply = deferred["last_smtp_reply"].as_str().unwrap_or_default();
    assert!(reply.contains("535"), "{deferred}");
    assert!(
        !reply.contains("wrong"),
        "the password never shows: {reply}"
    );
    let s = client.get("/v1/suppressions/ada@example.com").await;
    assert_eq!(s.status, 404, "{}", s.text);
    assert_eq!(sink.count(), 0);
}
