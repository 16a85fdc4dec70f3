//! Certificate batches: 200 recipients reach `rendered: 200` with progress visible on the way.

use longshore_tests::{Mode, Stack};
use serde_json::json;

use super::*;
use crate::in_both_modes;

async fn batch_of_200(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let recipients: Vec<_> = (0..200)
        .map(|i| json!({"name": format!("Recipient Ñúñez {i}"), "email": format!("r{i}@example.com")}))
        .collect();
    let body = json!({
        "course_title": "Harbour Safety 2026", "issued_on": "2026-04-01", "credits": 2,
        "recipients": recipients, "email": {"subject": "Your certificate", "html": "<p>Attached.</p>"}
    });
    let r = client.post("/v1/certificate-batches", &body).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cbat_"));
    assert_eq!(r.body["total"], 200);
    assert_eq!(r.body["emailed"], 0);
    assert_eq!(r.body["email_recipients"], 200);

    let seen = std::sync::Mutex::new(vec![r.body["rendered"].as_u64().unwrap()]);
    let done = eventually(DEADLINE, "the batch to complete", || {
        let client = client.clone();
        let id = id.clone();
        let seen = &seen;
        async move {
            let r = client.get(&format!("/v1/certificate-batches/{id}")).await;
            assert_eq!(r.status, 200, "{}", r.text);
            seen.lock()
                .unwrap()
                .push(r.body["rendered"].as_u64().unwrap());
            (r.body["status"] == "completed").then_some(r.body)
        }
    })
    .await;
    assert_eq!(done["rendered"], 200, "{done}");
    assert_eq!(done["failed"], 0);
    // The tenant has no sender default: nothing is sent, and each certificate says why.
    let done = eventually(DEADLINE, "every email to be accounted for", || {
        let (client, id) = (client.clone(), id.clone());
        async move {
            let r = client.get(&format!("/v1/certificate-batches/{id}")).await;
            (r.body["email_failed"] == 200).then_some(r.body)
        }
    })
    .await;
    assert_eq!(done["emailed"], 0, "{done}");
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {seen:?}"
    );
    assert!(
        seen.iter().any(|n| *n < 200),
        "progress was visible before the end: {seen:?}"
    );
    let ids = done["document_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 200);
    let doc = client
        .get(&format!("/v1/documents/{}", ids[7].as_str().unwrap()))
        .await;
    assert_eq!(doc.body["status"], "ready");
    assert_eq!(doc.body["batch_id"], id.as_str());
    assert_eq!(doc.body["data"]["recipient_name"], "Recipient Ñúñez 7");
    assert!(doc.body["verification_code"].is_string());
    let why = doc.body["email_error"].as_str().unwrap_or_default();
    assert!(why.contains("no sender default"), "{}", doc.text);
}
in_both_modes!(a_batch_of_200_renders_with_visible_progress, batch_of_200);
