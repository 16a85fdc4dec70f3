//! The dead path's end of a record ([`super::dead::end_record`], each kind's `on_dead`), against
//! the embedded platform: an email whose job died is `failed`, or `sent, unconfirmed` when the
//! attempt that died had transmitted it; a live claim is waited for; a final record is left
//! alone; a document still waiting is `failed`, a ready one is not.

use std::time::Duration;

use crate::clock::now_ms;
use crate::documents::kinds::{DocumentData, DocumentKind};
use crate::documents::model::{DocumentStatus, render_job_id};
use crate::documents::render_log::{Ready, RenderLog};
use crate::documents::repo::{self as documents, NewRow};
use crate::email::claim;
use crate::email::claim_tests::email;
use crate::email::model::{Email, EmailStatus};
use crate::email::repo as emails;
use crate::events::test_support::{recorded, subscribe_all};
use crate::ids::{DocumentId, JobId};
use crate::platform::Services;
use crate::queue::{JobRecord, JobState};

const ERROR: &str = "lease expired: worker lost (attempt 100 of 100)";

async fn services() -> (tempfile::TempDir, Services) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    (dir, Services::connect(config).await.unwrap())
}

/// The dead job of `job_type` with `payload`, for `tenant`, on its last attempt.
fn dead_job(e: &Email, job_type: &str, payload: serde_json::Value) -> JobRecord {
    JobRecord {
        id: JobId::new(),
        tenant: e.tenant.clone(),
        job_type: job_type.into(),
        queue: "email".into(),
        payload,
        state: JobState::Running,
        attempts: 100,
        max_attempts: 100,
        run_at: now_ms(),
        created_at: now_ms(),
        updated_at: now_ms(),
        started_at: Some(now_ms()),
        finished_at: None,
        last_error: None,
        request_id: None,
        worker: None,
        cancel_requested_at: None,
    }
}

fn email_job(e: &Email) -> JobRecord {
    dead_job(e, "email.send", serde_json::json!({"email_id": e.id}))
}

async fn end(s: &Services, job: &JobRecord, within: Duration) -> Result<(), String> {
    let give_up = tokio::time::Instant::now() + within;
    super::dead::end_record(s, job, ERROR, give_up).await
}

async fn status(s: &Services, e: &Email) -> Email {
    emails::get(&s.db, &e.tenant, &e.id)
        .await
        .unwrap()
        .expect("email kept")
}

#[tokio::test]
async fn an_email_whose_job_died_fails_once_with_the_reason() {
    let (_dir, s) = services().await;
    let e = email();
    subscribe_all(&s.db, &e.tenant).await;
    emails::insert(&s.db, &e).await.unwrap();
    let job = email_job(&e);
    end(&s, &job, Duration::from_secs(5)).await.unwrap();
    let failed = status(&s, &e).await;
    assert_eq!(failed.status, EmailStatus::Failed);
    let reply = failed.last_reply.unwrap_or_default();
    assert!(reply.contains(ERROR), "{reply}");
    let told = recorded(&s.db, &e.tenant, "email.failed").await;
    assert_eq!(told.len(), 1);
    // The dead path may run again (a burier lost before its ack): nothing changes.
    end(&s, &job, Duration::from_secs(5)).await.unwrap();
    assert_eq!(status(&s, &e).await.status, EmailStatus::Failed);
    assert_eq!(recorded(&s.db, &e.tenant, "email.failed").await.len(), 1);
}

#[tokio::test]
async fn an_email_transmitted_by_the_attempt_that_died_is_sent_unconfirmed() {
    let (_dir, s) = services().await;
    let e = email();
    emails::insert(&s.db, &e).await.unwrap();
    // The lost attempt claimed it, marked it transmitted, and its claim has lapsed.
    let lapsed = -1;
    claim::claim(&s.db, &e.tenant, &e.id, "job#100", lapsed)
        .await
        .unwrap()
        .expect("claimed");
    assert!(
        claim::mark_transmitted(&s.db, &e.id, "job#100")
            .await
            .unwrap()
    );
    end(&s, &email_job(&e), Duration::from_secs(5))
        .await
        .unwrap();
    let sent = status(&s, &e).await;
    assert_eq!(
        sent.status,
        EmailStatus::Sent,
        "never `failed`: the server may have it"
    );
}

#[tokio::test]
async fn a_live_claim_is_waited_for_and_a_final_email_left_alone() {
    let (_dir, s) = services().await;
    let e = email();
    emails::insert(&s.db, &e).await.unwrap();
    // An attempt that lost its lease may still be talking to the server.
    claim::claim(&s.db, &e.tenant, &e.id, "job#100", 60_000)
        .await
        .unwrap()
        .expect("claimed");
    let waited = end(&s, &email_job(&e), Duration::from_millis(300)).await;
    assert!(waited.is_err(), "not ended under a live claim: {waited:?}");
    assert_eq!(status(&s, &e).await.status, EmailStatus::Sending);

    let done = email();
    emails::insert(
        &s.db,
        &Email {
            status: EmailStatus::Bounced,
            ..done.clone()
        },
    )
    .await
    .unwrap();
    end(&s, &email_job(&done), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(status(&s, &done).await.status, EmailStatus::Bounced);
}

#[tokio::test]
async fn a_document_whose_render_job_died_fails_unless_it_is_ready() {
    let (_dir, s) = services().await;
    let e = email();
    subscribe_all(&s.db, &e.tenant).await;
    let row = |id: DocumentId| NewRow {
        job_id: render_job_id(&id),
        id,
        tenant: e.tenant.clone(),
        kind: DocumentKind::Certificate,
        data: DocumentData::Certificate(crate::documents::certificate::CertificateData {
            recipient_name: "Ada Reader".into(),
            course_title: "Harbour Safety".into(),
            issued_on: "2026-05-01".parse().expect("date"),
            credits: None,
            issuer: None,
            recipient_email: None,
        })
        .to_json(),
        metadata: None,
        batch_id: None,
        issuer: "Harbour Academy".into(),
        verification: None,
        follow_up: None,
    };
    let waiting = documents::insert(&s.db, &row(DocumentId::new()))
        .await
        .unwrap();
    let job = dead_job(
        &e,
        "document.render",
        serde_json::json!({"document_id": waiting.id}),
    );
    end(&s, &job, Duration::from_secs(5)).await.unwrap();
    let failed = documents::get(&s.db, &e.tenant, &waiting.id)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(failed.status, DocumentStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some(ERROR));
    assert_eq!(recorded(&s.db, &e.tenant, "document.failed").await.len(), 1);

    // Rendered, then its job died (say, creating its follow-up email): it stays ready.
    let done = documents::insert(&s.db, &row(DocumentId::new()))
        .await
        .unwrap();
    let log = RenderLog::start(s.db.clone());
    log.claim(&e.tenant, &done.id).await.expect("claim");
    log.ready(Ready {
        id: done.id.clone(),
        pages: 1,
        bytes: 1000,
        sha256: format!("{:064x}", 7),
        storage_key: format!("documents/{}.pdf", done.id),
    })
    .await
    .expect("ready");
    let job = dead_job(
        &e,
        "document.render",
        serde_json::json!({"document_id": done.id}),
    );
    end(&s, &job, Duration::from_secs(5)).await.unwrap();
    let ready = documents::get(&s.db, &e.tenant, &done.id)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(ready.status, DocumentStatus::Ready);
}
