//! The receipt chain run again and again against a throwaway SQLite database and file store:
//! however often the receipt job and the render job run (a retry, a re-enqueue, a crash after
//! the work but before the ack), there is one receipt document, one receipt number and one email.

use sqlx::Row;

use super::model::{DocumentStatus, render_job_id};
use super::repo;
use crate::attempt::JobMeta;
use crate::db::tenants;
use crate::email::model::follow_up_email_id;
use crate::email::settings::{self, Settings};
use crate::ids::{JobId, PaymentId, TenantId};
use crate::job_types::documents::RenderDocument;
use crate::job_types::payments::SendReceipt;
use crate::payments::effects;
use crate::payments::effects::receipt_document_id;
use crate::payments::new::{NewPayment, PaymentInput};
use crate::platform::Services;
use crate::registry::{JobContext, JobKind};

async fn services() -> (tempfile::TempDir, Services) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    (dir, Services::connect(config).await.unwrap())
}

fn meta(id: JobId, tenant: &TenantId) -> JobMeta {
    JobMeta {
        id,
        tenant: tenant.clone(),
        attempt: 1,
        max_attempts: 5,
        request_id: None,
    }
}

async fn succeeded_payment(s: &Services, tenant: &TenantId) -> PaymentId {
    let new = NewPayment::parse(PaymentInput {
        amount: 1250,
        currency: "EUR".into(),
        reference: "order-9".into(),
        customer_email: Some("ada@example.com".into()),
        customer_name: Some("Ada Lovelace".into()),
        description: None,
        metadata: None,
    })
    .unwrap();
    let p = crate::payments::repo::create(&s.db, tenant, None, new)
        .await
        .unwrap();
    sqlx::query("UPDATE payments SET status = 'succeeded', captured_amount = amount WHERE id = $1")
        .bind(p.id.as_str())
        .execute(s.db.pool())
        .await
        .unwrap();
    let mut conn = s.db.pool().acquire().await.unwrap();
    assert!(
        effects::schedule(&mut conn, tenant, &p.id, effects::EffectKind::Receipt)
            .await
            .unwrap()
    );
    p.id
}

async fn count(s: &Services, sql: &str, tenant: &TenantId) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(tenant.as_str())
        .fetch_one(s.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn every_step_run_twice_still_makes_one_receipt_and_one_email() {
    let (_dir, s) = services().await;
    let tenant = tenants::create(s.db.pool(), "Acme Cranes", None)
        .await
        .unwrap()
        .id;
    let sender = Settings {
        from: Some("Acme <noreply@acme.example>".into()),
        reply_to: None,
        retry_base_ms: None,
        retry_max_ms: None,
        give_up_secs: None,
    };
    settings::put(&s.db, &tenant, &sender).await.unwrap();
    let pay = succeeded_payment(&s, &tenant).await;
    let receipt = || {
        JobContext::new(
            s.clone(),
            meta(effects::receipt_job_id(&pay).unwrap(), &tenant),
        )
    };
    let doc = receipt_document_id(&pay);
    let render = meta(render_job_id(&doc), &tenant);

    SendReceipt {
        payment: pay.clone(),
    }
    .run(receipt())
    .await
    .unwrap();
    SendReceipt {
        payment: pay.clone(),
    }
    .run(receipt())
    .await
    .unwrap();
    for _ in 0..2 {
        let ctx = JobContext::new(s.clone(), render.clone());
        RenderDocument {
            document_id: doc.clone(),
        }
        .run(ctx)
        .await
        .unwrap();
    }
    // And the receipt job once more after the document is ready.
    SendReceipt {
        payment: pay.clone(),
    }
    .run(receipt())
    .await
    .unwrap();

    let d = repo::get(&s.db, &tenant, &doc).await.unwrap().unwrap();
    assert_eq!(d.status, DocumentStatus::Ready);
    assert_eq!(d.receipt_number.as_deref(), Some("R-000001"));
    assert_eq!(d.email_id, Some(follow_up_email_id(&doc)));
    assert_eq!(d.email_error, None);
    let docs = count(
        &s,
        "SELECT COUNT(*) FROM documents WHERE tenant_id = $1",
        &tenant,
    )
    .await;
    let emails = count(
        &s,
        "SELECT COUNT(*) FROM emails WHERE tenant_id = $1",
        &tenant,
    )
    .await;
    let numbers = count(
        &s,
        "SELECT last_number FROM receipt_sequences WHERE tenant_id = $1",
        &tenant,
    )
    .await;
    assert_eq!((docs, emails, numbers), (1, 1, 1));
    let effect = effects::get(&s.db, &pay, effects::EffectKind::Receipt)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(effect.status, effects::EffectStatus::Done);
    assert_eq!(effect.document_id.as_deref(), Some(doc.as_str()));
    let email = crate::email::repo::get(&s.db, &tenant, &follow_up_email_id(&doc))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(email.to, ["ada@example.com"]);
    assert!(email.subject.contains("R-000001"), "{}", email.subject);
    assert!(
        email.html.as_deref().unwrap().contains("EUR 12.50"),
        "{:?}",
        email.html
    );
}
