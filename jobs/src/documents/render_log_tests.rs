//! The render job's writes through [`RenderLog`], on SQLite (one statement each) and on
//! PostgreSQL (group-committed): the same answers either way.

use super::certificate::CertificateData;
use super::kinds::{DocumentData, DocumentKind};
use super::model::{DocumentStatus, render_job_id};
use super::render_log::{Ready, RenderLog};
use super::repo::{self, NewRow};
use crate::db::Db;
use crate::ids::{DocumentId, TenantId};

/// A fresh database of each dialect.
async fn databases() -> Vec<(Db, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let sqlite = Db::connect(&url).await.unwrap();
    let pg = longshore_testkit::TestPostgres::shared().fresh_database();
    vec![
        (sqlite, Some(dir)),
        (Db::connect(&pg).await.expect("postgres"), None),
    ]
}

fn certificate(tenant: &TenantId, n: usize) -> NewRow {
    let id = DocumentId::new();
    let data = DocumentData::Certificate(CertificateData {
        recipient_name: format!("Reader {n}"),
        course_title: "Harbour Safety".into(),
        issued_on: "2026-05-01".parse().unwrap(),
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
        metadata: None,
        batch_id: None,
        issuer: "Harbour Academy".into(),
        verification: None,
        follow_up: None,
    }
}

#[tokio::test]
async fn concurrent_claims_each_get_their_document_and_ready_is_recorded() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        let rows: Vec<NewRow> = (0..40).map(|n| certificate(&tenant, n)).collect();
        repo::insert_many(&db, &rows).await.unwrap();
        let log = RenderLog::start(db.clone());

        let claims =
            futures::future::join_all(rows.iter().map(|r| log.claim(&tenant, &r.id))).await;
        for (row, claim) in rows.iter().zip(claims) {
            let doc = claim.unwrap().expect("claimed");
            assert_eq!(doc.id, row.id, "each job gets its own document");
            assert_eq!(doc.status, DocumentStatus::Rendering);
        }

        // Two jobs for one document both render it, as two single claims would.
        let (a, b) = tokio::join!(
            log.claim(&tenant, &rows[0].id),
            log.claim(&tenant, &rows[0].id)
        );
        assert!(a.unwrap().is_some() && b.unwrap().is_some());
        // Another tenant's id is not claimed.
        assert!(
            log.claim(&TenantId::new(), &rows[1].id)
                .await
                .unwrap()
                .is_none()
        );

        let readies = futures::future::join_all(rows.iter().enumerate().map(|(n, r)| {
            log.ready(Ready {
                id: r.id.clone(),
                pages: 1,
                bytes: 1000 + n as i64,
                sha256: format!("{n:064x}"),
                storage_key: format!("documents/{tenant}/{}.pdf", r.id),
            })
        }))
        .await;
        assert!(readies.iter().all(Result::is_ok));
        for (n, r) in rows.iter().enumerate() {
            let doc = repo::get(&db, &tenant, &r.id).await.unwrap().unwrap();
            assert_eq!(doc.status, DocumentStatus::Ready);
            assert_eq!(
                doc.bytes,
                Some(1000 + n as i64),
                "each row got its own values"
            );
            assert_eq!(doc.sha256.as_deref(), Some(format!("{n:064x}").as_str()));
        }
        // A ready document is not claimed again (its repeated job only runs the follow-up).
        assert!(log.claim(&tenant, &rows[2].id).await.unwrap().is_none());
    }
}
