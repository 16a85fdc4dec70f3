//! Each kind renders to a valid PDF with its pages and text; non-Latin names; determinism.

use longshore_tests::{Mode, Stack};

use super::*;
use crate::in_both_modes;

async fn each_kind(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("Harbour Academy").await;
    let cert = create(&client, &certificate("Zoë Ñúñez")).await;
    let rec = create(&client, &receipt()).await;
    let inv = create(&client, &investor_update(70)).await;

    let text = rendered_text(&stack, &client, &cert, 1).await;
    for s in [
        "Zoë Ñúñez",
        "Safe Lifting Practice",
        "3.5 CPD credits",
        "14 March 2026",
        "Harbour Academy",
        cert["verification_code"].as_str().unwrap(),
    ] {
        assert!(text.contains(s), "{s:?} not in certificate: {text}");
    }
    let text = rendered_text(&stack, &client, &rec, 1).await;
    assert_eq!(rec["receipt_number"], "R-000001");
    for s in [
        "R-000001",
        "Łukasz Wróbel",
        "KWD 1,200.000",
        "KWD 50.500",
        "KWD 1,250.500",
        "INV-77",
    ] {
        assert!(text.contains(s), "{s:?} not in receipt: {text}");
    }
    let pages = wait_status(&client, inv["id"].as_str().unwrap(), "ready").await["pages"]
        .as_u64()
        .unwrap();
    assert!(
        pages >= 2,
        "a long investor update flows onto {pages} pages"
    );
    let text = rendered_text(&stack, &client, &inv, pages).await;
    assert!(text.contains("Ολυμπία Shipping") && text.contains("Paragraph 69."));

    // The next receipt takes the next number.
    let second = create(&client, &receipt()).await;
    assert_eq!(second["receipt_number"], "R-000002");
}
in_both_modes!(each_kind_renders_to_a_valid_pdf_with_its_text, each_kind);

async fn names(mode: Mode) {
    let stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    for name in ["Łukasz Wróbel", "Ολυμπία", "Zoë Ñúñez"] {
        let doc = create(&client, &certificate(name)).await;
        let text = rendered_text(&stack, &client, &doc, 1).await;
        assert!(text.contains(name), "{name:?} not extracted: {text}");
    }
    let crab = create(&client, &certificate("Ferris 🦀")).await;
    let failed = wait_status(&client, crab["id"].as_str().unwrap(), "failed").await;
    let reason = failed["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("data.recipient_name") && reason.contains("U+1F980"),
        "{reason}"
    );
    let job = client
        .wait_for_state(crab["job_id"].as_str().unwrap(), "dead", DEADLINE)
        .await;
    assert_eq!(
        job["attempts"], 1,
        "a font problem is permanent: no retries"
    );
}
in_both_modes!(
    non_latin_names_extract_and_undrawable_text_fails_clearly,
    names
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_data_renders_identical_bytes() {
    let stack = Stack::start(Mode::Embedded).await;
    let client = stack.tenant("acme").await;
    let a = create(&client, &investor_update(3)).await;
    let b = create(&client, &investor_update(3)).await;
    let a = wait_status(&client, a["id"].as_str().unwrap(), "ready").await;
    let b = wait_status(&client, b["id"].as_str().unwrap(), "ready").await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["sha256"], b["sha256"], "same data, same PDF bytes");
    let c = create(&client, &investor_update(4)).await;
    let c = wait_status(&client, c["id"].as_str().unwrap(), "ready").await;
    assert_ne!(a["sha256"], c["sha256"]);
}
