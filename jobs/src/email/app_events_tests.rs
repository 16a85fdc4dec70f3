//! The `email.*` events back to the tenant's app, against real SQLite and PostgreSQL: each
//! state change records its event in its own transaction, once, and only when the change
//! happened; the fan-out gives subscribed endpoints a delivery.

use serde_json::{Value, json};
use sqlx::Row;

use super::Mail;
use super::app_events::{self, Detail};
use super::attachments::NoDocuments;
use super::claim::Finish;
use super::claim_tests::email;
use super::delivery::{self, Sender};
use super::event_store::{self, Tracked};
use super::model::{Email, EmailStatus, EventKind, send_job_id};
use super::send_log::SendLog;
use super::tokens::{Claims, TokenKind};
use super::tracking::{self, Tracker, Visitor};
use super::{repo, suppressions};
use crate::attempt::JobMeta;
use crate::clock::now_ms;
use crate::config::Config;
use crate::db::{Db, test_databases};
use crate::error::JobError;
use crate::events::data::email::RejectReason;
use crate::events::{self, EventType};
use crate::ids::{EmailId, TenantId};
use crate::storage::LocalStore;

/// A database with the email capability over it (messages go to an outbox folder).
struct Stage {
    db: Db,
    config: Config,
    mail: Mail,
    store: LocalStore,
    _dirs: (tempfile::TempDir, Option<tempfile::TempDir>),
}

async fn stages() -> Vec<Stage> {
    let mut out = Vec::new();
    for (db, db_dir) in test_databases().await {
        let data = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: data.path().to_owned(),
            ..Config::default()
        };
        let mail = Mail::connect(&config, &db).await.expect("mail");
        out.push(Stage {
            store: LocalStore::new(data.path().join("files")),
            db,
            config,
            mail,
            _dirs: (data, db_dir),
        });
    }
    out
}

/// Runs the email's send job once (attempt 1 of the job).
async fn send(stage: &Stage, e: &Email) -> Result<(), JobError> {
    let sender = Sender {
        db: &stage.db,
        config: &stage.config,
        mail: &stage.mail,
        storage: &stage.store,
        documents: &NoDocuments,
        throttle: &crate::throttle::local::LocalThrottle::new(),
    };
    let meta = JobMeta {
        id: send_job_id(&e.id),
        tenant: e.tenant.clone(),
        attempt: 1,
        max_attempts: 5,
        request_id: None,
    };
    delivery::send_email(&sender, &meta, &e.id).await
}

/// An email with tags and metadata, as a request gives them.
fn tagged_email() -> Email {
    Email {
        tags: vec!["welcome".into(), "onboarding".into()],
        metadata: Some(json!({ "user_id": 42, "plan": "pro" })),
        ..email()
    }
}

/// Gives the tenant an endpoint subscribed to nothing: its events are recorded (they are only
/// for tenants with an endpoint), with no delivery.
async fn listen(db: &Db, tenant: &TenantId) {
    subscribe(db, tenant, "none.*", &format!("ep_{}", tenant.as_str())).await;
}

async fn subscribe(db: &Db, tenant: &TenantId, event_type: &str, endpoint: &str) {
    // Events are recorded only for tenants with an endpoint.
    sqlx::query(
        "INSERT INTO event_endpoints (id, tenant_id, url, description, event_types, enabled, \
         max_concurrent, secret, created_at, updated_at) \
         VALUES ($1, $2, 'https://app.example.com/hook', '', '[]', 1, 50, 'sealed', 0, 0) \
         ON CONFLICT DO NOTHING",
    )
    .bind(endpoint)
    .bind(tenant.as_str())
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO event_subscriptions (tenant_id, event_type, endpoint_id) VALUES ($1, $2, $3)",
    )
    .bind(tenant.as_str())
    .bind(event_type)
    .bind(endpoint)
    .execute(db.pool())
    .await
    .unwrap();
}

/// A recorded app event: its id, type and the body endpoints receive.
#[derive(Debug)]
struct Recorded {
    id: String,
    kind: String,
    body: Value,
}

impl Recorded {
    fn data(&self) -> &Value {
        &self.body["data"]
    }
}

async fn recorded(db: &Db, email: &EmailId) -> Vec<Recorded> {
    sqlx::query("SELECT id, type, body FROM events WHERE resource_id = $1 ORDER BY type, id")
        .bind(email.as_str())
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| Recorded {
            id: r.get(0),
            kind: r.get(1),
            body: serde_json::from_str(&r.get::<String, _>(2)).unwrap(),
        })
        .collect()
}

fn kinds(events: &[Recorded]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

async fn deliveries(db: &Db, event: &str) -> Vec<(String, String)> {
    sqlx::query("SELECT endpoint_id, status FROM event_deliveries WHERE event_id = $1")
        .bind(event)
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn sent_finish(claimed: &Email, reply: &str) -> Finish {
    let detail = Detail {
        mta_response: Some(reply.into()),
        ..Detail::default()
    };
    Finish {
        status: EmailStatus::Sent,
        event: EventKind::Sent,
        reply: Some(reply.into()),
        data: None,
        suppressed: vec![],
        events: app_events::outcome(claimed, EmailStatus::Sent, now_ms(), &detail, &[]),
    }
}

#[tokio::test]
async fn a_sent_email_records_one_email_sent_event_with_its_fields_and_a_delivery() {
    for stage in stages().await {
        let db = &stage.db;
        let e = tagged_email();
        repo::insert(db, &e).await.unwrap();
        subscribe(db, &e.tenant, "*", "ep_x").await;
        // Another tenant's subscription gets nothing.
        subscribe(db, &TenantId::new(), "*", "ep_other").await;

        send(&stage, &e).await.expect("sent");

        let events = recorded(db, &e.id).await;
        assert_eq!(kinds(&events), ["email.sent"]);
        let sent = &events[0];
        assert_eq!(sent.body["type"], "email.sent");
        assert_eq!(sent.body["id"], sent.id.as_str());
        let data = sent.data();
        assert_eq!(data["event_type"], "sent");
        assert_eq!(data["email_id"], e.id.as_str());
        assert_eq!(data["message_id"], e.message_id.as_str());
        assert_eq!(data["recipient"], "ada@example.com", "to and bcc, once");
        assert_eq!(data["recipients"], json!(["ada@example.com"]));
        assert_eq!(data["tags"], json!(["welcome", "onboarding"]));
        assert_eq!(data["metadata"], json!({ "user_id": 42, "plan": "pro" }));
        assert!(
            data["mta_response"].as_str().unwrap().starts_with("250"),
            "{data}"
        );
        assert_eq!(data["machine"], false);
        assert_eq!(data["attempt"], 1);
        assert_eq!(data["timestamp"], sent.body["timestamp"]);
        let stored = repo::get(db, &e.tenant, &e.id).await.unwrap().unwrap();
        let at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(data["timestamp"].clone()).unwrap();
        let sent_at = stored.sent_at.expect("sent_at");
        assert!((at.timestamp_millis() - sent_at).abs() < 5_000);
        for absent in [
            "click_url",
            "reject_reason",
            "machine_reason",
            "description",
        ] {
            assert!(data.get(absent).is_none(), "{absent} left out: {data}");
        }
        assert_eq!(
            deliveries(db, &sent.id).await,
            [("ep_x".to_owned(), "pending".to_owned())]
        );

        // The job delivered again finds the email final: nothing more is recorded.
        send(&stage, &e).await.expect("nothing to do");
        assert_eq!(recorded(db, &e.id).await.len(), 1);
    }
}

#[tokio::test]
async fn an_outcome_written_twice_records_its_events_once() {
    for (db, _dir) in test_databases().await {
        let log = SendLog::start(db.clone());
        let e = tagged_email();
        repo::insert(&db, &e).await.unwrap();
        listen(&db, &e.tenant).await;
        let claimed = log
            .claim(&e.tenant, &e.id, "job#1", 60_000)
            .await
            .unwrap()
            .expect("claimed")
            .email;
        let f = sent_finish(&claimed, "250 ok");
        assert!(log.finish(&claimed, "job#1", &f).await.unwrap());
        // The handler retries the write (its commit's answer was lost): nothing changes.
        assert!(!log.finish(&claimed, "job#1", &f).await.unwrap());
        // And the same change recorded again is the same event.
        let mut conn = db.pool().acquire().await.unwrap();
        assert_eq!(
            events::record(&mut conn, db.dialect(), &f.events)
                .await
                .unwrap(),
            0
        );
        assert_eq!(kinds(&recorded(&db, &e.id).await), ["email.sent"]);
    }
}

#[tokio::test]
async fn a_change_whose_fence_was_lost_records_nothing() {
    for (db, _dir) in test_databases().await {
        let log = SendLog::start(db.clone());
        let e = email();
        repo::insert(&db, &e).await.unwrap();
        listen(&db, &e.tenant).await;
        // The first attempt dies holding a claim that has expired; a second takes over.
        let first = log
            .claim(&e.tenant, &e.id, "job#1", -1)
            .await
            .unwrap()
            .expect("claimed")
            .email;
        let second = log
            .claim(&e.tenant, &e.id, "job#2", 60_000)
            .await
            .unwrap()
            .expect("taken over")
            .email;
        let detail = Detail {
            mta_response: Some("451 try later".into()),
            ..Detail::default()
        };
        let late = Finish {
            status: EmailStatus::Deferred,
            event: EventKind::Deferred,
            reply: Some("451 try later".into()),
            data: None,
            suppressed: vec![],
            events: app_events::outcome(&first, EmailStatus::Deferred, now_ms(), &detail, &[]),
        };
        assert!(!log.finish(&first, "job#1", &late).await.unwrap());
        assert!(recorded(&db, &e.id).await.is_empty(), "no change, no event");

        assert!(
            log.finish(&second, "job#2", &sent_finish(&second, "250 ok"))
                .await
                .unwrap()
        );
        // The dead attempt's late `sent` (batched on PostgreSQL) finds the email final.
        assert!(
            !log.finish(&first, "job#1", &sent_finish(&first, "250 late"))
                .await
                .unwrap()
        );
        let events = recorded(&db, &e.id).await;
        assert_eq!(kinds(&events), ["email.sent"]);
        assert_eq!(events[0].data()["attempt"], 2);
        assert_eq!(events[0].data()["mta_response"], "250 ok");
    }
}

/// A person's browser and a scripted client, an hour after the message was built.
fn visitors() -> (Visitor, Visitor) {
    let person = Visitor {
        user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                     Gecko) Chrome/126.0.0.0 Safari/537.36"
            .into(),
        ip: "203.0.113.7".into(),
    };
    let script = Visitor {
        user_agent: "curl/8.5.0".into(),
        ip: "198.51.100.9".into(),
    };
    (person, script)
}

#[tokio::test]
async fn opens_and_clicks_in_a_batch_each_record_their_event_with_machine_flags() {
    for stage in stages().await {
        let db = &stage.db;
        let e = tagged_email();
        repo::insert(db, &e).await.unwrap();
        listen(db, &e.tenant).await;
        let tracker = Tracker {
            db,
            config: &stage.config,
            mail: &stage.mail,
        };
        let token = |kind, link: Option<&str>| {
            stage.mail.keys.sign(&Claims {
                kind,
                tenant: e.tenant.clone(),
                email: e.id.clone(),
                issued_at: now_ms() - 3_600_000,
                link: link.map(str::to_owned),
            })
        };
        let (person, script) = visitors();
        let open = token(TokenKind::Open, None);
        assert!(tracking::open(&tracker, &open, &person, true).await);
        assert!(tracking::open(&tracker, &open, &script, true).await);
        let pricing = token(TokenKind::Click, Some("https://shop.example/pricing"));
        let docs = token(TokenKind::Click, Some("https://shop.example/docs"));
        assert!(tracking::click(&tracker, &pricing, &person).await.is_some());
        assert!(tracking::click(&tracker, &docs, &script).await.is_some());
        // Waits until the writer has committed every event handed over (bounded).
        stage.mail.events.close().await;
        assert_eq!(stage.mail.events.pending(), 0);

        let events = recorded(db, &e.id).await;
        assert_eq!(
            kinds(&events),
            [
                "email.clicked",
                "email.clicked",
                "email.opened",
                "email.opened"
            ]
        );
        let mut seen: Vec<(String, bool, Value, Value)> = events
            .iter()
            .map(|ev| {
                let d = ev.data();
                assert_eq!(d["email_id"], e.id.as_str());
                assert_eq!(d["message_id"], e.message_id.as_str());
                assert_eq!(d["recipient"], "ada@example.com");
                assert_eq!(d["tags"], json!(["welcome", "onboarding"]));
                assert_eq!(d["metadata"]["user_id"], 42);
                assert!(d["user_agent"].is_string());
                (
                    d["event_type"].as_str().unwrap().to_owned(),
                    d["machine"].as_bool().unwrap(),
                    d.get("machine_reason").cloned().unwrap_or(Value::Null),
                    d.get("click_url").cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        seen.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        assert_eq!(
            seen,
            [
                (
                    "clicked".into(),
                    false,
                    Value::Null,
                    json!("https://shop.example/pricing")
                ),
                (
                    "clicked".into(),
                    true,
                    json!("automated client"),
                    json!("https://shop.example/docs")
                ),
                ("opened".into(), false, Value::Null, Value::Null),
                (
                    "opened".into(),
                    true,
                    json!("automated client"),
                    Value::Null
                ),
            ]
        );
        let ids: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), 4, "one event per sighting");
    }
}

#[tokio::test]
async fn a_batch_written_again_keeps_its_event_ids_and_a_vanished_email_still_tells() {
    for (db, _dir) in test_databases().await {
        let tenant = TenantId::new();
        listen(&db, &tenant).await;
        let gone = EmailId::new();
        let click = Tracked {
            email: gone.clone(),
            tenant: tenant.clone(),
            kind: EventKind::Clicked,
            at: now_ms(),
            machine: Some("security scanner".into()),
            user_agent: Some("Proofpoint URL Defense".into()),
            ip: None,
            fingerprint: Some("f".into()),
            link: Some("https://a.example/x".into()),
            data: None,
            sighting: ulid::Ulid::new().to_string(),
        };
        event_store::insert_batch(&db, std::slice::from_ref(&click))
            .await
            .unwrap();
        let first = recorded(&db, &gone).await;
        assert_eq!(kinds(&first), ["email.clicked"]);
        let data = first[0].data();
        assert_eq!(
            (
                &data["machine"],
                &data["machine_reason"],
                &data["click_url"]
            ),
            (
                &json!(true),
                &json!("security scanner"),
                &json!("https://a.example/x")
            )
        );
        assert!(data.get("message_id").is_none() && data.get("recipient").is_none());
        // The same sighting built into an app event again has the same id.
        let again = app_events::tracked(&click, None).expect("a click is told");
        assert_eq!(again.id.as_str(), first[0].id);
        assert_eq!(again.kind, EventType::EmailClicked);
    }
}

#[tokio::test]
async fn an_unsubscribe_records_its_event_with_the_suppression_once() {
    for stage in stages().await {
        let db = &stage.db;
        let e = tagged_email();
        repo::insert(db, &e).await.unwrap();
        subscribe(db, &e.tenant, "email.*", "ep_x").await;
        let tracker = Tracker {
            db,
            config: &stage.config,
            mail: &stage.mail,
        };
        let token = stage.mail.keys.sign(&Claims {
            kind: TokenKind::Unsubscribe,
            tenant: e.tenant.clone(),
            email: e.id.clone(),
            issued_at: now_ms(),
            link: None,
        });
        let (person, _) = visitors();
        for _ in 0..2 {
            let keys = tracking::unsubscribe(&tracker, &token, &person)
                .await
                .unwrap()
                .expect("genuine");
            assert_eq!(keys, ["ada@example.com"]);
        }
        let events = recorded(db, &e.id).await;
        assert_eq!(
            kinds(&events),
            ["email.unsubscribed"],
            "the second changed nothing"
        );
        let data = events[0].data();
        assert_eq!(data["event_type"], "unsubscribed");
        assert_eq!(data["recipient"], "ada@example.com");
        assert_eq!(
            deliveries(db, &events[0].id).await,
            [("ep_x".to_owned(), "pending".to_owned())]
        );
        let suppression = suppressions::get(db, &e.tenant, "ada@example.com")
            .await
            .unwrap()
            .expect("suppressed");
        assert_eq!(suppression.reason, suppressions::UNSUBSCRIBED);
    }
}

#[tokio::test]
async fn a_suppressed_recipient_is_told_apart_from_the_ones_it_was_sent_to() {
    for stage in stages().await {
        let db = &stage.db;
        let e = Email {
            cc: vec!["Bob <bob@example.com>".into()],
            ..tagged_email()
        };
        repo::insert(db, &e).await.unwrap();
        listen(db, &e.tenant).await;
        suppressions::add(
            db,
            &e.tenant,
            &["bob@example.com".to_owned()],
            suppressions::UNSUBSCRIBED,
            None,
            None,
        )
        .await
        .unwrap();

        send(&stage, &e).await.expect("sent to Ada");

        let events = recorded(db, &e.id).await;
        assert_eq!(kinds(&events), ["email.sent", "email.suppressed"]);
        let (sent, skipped) = (events[0].data(), events[1].data());
        assert_eq!(sent["recipients"], json!(["ada@example.com"]));
        assert_eq!(sent["recipient"], "ada@example.com");
        assert_eq!(skipped["event_type"], "rejected");
        assert_eq!(skipped["recipient"], "bob@example.com");
        assert_eq!(skipped["reject_reason"], "unsubscribed");
    }
}

#[test]
fn outcome_events_are_keyed_by_the_change() {
    let mut e = email();
    e.attempts = 1;
    let at = now_ms();
    let detail = Detail {
        mta_response: Some("451 busy".into()),
        ..Detail::default()
    };
    let first = app_events::outcome(&e, EmailStatus::Deferred, at, &detail, &[]);
    assert_eq!(
        first,
        app_events::outcome(&e, EmailStatus::Deferred, at, &detail, &[])
    );
    e.attempts = 2;
    let second = app_events::outcome(&e, EmailStatus::Deferred, at, &detail, &[]);
    assert_ne!(first[0].id, second[0].id, "another deferral, another event");
    assert_eq!(first[0].kind, EventType::EmailDeferred);

    // A deferral does not tell the suppressed addresses yet; the final outcome does.
    let skipped = [("bob@example.com".to_owned(), RejectReason::Bounced)];
    assert_eq!(
        app_events::outcome(&e, EmailStatus::Deferred, at, &detail, &skipped).len(),
        1
    );
    let gave_up = Detail {
        reject_reason: Some(RejectReason::TimedOut),
        description: Some("gave up after 2 attempts: 451 busy".into()),
        ..detail
    };
    let failed = app_events::outcome(&e, EmailStatus::Failed, at, &gave_up, &skipped);
    let kinds: Vec<EventType> = failed.iter().map(|ev| ev.kind).collect();
    assert_eq!(kinds, [EventType::EmailFailed, EventType::EmailSuppressed]);
    assert_eq!(failed[0].data["reject_reason"], "timed_out");
    assert_eq!(failed[0].data["mta_response"], "451 busy");
    assert_eq!(failed[1].data["reject_reason"], "bounced");
    // Every recipient suppressed: only the per-address events.
    let all = app_events::outcome(
        &e,
        EmailStatus::Suppressed,
        at,
        &Detail::default(),
        &skipped,
    );
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].kind, EventType::EmailSuppressed);
}
