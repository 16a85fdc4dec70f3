use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::db::test_databases as databases;
use crate::payments::machine::PaymentStatus;
use crate::payments::money::Amount;
use crate::payments::new::NewPayment;
use crate::payments::{HistoryOutcome, repo};
use crate::webhooks::inbox::{self, InboxStatus};

async fn payment(db: &Db, tenant: &TenantId, amount: i64) -> PaymentId {
    let new = NewPayment {
        amount: Amount::new(amount).expect("amount"),
        currency: "EUR".parse().expect("currency"),
        reference: format!("ref-{}", PaymentId::new()),
        customer_email: None,
        customer_name: None,
        description: None,
        metadata: None,
    };
    repo::create(db, tenant, None, new)
        .await
        .expect("payment")
        .id
}

/// Stores a Standard Webhooks event about `payment` created at `at` seconds; returns its row.
async fn event(
    db: &Db,
    tenant: &TenantId,
    kind: &str,
    payment: &str,
    at: i64,
    data: serde_json::Value,
) -> WebhookEventId {
    let mut d = json!({"payment_id": payment});
    if let (Some(d), Some(extra)) = (d.as_object_mut(), data.as_object()) {
        d.extend(extra.clone());
    }
    let body = json!({"type": kind, "created_at": at, "data": d}).to_string();
    inbox::tests::store(
        db,
        tenant,
        kind,
        Some(at * 1000),
        &body,
        InboxStatus::Received,
    )
    .await
}

async fn status_of(db: &Db, tenant: &TenantId, id: &WebhookEventId) -> InboxStatus {
    inbox::get(db, tenant, id)
        .await
        .expect("get")
        .expect("row")
        .status
}

#[tokio::test]
async fn a_batch_applies_as_the_events_would_one_after_the_other() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        let other = TenantId::new();
        let p = payment(&db, &tenant, 2500).await;
        let foreign = payment(&db, &other, 2500).await;
        let ps = p.as_str();
        // Parked by an earlier batch: a refund before the success.
        let early = event(
            &db,
            &tenant,
            "refund.succeeded",
            ps,
            100,
            json!({"amount": 500}),
        )
        .await;
        let first = apply_batch(&db, &[(tenant.clone(), early.clone())])
            .await
            .expect("batch 1");
        assert_eq!(first.outcomes, vec![Applied::Marked(InboxStatus::Deferred)]);

        let refund_in_batch = event(
            &db,
            &tenant,
            "refund.succeeded",
            ps,
            101,
            json!({"amount": 700}),
        )
        .await;
        let success = event(&db, &tenant, "payment.succeeded", ps, 102, json!({})).await;
        let again = event(&db, &tenant, "payment.succeeded", ps, 103, json!({})).await;
        let too_much = event(
            &db,
            &tenant,
            "refund.succeeded",
            ps,
            104,
            json!({"amount": 1301}),
        )
        .await;
        let rest = event(
            &db,
            &tenant,
            "refund.succeeded",
            ps,
            105,
            json!({"amount": 1300}),
        )
        .await;
        let missing = event(
            &db,
            &tenant,
            "payment.succeeded",
            "pay_nope",
            106,
            json!({}),
        )
        .await;
        let cross = event(
            &db,
            &tenant,
            "payment.succeeded",
            foreign.as_str(),
            107,
            json!({}),
        )
        .await;
        let wrong_tenant = event(
            &db,
            &other,
            "payment.succeeded",
            foreign.as_str(),
            108,
            json!({}),
        )
        .await;
        let jobs = vec![
            (tenant.clone(), refund_in_batch.clone()),
            (tenant.clone(), success.clone()),
            (tenant.clone(), success.clone()),
            (tenant.clone(), again.clone()),
            (tenant.clone(), too_much.clone()),
            (tenant.clone(), rest.clone()),
            (tenant.clone(), missing.clone()),
            (tenant.clone(), cross.clone()),
            (tenant.clone(), wrong_tenant.clone()),
            (tenant.clone(), early.clone()),
        ];
        let done = apply_batch(&db, &jobs).await.expect("batch 2");
        assert_eq!(
            done.outcomes,
            vec![
                Applied::Marked(InboxStatus::Deferred),
                Applied::Marked(InboxStatus::Processed),
                Applied::AlreadyHandled,
                Applied::Marked(InboxStatus::Ignored),
                Applied::Marked(InboxStatus::Ignored),
                Applied::Marked(InboxStatus::Processed),
                Applied::Marked(InboxStatus::Failed),
                Applied::Marked(InboxStatus::Failed),
                Applied::AlreadyHandled,
                Applied::AlreadyHandled,
            ]
        );
        let got = repo::get(&db, &tenant, &p)
            .await
            .expect("get")
            .expect("payment");
        assert_eq!(got.status, PaymentStatus::Refunded);
        assert_eq!((got.captured, got.refunded), (2500, 2500));
        let lines: Vec<(i64, &str, HistoryOutcome)> = got
            .history
            .iter()
            .map(|h| (h.seq, h.kind.as_str(), h.outcome))
            .collect();
        use HistoryOutcome as H;
        assert_eq!(
            lines,
            vec![
                (1, "refunded", H::Deferred),
                (2, "refunded", H::Deferred),
                (3, "succeeded", H::Applied),
                // The parked refunds, oldest event first.
                (4, "refunded", H::Applied),
                (5, "refunded", H::Applied),
                (6, "succeeded", H::Ignored),
                (7, "refunded", H::Ignored),
                (8, "refunded", H::Applied),
            ]
        );
        assert!(
            got.history[6]
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("refused"))
        );
        for (id, want) in [
            (&early, InboxStatus::Processed),
            (&refund_in_batch, InboxStatus::Processed),
            (&success, InboxStatus::Processed),
            (&again, InboxStatus::Ignored),
            (&too_much, InboxStatus::Ignored),
            (&rest, InboxStatus::Processed),
            (&missing, InboxStatus::Failed),
            (&cross, InboxStatus::Failed),
        ] {
            assert_eq!(status_of(&db, &tenant, id).await, want, "{id}");
        }
        assert_eq!(
            status_of(&db, &other, &wrong_tenant).await,
            InboxStatus::Received
        );
        let untouched = repo::get(&db, &other, &foreign)
            .await
            .expect("get")
            .expect("payment");
        assert_eq!(untouched.status, PaymentStatus::Pending);
        // A second run finds everything handled.
        let rerun = apply_batch(&db, &jobs[..2]).await.expect("rerun");
        assert_eq!(rerun.outcomes, vec![Applied::AlreadyHandled; 2]);
    }
}

#[tokio::test]
async fn concurrent_batches_on_one_payment_lose_no_update() {
    for (db, _dir) in databases().await {
        let db = Arc::new(db);
        let tenant = TenantId::new();
        let p = payment(&db, &tenant, 10_000).await;
        let s = event(&db, &tenant, "payment.succeeded", p.as_str(), 10, json!({})).await;
        apply_batch(&db, &[(tenant.clone(), s)])
            .await
            .expect("success");
        // 8 batches of 13 refunds of 100 each (10,400 asked, 10,000 captured), run at once.
        let mut batches = Vec::new();
        for b in 0..8 {
            let mut jobs = Vec::new();
            for i in 0..13 {
                let at = 20 + b * 13 + i;
                let id = event(
                    &db,
                    &tenant,
                    "refund.succeeded",
                    p.as_str(),
                    at,
                    json!({"amount": 100}),
                )
                .await;
                jobs.push((tenant.clone(), id));
            }
            batches.push(jobs);
        }
        let mut tasks = Vec::new();
        for jobs in batches {
            let db = db.clone();
            tasks.push(tokio::spawn(async move { apply_batch(&db, &jobs).await }));
        }
        for t in tasks {
            t.await.expect("task").expect("batch");
        }
        let got = repo::get(&db, &tenant, &p)
            .await
            .expect("get")
            .expect("payment");
        assert_eq!(got.refunded, 10_000, "every refund that fits, once");
        assert_eq!(got.status, PaymentStatus::Refunded);
        assert_eq!(got.history.len(), 1 + 8 * 13);
        let seqs: Vec<i64> = got.history.iter().map(|h| h.seq).collect();
        assert_eq!(seqs, (1..=105).collect::<Vec<_>>());
        let applied = got
            .history
            .iter()
            .filter(|h| h.kind == "refunded" && h.outcome == HistoryOutcome::Applied)
            .count();
        assert_eq!(applied, 100);
    }
}

#[tokio::test]
async fn the_same_rows_in_concurrent_batches_apply_once() {
    for (db, _dir) in databases().await {
        let db = Arc::new(db);
        let tenant = TenantId::new();
        let p = payment(&db, &tenant, 10_000).await;
        let s = event(&db, &tenant, "payment.succeeded", p.as_str(), 10, json!({})).await;
        apply_batch(&db, &[(tenant.clone(), s)])
            .await
            .expect("success");
        let mut jobs = Vec::new();
        for i in 0..5 {
            let id = event(
                &db,
                &tenant,
                "refund.succeeded",
                p.as_str(),
                20 + i,
                json!({"amount": 100}),
            )
            .await;
            jobs.push((tenant.clone(), id));
        }
        // Six workers run the same five jobs at once (re-delivered leases, sweeper re-enqueues).
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (db, jobs) = (db.clone(), jobs.clone());
            tasks.push(tokio::spawn(async move { apply_batch(&db, &jobs).await }));
        }
        let mut applied = 0;
        for t in tasks {
            // A batch that lost the race rolls back whole (an error); one that read the rows
            // after the winner committed finds them handled.
            if let Ok(done) = t.await.expect("task") {
                applied += done
                    .outcomes
                    .iter()
                    .filter(|o| **o == Applied::Marked(InboxStatus::Processed))
                    .count();
            }
        }
        assert_eq!(applied, 5, "each row applied by exactly one batch");
        let got = repo::get(&db, &tenant, &p)
            .await
            .expect("get")
            .expect("payment");
        assert_eq!(got.refunded, 500);
        assert_eq!(got.history.len(), 6);
    }
}
