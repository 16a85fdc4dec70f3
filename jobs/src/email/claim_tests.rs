//! The send claim against a throwaway SQLite database: one claimant at a time, a final email
//! is never claimed again, an expired claim is taken over and flagged, and a stale attempt
//! cannot overwrite the outcome.

use super::claim::{self, Finish};
use super::model::{Email, EmailStatus, EventKind, send_job_id};
use super::repo;
use super::send_log::SendLog;
use crate::clock::now_ms;
use crate::db::Db;
use crate::ids::{EmailId, TenantId};

async fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    (dir, Db::connect(&url).await.unwrap())
}

pub(crate) fn email() -> Email {
    let id = EmailId::new();
    Email {
        job_id: send_job_id(&id),
        message_id: format!("<{id}@example.com>"),
        id,
        tenant: TenantId::new(),
        status: EmailStatus::Queued,
        from: "a@example.com".into(),
        reply_to: None,
        to: vec!["Ada <Ada@Example.com>".into()],
        cc: vec![],
        bcc: vec!["ada@example.com".into()],
        subject: "s".into(),
        html: None,
        text: "t".into(),
        template: None,
        attachments: vec![],
        track_opens: true,
        track_clicks: true,
        tags: vec![],
        metadata: None,
        send_at: None,
        attempts: 0,
        last_reply: None,
        interrupted: false,
        suppressed: vec![],
        request_id: None,
        created_at: now_ms(),
        updated_at: now_ms(),
        sent_at: None,
    }
}

fn sent() -> Finish {
    Finish {
        status: EmailStatus::Sent,
        event: EventKind::Sent,
        reply: Some("250 ok".into()),
        data: None,
        suppressed: vec![],
        events: vec![],
    }
}

#[tokio::test]
async fn one_claimant_at_a_time_and_a_sent_email_is_never_claimed_again() {
    let (_dir, db) = db().await;
    let e = email();
    repo::insert(&db, &e).await.unwrap();
    assert_eq!(
        repo::recipient_keys(&e),
        ["ada@example.com"],
        "deduplicated and normalised"
    );
    let until = 60_000;
    let (a, b) = tokio::join!(
        claim::claim(&db, &e.tenant, &e.id, "job#1", until),
        claim::claim(&db, &e.tenant, &e.id, "job#2", until),
    );
    let winners = [a.unwrap(), b.unwrap()].into_iter().flatten().count();
    assert_eq!(winners, 1, "two racing attempts, one claim");
    assert!(claim::claim_remaining(&db, &e.id).await.unwrap() > 50_000);
    let stored = repo::get(&db, &e.tenant, &e.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (EmailStatus::Sending, 1));

    // Another tenant cannot claim it.
    assert!(
        claim::claim(&db, &TenantId::new(), &e.id, "x", until)
            .await
            .unwrap()
            .is_none()
    );

    // `sent` is recorded whichever attempt holds the claim.
    assert!(claim::finish(&db, &e, "job#1", &sent()).await.unwrap());
    let stored = repo::get(&db, &e.tenant, &e.id).await.unwrap().unwrap();
    assert_eq!(stored.status, EmailStatus::Sent);
    assert!(stored.sent_at.is_some());
    // A re-delivered job finds it final: nothing to claim, nothing to send.
    assert!(
        claim::claim(&db, &e.tenant, &e.id, "job#3", until)
            .await
            .unwrap()
            .is_none()
    );
    // A stale attempt's late "deferred" changes nothing.
    let late = Finish {
        status: EmailStatus::Deferred,
        event: EventKind::Deferred,
        ..sent()
    };
    assert!(!claim::finish(&db, &e, "job#2", &late).await.unwrap());
    assert_eq!(
        repo::get(&db, &e.tenant, &e.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        EmailStatus::Sent
    );
}

#[tokio::test]
async fn an_expired_claim_is_taken_over_and_flagged_interrupted() {
    let (_dir, db) = db().await;
    let e = email();
    repo::insert(&db, &e).await.unwrap();
    // The first attempt "dies" holding a claim that has already expired.
    let first = claim::claim(&db, &e.tenant, &e.id, "job#1", -1)
        .await
        .unwrap()
        .unwrap();
    assert!(!first.email.interrupted);
    let second = claim::claim(&db, &e.tenant, &e.id, "job#2", 60_000)
        .await
        .unwrap()
        .unwrap();
    assert!(
        second.email.interrupted,
        "the takeover knows the previous attempt ended unrecorded"
    );
    assert_eq!(second.email.attempts, 2);
    // The dead attempt's token no longer records a non-final result.
    let late = Finish {
        status: EmailStatus::Bounced,
        event: EventKind::Bounced,
        ..sent()
    };
    assert!(!claim::finish(&db, &e, "job#1", &late).await.unwrap());
    // Releasing an unused claim puts the email back in the queue state.
    claim::release(&db, &e.id, "job#2").await.unwrap();
    let back = repo::get(&db, &e.tenant, &e.id).await.unwrap().unwrap();
    assert_eq!((back.status, back.attempts), (EmailStatus::Queued, 1));
}

/// A fresh database of each dialect (PostgreSQL takes the group-committed path).
async fn databases() -> Vec<(Db, Option<tempfile::TempDir>)> {
    let (dir, sqlite) = db().await;
    let pg = longshore_testkit::TestPostgres::shared().fresh_database();
    vec![
        (sqlite, Some(dir)),
        (Db::connect(&pg).await.expect("postgres"), None),
    ]
}

#[tokio::test]
async fn batched_claims_go_to_their_own_attempts_and_a_race_has_one_winner() {
    for (db, _dir) in databases().await {
        let log = SendLog::start(db.clone());
        let emails: Vec<Email> = (0..40).map(|_| email()).collect();
        for e in &emails {
            repo::insert(&db, e).await.unwrap();
        }
        let until = 60_000;
        let claims = futures::future::join_all(emails.iter().enumerate().map(|(n, e)| {
            let log = &log;
            async move {
                log.claim(&e.tenant, &e.id, &format!("job{n}#1"), until)
                    .await
            }
        }))
        .await;
        for (e, c) in emails.iter().zip(claims) {
            let c = c.unwrap().expect("claimed");
            assert_eq!(c.email.id, e.id, "each attempt gets its own email");
            assert!(!c.transmitted && !c.email.interrupted);
        }
        let e = email();
        repo::insert(&db, &e).await.unwrap();
        let (a, b) = tokio::join!(
            log.claim(&e.tenant, &e.id, "race#1", until),
            log.claim(&e.tenant, &e.id, "race#2", until),
        );
        assert_eq!([a.unwrap(), b.unwrap()].into_iter().flatten().count(), 1);
        // Another tenant's id is not claimed.
        assert!(
            log.claim(&TenantId::new(), &emails[0].id, "x#1", until)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn a_claim_taken_over_after_transmission_says_so_and_is_not_sent_again() {
    for (db, _dir) in databases().await {
        let log = SendLog::start(db.clone());
        let (e, quiet) = (email(), email());
        repo::insert(&db, &e).await.unwrap();
        repo::insert(&db, &quiet).await.unwrap();
        // Both first attempts die holding claims that have already expired; one had
        // started transmitting.
        for x in [&e, &quiet] {
            assert!(
                log.claim(&x.tenant, &x.id, "job#1", -1)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        assert!(log.mark_transmitted(&e.id, "job#1").await.unwrap());
        assert!(
            !log.mark_transmitted(&e.id, "other#1").await.unwrap(),
            "not its claim"
        );
        let taken = log
            .claim(&e.tenant, &e.id, "job#2", 60_000)
            .await
            .unwrap()
            .unwrap();
        assert!(
            taken.transmitted && taken.email.interrupted,
            "may have been accepted"
        );
        let resumed = log
            .claim(&quiet.tenant, &quiet.id, "job#2", 60_000)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !resumed.transmitted && resumed.email.interrupted,
            "nothing went out: send"
        );
        // The dead attempt can no longer mark or record; the live one can, marked or not.
        assert!(!log.mark_transmitted(&e.id, "job#1").await.unwrap());
        assert!(log.mark_transmitted(&quiet.id, "job#2").await.unwrap());
        let deferred = Finish {
            status: EmailStatus::Deferred,
            event: EventKind::Deferred,
            ..sent()
        };
        assert!(!log.finish(&quiet, "job#1", &deferred).await.unwrap());
        assert!(log.finish(&quiet, "job#2", &deferred).await.unwrap());
        assert_eq!(
            repo::get(&db, &quiet.tenant, &quiet.id)
                .await
                .unwrap()
                .unwrap()
                .status,
            EmailStatus::Deferred
        );
        // `sent` lands once, with one event, whoever holds the claim.
        assert!(log.finish(&e, "job#1", &sent()).await.unwrap());
        assert!(!log.finish(&e, "job#2", &sent()).await.unwrap());
        let stored = repo::get(&db, &e.tenant, &e.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.status, stored.last_reply.as_deref()),
            (EmailStatus::Sent, Some("250 ok"))
        );
        let kinds = event_kinds(&db, &e).await;
        assert_eq!(kinds, ["queued", "sent"]);
    }
}

#[tokio::test]
async fn a_released_claim_returns_the_email_to_the_queue_even_if_marked() {
    for (db, _dir) in databases().await {
        let log = SendLog::start(db.clone());
        let e = email();
        repo::insert(&db, &e).await.unwrap();
        assert!(
            log.claim(&e.tenant, &e.id, "job#1", 60_000)
                .await
                .unwrap()
                .is_some()
        );
        assert!(log.mark_transmitted(&e.id, "job#1").await.unwrap());
        claim::release(&db, &e.id, "job#1").await.unwrap();
        let back = repo::get(&db, &e.tenant, &e.id).await.unwrap().unwrap();
        assert_eq!((back.status, back.attempts), (EmailStatus::Queued, 0));
        let again = log
            .claim(&e.tenant, &e.id, "job#2", 60_000)
            .await
            .unwrap()
            .unwrap();
        assert!(!again.transmitted && !again.email.interrupted);
    }
}

async fn event_kinds(db: &Db, e: &Email) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("SELECT kind FROM email_events WHERE email_id = $1 ORDER BY id")
        .bind(e.id.as_str())
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}
