//! The documents API's contract: tenant isolation, 422s naming the field, listing with kind
//! filter and cursor, idempotent creation, content before ready, and the OpenAPI document.

use longshore_tests::{Mode, Stack};
use serde_json::json;

use super::*;
use crate::in_both_modes;

async fn isolation(mode: Mode) {
    let stack = Stack::start(mode).await;
    let alice = stack.tenant("alice").await;
    let bob = stack.tenant("bob").await;
    let doc = create(&alice, &certificate("Alice Example")).await;
    let id = doc["id"].as_str().unwrap();
    wait_status(&alice, id, "ready").await;
    for path in [
        format!("/v1/documents/{id}"),
        format!("/v1/documents/{id}/content"),
    ] {
        let r = bob.get(&path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.body["type"], "/problems/not-found");
    }
    assert_eq!(
        bob.post_empty(&format!("/v1/documents/{id}/revoke"))
            .await
            .status,
        404
    );
    assert_eq!(
        bob.get("/v1/documents").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let batch = alice
        .post(
            "/v1/certificate-batches",
            &json!({"course_title": "C", "issued_on": "2026-01-01", "recipients": [{"name": "A"}]}),
        )
        .await;
    assert_eq!(batch.status, 202, "{}", batch.text);
    let r = bob
        .get(&format!(
            "/v1/certificate-batches/{}",
            batch.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(
        alice.get(&format!("/v1/documents/{id}")).await.body["revoked"],
        false
    );
    assert_eq!(alice.get("/v1/documents/doc_nonsense").await.status, 404);
}
in_both_modes!(another_tenants_documents_are_not_found, isolation);

async fn field_of(
    client: &longshore_tests::Client,
    path: &str,
    body: serde_json::Value,
) -> Vec<String> {
    let r = client.post(path, &body).await;
    assert_eq!(r.status, 422, "{body}: {}", r.text);
    assert_eq!(r.body["type"], "/problems/validation-error");
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_is_422_naming_the_field() {
    let stack = Stack::start(Mode::Embedded).await;
    let c = stack.tenant("acme").await;
    let docs = "/v1/documents";
    let mut no_name = certificate("x");
    no_name["data"]
        .as_object_mut()
        .unwrap()
        .remove("recipient_name");
    assert_eq!(field_of(&c, docs, no_name).await, ["data.recipient_name"]);
    let mut long = certificate("x");
    long["data"]["recipient_name"] = json!("n".repeat(500));
    assert_eq!(field_of(&c, docs, long).await, ["data.recipient_name"]);
    let mut sum = receipt();
    sum["data"]["amount"] = json!(1_250_501);
    assert_eq!(field_of(&c, docs, sum).await, ["data.line_items"]);
    let mut cur = receipt();
    cur["data"]["currency"] = json!("XYZ");
    assert_eq!(field_of(&c, docs, cur).await, ["data.currency"]);
    let mut float = receipt();
    float["data"]["amount"] = json!(12.5);
    assert_eq!(field_of(&c, docs, float).await, ["data.amount"]);
    let mut date = certificate("x");
    date["data"]["issued_on"] = json!("14/03/2026");
    assert_eq!(field_of(&c, docs, date).await, ["data.issued_on"]);
    assert_eq!(
        field_of(&c, docs, json!({"kind": "poster", "data": {}})).await,
        ["kind"]
    );
    let mut meta = certificate("x");
    meta["metadata"] = json!([1, 2]);
    assert_eq!(field_of(&c, docs, meta).await, ["metadata"]);
    let too_many: Vec<_> = (0..10_001)
        .map(|i| json!({"name": format!("n{i}")}))
        .collect();
    let batch = json!({"course_title": "C", "issued_on": "2026-01-01", "recipients": too_many});
    assert_eq!(
        field_of(&c, "/v1/certificate-batches", batch).await,
        ["recipients"]
    );
    let bad_email = json!({"course_title": "C", "issued_on": "2026-01-01", "recipients": [{"name": "A", "email": "nope"}]});
    assert_eq!(
        field_of(&c, "/v1/certificate-batches", bad_email).await,
        ["recipients[0].email"]
    );
    assert_eq!(c.get("/v1/documents?limit=0").await.status, 422);
    assert_eq!(c.get("/v1/documents?kind=poster").await.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_filters_by_kind_and_pages_with_a_cursor() {
    let stack = Stack::start(Mode::Embedded).await;
    let c = stack.tenant("acme").await;
    let first = create(&c, &receipt()).await;
    create(&c, &certificate("A")).await;
    let last = create(&c, &receipt()).await;
    let r = c.get("/v1/documents?kind=receipt&limit=1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"][0]["id"], last["id"], "newest first");
    assert_eq!(r.body["has_more"], true);
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = c
        .get(&format!(
            "/v1/documents?kind=receipt&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(r.body["data"][0]["id"], first["id"]);
    assert_eq!(r.body["has_more"], false);
    assert_eq!(
        c.get("/v1/documents").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // An Idempotency-Key replays the same document.
    let once = |key: &'static str| {
        let c = c.clone();
        async move {
            c.send(reqwest::Method::POST, "/v1/documents", |r| {
                r.header("content-type", "application/json")
                    .header("idempotency-key", key)
                    .body(certificate("Same").to_string())
            })
            .await
        }
    };
    let (a, b) = (once("k-1").await, once("k-1").await);
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(a.body["id"], b.body["id"]);

    let spec = stack.anonymous().get("/openapi.json").await;
    for path in [
        "/v1/documents",
        "/v1/documents/{id}",
        "/v1/documents/{id}/content",
        "/v1/documents/{id}/revoke",
        "/v1/certificate-batches",
        "/v1/certificate-batches/{id}",
    ] {
        assert!(
            spec.body["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    for schema in ["CertificateData", "ReceiptData", "InvestorUpdateData"] {
        assert!(
            spec.body["components"]["schemas"][schema].is_object(),
            "{schema} not documented"
        );
    }
}
