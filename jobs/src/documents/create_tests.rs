//! Creating a document or a certificate batch under a derived id (an `Idempotency-Key`'s work)
//! is done once: creating it again returns the recorded one, hands its job over again only
//! while it waits on it, and a row whose dispatch failed is kept for the retry to hand over.

use serde_json::json;

use super::batch_service::{self, BatchStatus};
use super::batches::{BatchRequest, Recipient};
use super::kinds::DocumentKind;
use super::service::{self, DocumentError, NewDocument};
use crate::clock::now_ms;
use crate::db::{count_rows, set_status, test_databases as databases};
use crate::ids::{BatchId, DocumentId, TenantId};
use crate::intent::Intent;
use crate::intent::test_support::Recorder;

const BASE: &str = "https://docs.example.com";

fn receipt() -> NewDocument {
    NewDocument {
        kind: DocumentKind::Receipt,
        data: json!({
            "amount": 1500, "currency": "EUR", "reference": "ORD-1",
            "paid_at": "2026-03-01T10:00:00Z", "customer_name": "Ada",
            "line_items": [{"description": "Tea", "amount": 1000}, {"description": "Cake", "amount": 500}]
        }),
        metadata: None,
        email: None,
    }
}

fn certificates(n: usize) -> BatchRequest {
    BatchRequest {
        course_title: "Harbour Safety".into(),
        issued_on: "2026-05-01".parse().expect("date"),
        credits: None,
        issuer: None,
        recipients: (0..n)
            .map(|i| Recipient {
                name: format!("Reader {i}"),
                email: None,
            })
            .collect(),
        email: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_created_again_under_its_id_is_the_recorded_one() {
    for (db, _dir) in databases().await {
        let (tenant, out) = (TenantId::new(), Recorder::default());
        let id = DocumentId::derived(now_ms(), "work");
        let create =
            || service::create(&db, &out, BASE, &tenant, Some(id.clone()), receipt(), None);
        // Two runs of the same work at once (a retry took over a slow request's key).
        let (first, again) = tokio::join!(create(), create());
        let (first, again) = (first.expect("first"), again.expect("again"));
        assert_eq!((&first.id, &again.id), (&id, &id));
        assert_eq!(
            again.receipt_number, first.receipt_number,
            "one receipt number"
        );
        assert_eq!(count_rows(&db, "documents", &tenant).await, 1);
        let render = Intent::RenderDocument {
            document: id.clone(),
        };
        assert_eq!(
            out.intents(),
            [render.clone(), render.clone()],
            "its render handed over again while it waits (a no-op on the derived job id)"
        );
        // Once it is final, creating it again hands nothing over.
        set_status(&db, "documents", id.as_str(), "ready").await;
        let ready = create().await.expect("ready again");
        assert_eq!(ready.id, id);
        assert_eq!(out.intents().len(), 2);
        // The next receipt takes the next number: the repeats took none.
        let other = service::create(&db, &out, BASE, &tenant, None, receipt(), None)
            .await
            .expect("another receipt");
        assert_eq!(other.receipt_number.as_deref(), Some("R-000002"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_document_whose_dispatch_failed_is_kept_for_the_retry() {
    for (db, _dir) in databases().await {
        let (tenant, out) = (TenantId::new(), Recorder::default());
        let id = DocumentId::derived(now_ms(), "work");
        out.fail(true);
        let lost =
            service::create(&db, &out, BASE, &tenant, Some(id.clone()), receipt(), None).await;
        assert!(matches!(lost, Err(DocumentError::Queue(_))), "{lost:?}");
        assert_eq!(
            count_rows(&db, "documents", &tenant).await,
            1,
            "the enqueue may have happened: the row stays"
        );
        // Without a derived id nothing is left behind (the client retries with a new id).
        let fresh = service::create(&db, &out, BASE, &tenant, None, receipt(), None).await;
        assert!(fresh.is_err());
        assert_eq!(count_rows(&db, "documents", &tenant).await, 1);
        out.fail(false);
        let retry = service::create(&db, &out, BASE, &tenant, Some(id.clone()), receipt(), None)
            .await
            .expect("retry");
        assert_eq!(retry.id, id);
        assert_eq!(out.intents(), [Intent::RenderDocument { document: id }]);
        assert_eq!(count_rows(&db, "documents", &tenant).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_created_again_under_its_id_is_the_recorded_one() {
    for (db, _dir) in databases().await {
        let (tenant, out) = (TenantId::new(), Recorder::default());
        let id = BatchId::derived(now_ms(), "work");
        let create = |n| {
            let id = Some(id.clone());
            batch_service::create(&db, &out, BASE, &tenant, id, certificates(n), None)
        };
        out.fail(true);
        assert!(create(3).await.is_err(), "the expand job's reply was lost");
        assert_eq!(count_rows(&db, "certificate_batches", &tenant).await, 1);
        out.fail(false);
        let first = create(3).await.expect("retry");
        assert_eq!(
            (&first.batch.id, first.batch.total, first.status),
            (&id, 3, BatchStatus::Queued)
        );
        let again = create(3).await.expect("again");
        assert_eq!((&again.batch.id, again.batch.total), (&id, 3));
        assert_eq!(count_rows(&db, "certificate_batches", &tenant).await, 1);
        let expand = Intent::ExpandBatch { batch: id.clone() };
        assert_eq!(out.intents(), [expand.clone(), expand]);
        // Expanded, it is not handed over again.
        set_status(&db, "certificate_batches", id.as_str(), "expanded").await;
        create(3).await.expect("expanded again");
        assert_eq!(out.intents().len(), 2);
    }
}
