//! The SMTP connections behind delivery: pooled connections the server closed are replaced
//! without deferring anything, commands go one at a time to a server without PIPELINING, and a
//! refused recipient among several delivers no copy to the others.

use longshore_testkit::SmtpSink;
use longshore_tests::Mode;
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_closed_is_replaced_without_a_deferral() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let first = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "One", "text": "First"}),
    )
    .await;
    wait_status(&client, first["id"].as_str().unwrap(), "sent").await;
    assert_eq!(sink.connections(), 1);

    // The server drops its idle connections; the pool still holds the one it used.
    sink.close_connections();
    let second = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Two", "text": "Second"}),
    )
    .await;
    let sent = wait_status(&client, second["id"].as_str().unwrap(), "sent").await;
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
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let ok = send(
        &client,
        json!({"to": ["ada@example.com", "Bob <bob@example.com>"], "subject": "Hello", "text": "Hi\r\n.\r\nthere"}),
    )
    .await;
    let sent = wait_status(&client, ok["id"].as_str().unwrap(), "sent").await;
    assert!(sent["last_smtp_reply"].as_str().unwrap().starts_with("250"));
    let received = sink.wait_for(1, DEADLINE);
    assert_eq!(received[0].rcpt_to, ["ada@example.com", "bob@example.com"]);
    assert!(
        received[0].text().contains("Hi\r\n.\r\nthere"),
        "a line holding one dot survives transparency"
    );

    let refused = send(
        &client,
        json!({"to": ["gone@example.com"], "subject": "Hello", "text": "Hi"}),
    )
    .await;
    let bounced = wait_status(&client, refused["id"].as_str().unwrap(), "bounced").await;
    assert!(bounced["last_smtp_reply"].as_str().unwrap().contains("550"));
    assert_eq!(sink.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_among_several_delivers_no_copy_to_the_others() {
    let sink = SmtpSink::start();
    sink.reject_recipient("gone@example.com", 550, "5.1.1 No such user");
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let email = send(
        &client,
        json!({"to": ["ada@example.com", "gone@example.com"], "subject": "Hello", "text": "Hi"}),
    )
    .await;
    let bounced = wait_status(&client, email["id"].as_str().unwrap(), "bounced").await;
    assert!(bounced["last_smtp_reply"].as_str().unwrap().contains("550"));
    assert_eq!(event_types(&bounced), ["queued", "bounced"]);

    // The pool goes on working after the aborted transaction.
    let next = send(
        &client,
        json!({"to": ["ada@example.com"], "subject": "Next", "text": "Hi again"}),
    )
    .await;
    wait_status(&client, next["id"].as_str().unwrap(), "sent").await;
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

/// Sends a one-line text email to ada@example.com; returns its id.
async fn send_to_ada(client: &longshore_tests::Client, text: &str) -> String {
    let email = send(
        client,
        json!({"to": ["ada@example.com"], "subject": "Hello", "text": text}),
    )
    .await;
    email["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_auth_carry_the_message() {
    let (sink, _stack, client) = through_tls("s3cret pass").await;
    let id = send_to_ada(&client, "Over TLS").await;
    let sent = wait_status(&client, &id, "sent").await;
    assert_eq!(sent["attempts"], 1, "{sent}");
    // The sink takes MAIL only after STARTTLS and a successful AUTH.
    let received = sink.wait_for(1, DEADLINE);
    assert!(received[0].text().contains("Over TLS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_defers_and_never_suppresses_the_recipient() {
    let (sink, _stack, client) = through_tls("wrong").await;
    let id = send_to_ada(&client, "Hi").await;
    let deferred = wait_status(&client, &id, "deferred").await;
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
