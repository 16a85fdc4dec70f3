//! Creating an email, a report, a schedule or a payment under a derived id (an
//! `Idempotency-Key`'s work, see `ids`' `derived`) is done once: creating it again returns the
//! recorded one, and hands its job over again only while it waits on it. Documents and
//! certificate batches: `documents::create_tests`.

use serde_json::json;

use crate::clock::now_ms;
use crate::db::{count_rows, set_status, test_databases as databases};
use crate::email::attachments::NoDocuments;
use crate::email::model::EmailStatus;
use crate::email::service::{Creator, EmailError, NewEmail};
use crate::ids::{EmailId, PaymentId, ReportId, ScheduleId, TenantId};
use crate::intent::Intent;
use crate::intent::test_support::Recorder;
use crate::outbound::Destinations;
use crate::payments::new::{NewPayment, PaymentInput};
use crate::reports::model::{Period, ReportKind, ReportStatus};
use crate::reports::service::{self as reports, NewReport};
use crate::schedules::input::ScheduleInput;
use crate::schedules::model::PeriodKind;
use crate::storage::LocalStore;

fn sends(out: &Recorder) -> Vec<EmailId> {
    out.intents()
        .into_iter()
        .filter_map(|i| match i {
            Intent::SendEmail { email, .. } => Some(email),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_created_again_under_its_id_is_sent_once() {
    for (db, _dir) in databases().await {
        let files = tempfile::tempdir().expect("files");
        let storage = LocalStore::new(files.path().to_path_buf());
        let (tenant, out) = (TenantId::new(), Recorder::default());
        let creator = Creator {
            db: &db,
            out: &out,
            documents: &NoDocuments,
            storage: &storage,
        };
        let request = NewEmail {
            to: vec!["ada@example.com".into()],
            from: Some("harbour@example.com".into()),
            subject: Some("Welcome".into()),
            text: Some("Hello".into()),
            ..Default::default()
        };
        let id = EmailId::derived(now_ms(), "work");
        let create = || creator.create(&tenant, Some(id.clone()), request.clone(), None);
        // The first attempt's enqueue never answered: the row stays for the retry.
        out.fail(true);
        let lost = create().await;
        assert!(matches!(lost, Err(EmailError::Queue(_))), "{lost:?}");
        assert_eq!(count_rows(&db, "emails", &tenant).await, 1);
        out.fail(false);
        let (first, again) = tokio::join!(create(), create());
        let (first, again) = (first.expect("first"), again.expect("again"));
        assert_eq!((&first.id, &again.id), (&id, &id));
        assert_eq!(count_rows(&db, "emails", &tenant).await, 1);
        assert_eq!(
            sends(&out),
            [id.clone(), id.clone()],
            "handed over while queued"
        );
        set_status(&db, "emails", id.as_str(), "sent").await;
        let sent = create().await.expect("sent again");
        assert_eq!(sent.status, EmailStatus::Sent);
        assert_eq!(
            sends(&out).len(),
            2,
            "a sent email is not handed over again"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_created_again_under_its_id_is_built_once() {
    for (db, _dir) in databases().await {
        let (tenant, out) = (TenantId::new(), Recorder::default());
        let now = now_ms();
        let request = NewReport {
            kind: ReportKind::PaymentsSummary,
            period: Period {
                from: now - 86_400_000,
                to: now,
            },
            timezone: None,
            recipients: Vec::new(),
        };
        let id = ReportId::derived(now, "work");
        let create =
            || reports::create(&db, &out, &tenant, Some(id.clone()), request.clone(), None);
        let (first, again) = tokio::join!(create(), create());
        let (first, again) = (first.expect("first"), again.expect("again"));
        assert_eq!((&first.id, &again.id), (&id, &id));
        assert_eq!(count_rows(&db, "reports", &tenant).await, 1);
        set_status(&db, "reports", id.as_str(), "ready").await;
        let ready = create().await.expect("ready again");
        assert_eq!(ready.status, ReportStatus::Ready);
        let builds = out
            .intents()
            .into_iter()
            .filter(|i| matches!(i, Intent::BuildReport(o) if o.report_id == id))
            .count();
        assert_eq!(builds, 2, "handed over while queued, not once ready");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_created_again_under_its_id_is_the_recorded_one() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        let input = || ScheduleInput {
            name: Some("Daily payments".into()),
            cron: Some("0 6 * * *".into()),
            timezone: None,
            report: Some((ReportKind::PaymentsSummary, PeriodKind::PreviousDay)),
            recipients: None,
            task: None,
            missed_runs: None,
            enabled: None,
        };
        let destinations = Destinations::default();
        let id = ScheduleId::derived(now_ms(), "work");
        let create = || {
            crate::schedules::service::create(
                &db,
                &destinations,
                &tenant,
                Some(id.clone()),
                input(),
            )
        };
        let (first, again) = tokio::join!(create(), create());
        let (first, again) = (first.expect("first"), again.expect("again"));
        assert_eq!((&first.id, &again.id), (&id, &id));
        assert_eq!(first.created_at, again.created_at, "the recorded one");
        assert_eq!(count_rows(&db, "schedules", &tenant).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_created_again_under_its_id_is_the_recorded_one() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        let new = NewPayment::parse(PaymentInput {
            amount: 1250,
            currency: "EUR".into(),
            reference: "order-9".into(),
            customer_email: None,
            customer_name: None,
            description: None,
            metadata: Some(json!({"order": "9"})),
        })
        .expect("payment");
        let id = PaymentId::derived(now_ms(), "work");
        let create = || crate::payments::repo::create(&db, &tenant, Some(id.clone()), new.clone());
        let (first, again) = tokio::join!(create(), create());
        let (first, again) = (first.expect("first"), again.expect("again"));
        assert_eq!((&first.id, &again.id), (&id, &id));
        assert_eq!(count_rows(&db, "payments", &tenant).await, 1);
        // Without a derived id, each call is a payment.
        crate::payments::repo::create(&db, &tenant, None, new.clone())
            .await
            .expect("another");
        assert_eq!(count_rows(&db, "payments", &tenant).await, 2);
    }
}
