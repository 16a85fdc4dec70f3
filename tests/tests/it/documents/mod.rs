//! PDF documents end to end: each kind renders to a valid PDF with the expected pages and text,
//! non-Latin names survive, identical data gives identical bytes, certificates verify publicly
//! (JSON and HTML; revoked, unknown and malformed codes refused; rate-limited), batches show
//! progress, tenants are isolated, and bad data is a 422 naming the field.

use std::io::Write;
use std::time::Duration;

use longshore_tests::{Client, Stack, eventually};
use serde_json::{Value, json};

mod api;
mod batches;
mod render;
mod storage;
mod verify;

pub const DEADLINE: Duration = Duration::from_secs(120);

pub fn certificate(name: &str) -> Value {
    json!({"kind": "certificate", "data": {"recipient_name": name, "course_title": "Safe Lifting Practice", "issued_on": "2026-03-14", "credits": 3.5}})
}

pub fn receipt() -> Value {
    json!({"kind": "receipt", "data": {
        "amount": 1_250_500, "currency": "KWD", "reference": "INV-77", "paid_at": "2026-02-01T09:15:00Z",
        "customer_name": "Łukasz Wróbel",
        "line_items": [{"description": "Crane hire", "quantity": 3, "amount": 1_200_000}, {"description": "Fuel", "amount": 50_500}]
    }})
}

pub fn investor_update(paragraphs: usize) -> Value {
    let body: Vec<String> = (0..paragraphs)
        .map(|i| format!("Paragraph {i}. Throughput at the northern terminal rose again this quarter while costs stayed flat, and the new berth opened on schedule."))
        .collect();
    json!({"kind": "investor_update", "data": {
        "company": "Ολυμπία Shipping", "period": "Q1 2026",
        "kpis": [{"name": "TEU handled", "value": "1.2M", "change": "+8%"}],
        "sections": [{"heading": "Operations", "body": body.join("\n\n")}, {"heading": "Outlook", "body": "Steady growth."}]
    }})
}

pub async fn create(client: &Client, body: &Value) -> Value {
    let r = client.post("/v1/documents", body).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["status"], "queued");
    assert!(r.body["job_id"].as_str().unwrap().starts_with("job_"));
    r.body
}

pub async fn wait_status(client: &Client, id: &str, status: &str) -> Value {
    eventually(
        DEADLINE,
        &format!("document {id} to be {status}"),
        || async {
            let r = client.get(&format!("/v1/documents/{id}")).await;
            (r.status == 200 && r.body["status"] == status).then_some(r.body)
        },
    )
    .await
}

/// The PDF bytes and the response headers of a document's content.
pub async fn download(
    stack: &Stack,
    client: &Client,
    id: &str,
) -> (Vec<u8>, reqwest::header::HeaderMap) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/documents/{id}/content", stack.base_url()))
        .bearer_auth(client.key().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    (resp.bytes().await.unwrap().to_vec(), headers)
}

pub fn pdftotext(pdf: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(file.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn sha256(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

pub async fn rendered_text(stack: &Stack, client: &Client, doc: &Value, pages: u64) -> String {
    let id = doc["id"].as_str().unwrap();
    let ready = wait_status(client, id, "ready").await;
    assert_eq!(ready["pages"], pages, "{ready}");
    let (pdf, headers) = download(stack, client, id).await;
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(headers["content-type"], "application/pdf");
    let sha = sha256(&pdf);
    assert_eq!(
        ready["sha256"],
        sha.as_str(),
        "the recorded sha256 is the stored bytes'"
    );
    assert_eq!(headers["etag"].to_str().unwrap(), format!("\"{sha}\""));
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".pdf")
    );
    assert_eq!(ready["bytes"], pdf.len() as u64);
    let text = pdftotext(&pdf);
    assert_eq!(
        text.matches('\u{c}').count() as u64,
        pages,
        "pdftotext sees {pages} pages"
    );
    text
}
