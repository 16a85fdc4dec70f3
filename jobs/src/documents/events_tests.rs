//! Documents record their events with their changes: once per change, nothing when the change
//! did not happen, fanned out to subscribed endpoints; a batch completes once.

use serde_json::json;

use super::batches::{self, BatchRequest, BatchSpec, Recipient};
use super::certificate::CertificateData;
use super::kinds::{DocumentData, DocumentKind};
use super::model::{batch_document_id, render_job_id};
use super::render_log::{Ready, RenderLog};
use super::repo::{self, NewRow};
use crate::db::{Db, test_databases as databases};
use crate::events::test_support::{ENDPOINT, recorded, subscribe_all};
use crate::ids::{BatchId, DocumentId, TenantId};

fn certificate(tenant: &TenantId, id: DocumentId, batch: Option<&BatchId>) -> NewRow {
    let data = DocumentData::Certificate(CertificateData {
        recipient_name: "Ada Reader".into(),
        course_title: "Harbour Safety".into(),
        issued_on: "2026-05-01".parse().expect("date"),
        credits: None,
        issuer: Some("Harbour Academy".into()),
        recipient_email: None,
    });
    NewRow {
        job_id: render_job_id(&id),
        id,
        tenant: tenant.clone(),
        kind: DocumentKind::Certificate,
        data: data.to_json(),
        metadata: Some(json!({"order": "42"})),
        batch_id: batch.cloned(),
        issuer: "Harbour Academy".into(),
        verification: None,
        follow_up: None,
    }
}

fn stored(id: &DocumentId, n: i64) -> Ready {
    Ready {
        id: id.clone(),
        pages: 1,
        bytes: 1000 + n,
        sha256: format!("{n:064x}"),
        storage_key: format!("documents/{id}.pdf"),
    }
}

#[tokio::test]
async fn ready_failed_and_revoked_are_recorded_once_with_their_change() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let log = RenderLog::start(db.clone());

        let a = repo::insert(&db, &certificate(&tenant, DocumentId::new(), None))
            .await
            .expect("insert");
        log.claim(&tenant, &a.id).await.expect("claim");
        assert!(log.ready(stored(&a.id, 7)).await.expect("ready"));
        assert!(
            log.ready(stored(&a.id, 7)).await.expect("ready again"),
            "still ready"
        );
        let ready = recorded(&db, &tenant, "document.ready").await;
        assert_eq!(ready.len(), 1, "a second ready records nothing");
        let e = &ready[0];
        assert_eq!(e.resource_id.as_deref(), Some(a.id.as_str()));
        assert_eq!(e.deliveries, vec![ENDPOINT.to_owned()]);
        assert_eq!(e.data["document_id"], a.id.as_str());
        assert_eq!(e.data["kind"], "certificate");
        assert_eq!(e.data["status"], "ready");
        assert_eq!(e.data["metadata"], json!({"order": "42"}));
        assert_eq!(e.data["pages"], 1);
        assert_eq!(e.data["bytes"], 1007);
        assert_eq!(e.data["sha256"], format!("{:064x}", 7));
        assert!(e.data["rendered_at"].is_string());
        assert!(e.data.get("failure_reason").is_none(), "absent, not null");

        // A ready document does not fail: no change, no event.
        assert!(!repo::mark_failed(&db, &a.id, "late").await.expect("fail"));
        assert!(recorded(&db, &tenant, "document.failed").await.is_empty());

        let b = repo::insert(&db, &certificate(&tenant, DocumentId::new(), None))
            .await
            .expect("insert");
        assert!(
            repo::mark_failed(&db, &b.id, "bad font")
                .await
                .expect("fail")
        );
        assert!(
            !repo::mark_failed(&db, &b.id, "bad font")
                .await
                .expect("again")
        );
        let failed = recorded(&db, &tenant, "document.failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].data["status"], "failed");
        assert_eq!(failed[0].data["failure_reason"], "bad font");
        assert_eq!(failed[0].deliveries, vec![ENDPOINT.to_owned()]);

        // A render finishing after the document failed (a paused worker whose lease lapsed
        // while its job died elsewhere) is fenced off: it stays failed, with no ready event.
        assert!(
            !log.ready(stored(&b.id, 9)).await.expect("late ready"),
            "failed stays failed"
        );
        let late = stored(&b.id, 9);
        assert!(
            !repo::mark_ready(
                &db,
                &b.id,
                late.pages,
                late.bytes,
                &late.sha256,
                &late.storage_key
            )
            .await
            .expect("late mark_ready")
        );
        let b_now = repo::get(&db, &tenant, &b.id)
            .await
            .expect("get")
            .expect("b");
        assert_eq!(b_now.status.as_str(), "failed");
        assert_eq!(recorded(&db, &tenant, "document.ready").await.len(), 1);

        assert!(repo::revoke(&db, &tenant, &a.id).await.expect("revoke"));
        assert!(!repo::revoke(&db, &tenant, &a.id).await.expect("again"));
        // Another tenant's revocation changes nothing and records nothing.
        assert!(
            !repo::revoke(&db, &TenantId::new(), &b.id)
                .await
                .expect("foreign")
        );
        let revoked = recorded(&db, &tenant, "document.revoked").await;
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].resource_id.as_deref(), Some(a.id.as_str()));
        assert!(revoked[0].data["revoked_at"].is_string());
        assert_eq!(revoked[0].data["status"], "ready");

        // With an endpoint subscribed to other types, the event is recorded with no delivery.
        let quiet = TenantId::new();
        crate::events::test_support::add_endpoint(&db, &quiet).await;
        let c = repo::insert(&db, &certificate(&quiet, DocumentId::new(), None))
            .await
            .expect("insert");
        log.ready(stored(&c.id, 1)).await.expect("ready");
        let alone = recorded(&db, &quiet, "document.ready").await;
        assert_eq!(alone.len(), 1);
        assert!(alone[0].deliveries.is_empty());
    }
}

async fn batch_of(db: &Db, tenant: &TenantId, n: usize) -> (BatchId, Vec<DocumentId>) {
    let batch = BatchId::new();
    let spec = BatchSpec {
        request: BatchRequest {
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
        },
        issuer: "Harbour Academy".into(),
        verify_base: "https://docs.example.com".into(),
    };
    batches::insert(db, &batch, tenant, &spec)
        .await
        .expect("batch");
    let ids: Vec<DocumentId> = (0..n).map(|i| batch_document_id(&batch, i)).collect();
    let rows: Vec<NewRow> = ids
        .iter()
        .map(|id| certificate(tenant, id.clone(), Some(&batch)))
        .collect();
    repo::insert_many(db, &rows).await.expect("documents");
    (batch, ids)
}

#[tokio::test]
async fn a_batch_completes_once_when_its_last_certificate_is_final() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let log = RenderLog::start(db.clone());
        let (batch, ids) = batch_of(&db, &tenant, 3).await;

        log.ready(stored(&ids[0], 0)).await.expect("ready");
        assert!(
            repo::mark_failed(&db, &ids[1], "bad font")
                .await
                .expect("fail")
        );
        assert!(
            recorded(&db, &tenant, "certificate_batch.completed")
                .await
                .is_empty(),
            "not complete while one certificate waits"
        );
        log.ready(stored(&ids[2], 2)).await.expect("ready");
        log.ready(stored(&ids[2], 2)).await.expect("ready again");
        let done = recorded(&db, &tenant, "certificate_batch.completed").await;
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].resource_id.as_deref(), Some(batch.as_str()));
        assert_eq!(done[0].data["batch_id"], batch.as_str());
        assert_eq!(
            (
                &done[0].data["total"],
                &done[0].data["rendered"],
                &done[0].data["failed"]
            ),
            (&json!(3), &json!(2), &json!(1))
        );
        assert!(done[0].data["completed_at"].is_string());
        assert_eq!(done[0].deliveries, vec![ENDPOINT.to_owned()]);
        assert_eq!(
            recorded(&db, &tenant, "document.ready")
                .await
                .iter()
                .filter(|e| e.data["batch_id"] == batch.as_str())
                .count(),
            2
        );
    }
}

#[tokio::test]
async fn certificates_finishing_at_once_complete_their_batch_once() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        crate::events::test_support::add_endpoint(&db, &tenant).await;
        let log = RenderLog::start(db.clone());
        let (batch, ids) = batch_of(&db, &tenant, 40).await;
        // Every render finishes at once: on PostgreSQL they are group-committed in batches,
        // and the last transaction to finish a certificate is the one that sees the batch done.
        let results = futures::future::join_all(
            ids.iter()
                .enumerate()
                .map(|(n, id)| log.ready(stored(id, n as i64))),
        )
        .await;
        assert!(results.iter().all(Result::is_ok));
        let done = recorded(&db, &tenant, "certificate_batch.completed").await;
        assert_eq!(done.len(), 1, "exactly one completion");
        assert_eq!(done[0].data["rendered"], 40);
        assert_eq!(recorded(&db, &tenant, "document.ready").await.len(), 40);
        assert_eq!(done[0].resource_id.as_deref(), Some(batch.as_str()));
    }
}
