//! Inline attachments (`{"filename", "content_type", "content": base64}`): they arrive with
//! their name, type and exact bytes; they are stored once per content, never shown back; a bad
//! one is a 422 naming the field; a store that cannot be written is a 503.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use longshore_testkit::SmtpSink;
use longshore_tests::{Mode, Stack};
use mail_parser::MimeHeaders;
use serde_json::json;

use super::*;
use crate::in_both_modes;

/// A PDF-looking blob holding every byte value, so nothing may be re-encoded on the way.
fn pdf_bytes() -> Vec<u8> {
    let mut b = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    b.extend(0..=255u8);
    b.extend(b"\r\n\n\r\0%%EOF\n");
    b
}

const NOTES: &str = "Zoë's notes\nline two\r\nno newline at the end";

/// The objects of the stack's inline attachments (one tenant).
fn stored_objects(stack: &Stack) -> Vec<std::path::PathBuf> {
    let area = stack.dir().join("data/files/email-attachments");
    std::fs::read_dir(&area)
        .unwrap_or_else(|e| panic!("{}: {e}", area.display()))
        .flat_map(|tenant| std::fs::read_dir(tenant.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect()
}

async fn assert_nothing_recorded(client: &longshore_tests::Client) {
    let r = client.get("/v1/emails").await;
    assert_eq!(r.body["data"], json!([]), "no email recorded: {}", r.text);
}

async fn arrive(mode: Mode) {
    let sink = SmtpSink::start();
    let stack = stack(mode, &sink).await;
    let client = tenant(&stack, "acme").await;
    let pdf = pdf_bytes();
    let body = json!({"to": ["ada@example.com"], "subject": "Your invoice", "text": "Attached.",
    "attachments": [
        {"filename": "Notizen für Zoë.txt", "content_type": "text/plain; charset=utf-8",
         "content": STANDARD.encode(NOTES)},
        {"filename": "invoice.pdf", "content_type": "application/pdf",
         "content": STANDARD_NO_PAD.encode(&pdf)},
    ]});
    let created = |key: &'static str| {
        let body = body.clone();
        let client = &client;
        async move {
            let r = client
                .send(reqwest::Method::POST, "/v1/emails", |r| {
                    r.header("content-type", "application/json")
                        .header("Idempotency-Key", key)
                        .body(body.to_string())
                })
                .await;
            assert_eq!(r.status, 202, "{}", r.text);
            r.body
        }
    };
    let email = created("invoice-1").await;
    let id = email["id"].as_str().unwrap();
    assert_eq!(
        email["attachments"],
        json!([{"filename": "Notizen für Zoë.txt", "content_type": "text/plain; charset=utf-8"},
               {"filename": "invoice.pdf", "content_type": "application/pdf"}]),
        "names and types shown, never the bytes"
    );
    assert_eq!(
        created("invoice-1").await["id"],
        id,
        "a repeated request is the first email"
    );
    assert_eq!(stored_objects(&stack).len(), 2);

    let sent = wait_status(&client, id, "sent").await;
    assert_eq!(sent["attachments"], email["attachments"]);
    let received = sink.wait_for(1, DEADLINE);
    let msg = parse(&received[0].data);
    assert_eq!(msg.attachment_count(), 2, "{:.3000}", received[0].text());
    let text = msg.attachment(0).unwrap();
    assert_eq!(text.attachment_name(), Some("Notizen für Zoë.txt"));
    let ct = text.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(ct.attribute("charset"), Some("utf-8"));
    assert_eq!(text.contents(), NOTES.as_bytes(), "the text, byte for byte");
    let blob = msg.attachment(1).unwrap();
    assert_eq!(blob.attachment_name(), Some("invoice.pdf"));
    let ct = blob.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("application", Some("pdf")));
    assert!(blob.contents() == pdf.as_slice(), "the PDF, byte for byte");

    // Another email with the same PDF (another key, another name) adds no object.
    let again = send(
        &client,
        json!({"to": ["bob@example.com"], "subject": "Copy", "text": "Again.",
               "attachments": [{"filename": "copy.pdf", "content": STANDARD.encode(&pdf)}]}),
    )
    .await;
    assert_eq!(
        again["attachments"],
        json!([{"filename": "copy.pdf", "content_type": "application/octet-stream"}])
    );
    assert_eq!(stored_objects(&stack).len(), 2, "one object per content");
    wait_status(&client, again["id"].as_str().unwrap(), "sent").await;
    let received = sink.wait_for(2, DEADLINE);
    let copy = parse(&received[1].data);
    let a = copy.attachment(0).unwrap();
    assert_eq!(a.attachment_name(), Some("copy.pdf"));
    assert!(a.contents() == pdf.as_slice());
}
in_both_modes!(
    inline_attachments_arrive_with_name_type_and_exact_bytes,
    arrive
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inline_attachments_are_422_naming_the_field() {
    let sink = SmtpSink::start();
    let stack = stack(Mode::Embedded, &sink).await;
    let client = tenant(&stack, "acme").await;
    let email = |attachments: serde_json::Value| json!({"to": ["ada@example.com"], "subject": "S", "text": "T", "attachments": attachments});
    let fields = |r: &longshore_tests::Reply| -> Vec<String> {
        r.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let ok = json!({"filename": "a.txt", "content": "aGk="});
    let cases = [
        (
            json!([ok, {"filename": "b.txt", "content": "not base64!"}]),
            "attachments[1].content",
        ),
        (
            json!([{"document_id": "doc_1", "content": "aGk="}]),
            "attachments[0].content",
        ),
        (
            json!([{"filename": "../../etc/passwd", "content": "aGk="}]),
            "attachments[0].filename",
        ),
        (
            json!([{"filename": "a", "content_type": "pdf", "content": "aGk="}]),
            "attachments[0].content_type",
        ),
        (json!([ok, {}]), "attachments[1]"),
    ];
    for (attachments, field) in cases {
        let r = client.post("/v1/emails", &email(attachments)).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(fields(&r), [field], "{}", r.text);
    }
    let r = client
        .post(
            "/v1/emails",
            &email(json!([{"filename": "a", "content": "aGk=", "size": 2}])),
        )
        .await;
    assert_eq!(r.status, 422, "an unknown field: {}", r.text);
    assert_nothing_recorded(&client).await;
    assert!(
        !stack.dir().join("data/files/email-attachments").exists(),
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_that_cannot_be_written_is_a_503() {
    let sink = SmtpSink::start();
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let stack = Stack::builder(Mode::Embedded)
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env(
            "LONGSHORE_STORAGE_URL",
            &format!("file://{}/files", blocker.path().display()),
        )
        .start()
        .await;
    let client = tenant(&stack, "acme").await;
    let r = client
        .post(
            "/v1/emails",
            &json!({"to": ["ada@example.com"], "subject": "S", "text": "T",
                    "attachments": [{"filename": "a.txt", "content": "aGk="}]}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["type"], "/problems/service-unavailable");
    assert!(
        !r.text.contains(&blocker.path().display().to_string()),
        "no internal detail: {}",
        r.text
    );
    assert_nothing_recorded(&client).await;
}
