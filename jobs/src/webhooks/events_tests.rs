//! Applying gateway events records the ledger's events in the same transaction, on the single
//! and the batch path: once per change, nothing for a change that did not happen.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::Hooks;
use super::apply::{Applied, apply_event};
use super::apply_batch::apply_batch;
use super::inbox::{self, InboxStatus};
use crate::config::Config;
use crate::db::{Db, test_databases as databases};
use crate::events::test_support::{ENDPOINT, count_all, recorded, subscribe_all};
use crate::ids::{PaymentId, TenantId, WebhookEventId};
use crate::intent::{Dispatch, Next};
use crate::payments::money::Amount;
use crate::payments::new::NewPayment;
use crate::payments::repo;
use crate::queue::{Enqueued, QueueError};

/// Nothing here owes a receipt (no customer email), so nothing is ever dispatched.
struct NoQueue;

#[async_trait]
impl Dispatch for NoQueue {
    async fn dispatch(&self, _: Next) -> Result<Enqueued, QueueError> {
        Err(QueueError::Unavailable("no queue in this test".into()))
    }
    async fn dispatch_many(&self, next: Vec<Next>) -> Vec<Result<Enqueued, QueueError>> {
        next.iter()
            .map(|_| Err(QueueError::Unavailable("no queue in this test".into())))
            .collect()
    }
}

fn hooks(db: &Db) -> Hooks {
    Hooks {
        db: db.clone(),
        config: Arc::new(Config::default()),
        out: Arc::new(NoQueue),
    }
}

async fn payment(db: &Db, tenant: &TenantId, amount: i64) -> PaymentId {
    let new = NewPayment {
        amount: Amount::new(amount).expect("amount"),
        currency: "EUR".parse().expect("currency"),
        reference: format!("ref-{}", PaymentId::new()),
        customer_email: None,
        customer_name: None,
        description: None,
        metadata: Some(json!({"order_id": "o-1"})),
    };
    repo::create(db, tenant, None, new)
        .await
        .expect("payment")
        .id
}

/// Stores a Standard Webhooks event created at `at` seconds; returns its inbox row.
async fn gateway(
    db: &Db,
    tenant: &TenantId,
    kind: &str,
    at: i64,
    data: serde_json::Value,
) -> WebhookEventId {
    let body = json!({"type": kind, "created_at": at, "data": data}).to_string();
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

#[tokio::test]
async fn fifty_concurrent_duplicate_webhooks_give_one_payment_succeeded() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let p = payment(&db, &tenant, 2500).await;
        let data = json!({"payment_id": p.as_str(), "amount": 2500});
        // The same delivery applied by 25 jobs at once (re-delivered leases, sweeper
        // re-enqueues), and 25 more deliveries of the success (a gateway that sent it again).
        let first = gateway(&db, &tenant, "payment.succeeded", 100, data.clone()).await;
        let mut rows = vec![first.clone(); 25];
        for n in 0..25 {
            rows.push(gateway(&db, &tenant, "payment.succeeded", 101 + n, data.clone()).await);
        }
        let hooks = Arc::new(hooks(&db));
        let mut runs = Vec::new();
        for (n, row) in rows.into_iter().enumerate() {
            let (hooks, tenant) = (hooks.clone(), tenant.clone());
            runs.push(tokio::spawn(async move {
                // Half through the batch path, half through the single one; a batch that
                // loses a race rolls back and its row is applied alone, as the applier does.
                if n % 2 == 0
                    && apply_batch(&hooks.db, &[(tenant.clone(), row.clone())])
                        .await
                        .is_ok()
                {
                    return;
                }
                // The single path locks the inbox row, then the payment; a batch locks the
                // payment, then writes the row: PostgreSQL may end one of them as a deadlock,
                // and the job runs again, as its retry would.
                for _ in 0..20 {
                    if let Ok(applied) = apply_event(&hooks, &tenant, &row).await {
                        assert!(matches!(
                            applied,
                            Applied::AlreadyHandled | Applied::Marked(_)
                        ));
                        return;
                    }
                }
                panic!("the row was never applied");
            }));
        }
        for run in runs {
            run.await.expect("run");
        }
        let succeeded = recorded(&db, &tenant, "payment.succeeded").await;
        assert_eq!(succeeded.len(), 1, "one success, however often it was told");
        let e = &succeeded[0];
        assert_eq!(e.resource_id.as_deref(), Some(p.as_str()));
        assert_eq!(e.deliveries, vec![ENDPOINT.to_owned()]);
        assert_eq!(e.data["payment_id"], p.as_str());
        assert_eq!(e.data["status"], "succeeded");
        assert_eq!(e.data["amount"], 2500);
        assert_eq!(e.data["amount_captured"], 2500);
        assert_eq!(e.data["amount_refunded"], 0);
        assert_eq!(e.data["currency"], "EUR");
        assert_eq!(e.data["metadata"], json!({"order_id": "o-1"}));
        assert!(
            e.data["reference"]
                .as_str()
                .is_some_and(|r| r.starts_with("ref-"))
        );
        assert!(e.data.get("refund_amount").is_none());
        assert_eq!(count_all(&db, &tenant).await, 1);
    }
}

#[tokio::test]
async fn failures_and_refunds_are_told_once_per_change_on_both_paths() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let hooks = hooks(&db);
        let p = payment(&db, &tenant, 2500).await;
        let of = |extra: serde_json::Value| {
            let mut d = json!({"payment_id": p.as_str()});
            if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
                d.extend(extra.clone());
            }
            d
        };
        // Single path: a failure, then the same failure again (ignored: no change, no event).
        let failed = gateway(
            &db,
            &tenant,
            "payment.failed",
            10,
            of(json!({"reason": "card declined"})),
        )
        .await;
        let failed_again = gateway(&db, &tenant, "payment.failed", 11, of(json!({}))).await;
        apply_event(&hooks, &tenant, &failed).await.expect("failed");
        apply_event(&hooks, &tenant, &failed_again)
            .await
            .expect("again");
        apply_event(&hooks, &tenant, &failed)
            .await
            .expect("replayed job");
        let told = recorded(&db, &tenant, "payment.failed").await;
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].data["status"], "failed");
        assert_eq!(told[0].data["failure_reason"], "card declined");
        assert_eq!(told[0].data["webhook_event_id"], failed.as_str());

        // Batch path: back to pending (not told), success, two refunds, one refused.
        let rows = [
            gateway(&db, &tenant, "payment.pending", 20, of(json!({}))).await,
            gateway(&db, &tenant, "payment.succeeded", 21, of(json!({}))).await,
            gateway(
                &db,
                &tenant,
                "refund.succeeded",
                22,
                of(json!({"amount": 500})),
            )
            .await,
            gateway(
                &db,
                &tenant,
                "refund.succeeded",
                23,
                of(json!({"amount": 9999})),
            )
            .await,
            gateway(
                &db,
                &tenant,
                "refund.succeeded",
                24,
                of(json!({"amount": 2000})),
            )
            .await,
        ];
        let jobs: Vec<(TenantId, WebhookEventId)> =
            rows.iter().map(|r| (tenant.clone(), r.clone())).collect();
        apply_batch(&db, &jobs).await.expect("batch");
        apply_batch(&db, &jobs).await.expect("batch again");
        assert_eq!(recorded(&db, &tenant, "payment.succeeded").await.len(), 1);
        let refunds = recorded(&db, &tenant, "payment.refunded").await;
        assert_eq!(refunds.len(), 2, "the refused refund changed nothing");
        let mut seen: Vec<(i64, i64, String)> = refunds
            .iter()
            .map(|e| {
                (
                    e.data["refund_amount"].as_i64().expect("refund_amount"),
                    e.data["amount_refunded"].as_i64().expect("amount_refunded"),
                    e.data["status"].as_str().expect("status").to_owned(),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (500, 500, "partially_refunded".to_owned()),
                (2000, 2500, "refunded".to_owned()),
            ]
        );
        assert!(
            refunds
                .iter()
                .all(|e| e.deliveries == vec![ENDPOINT.to_owned()])
        );
        assert!(refunds.iter().all(|e| e.id.starts_with("msg_")));
        assert_eq!(count_all(&db, &tenant).await, 4);
    }
}

#[tokio::test]
async fn payouts_and_expenses_are_told_when_the_ledger_changes() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let hooks = hooks(&db);
        let payout = |extra: serde_json::Value| {
            let mut d = json!({"payout_id": "po_bank_1", "amount": 9000, "currency": "eur"});
            if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
                d.extend(extra.clone());
            }
            d
        };
        let paid = gateway(&db, &tenant, "payout.paid", 10, payout(json!({}))).await;
        let paid_again = gateway(&db, &tenant, "payout.paid", 11, payout(json!({}))).await;
        let failed = gateway(
            &db,
            &tenant,
            "payout.failed",
            12,
            payout(json!({"failure_reason": "account closed"})),
        )
        .await;
        let stale = gateway(&db, &tenant, "payout.paid", 5, payout(json!({}))).await;
        apply_event(&hooks, &tenant, &paid).await.expect("paid");
        // A newer event repeating the status, in a batch: stored, not told.
        apply_batch(&db, &[(tenant.clone(), paid_again)])
            .await
            .expect("again");
        apply_event(&hooks, &tenant, &failed).await.expect("failed");
        // Older than the failure: ignored, not told.
        apply_batch(&db, &[(tenant.clone(), stale)])
            .await
            .expect("stale");
        let told_paid = recorded(&db, &tenant, "payout.paid").await;
        assert_eq!(told_paid.len(), 1);
        assert_eq!(told_paid[0].data["external_id"], "po_bank_1");
        assert_eq!(told_paid[0].data["status"], "paid");
        assert_eq!(told_paid[0].data["amount"], 9000);
        assert_eq!(told_paid[0].data["currency"], "EUR");
        let payout_id = told_paid[0].data["payout_id"]
            .as_str()
            .expect("payout_id")
            .to_owned();
        assert!(payout_id.starts_with("po_"));
        assert_eq!(
            told_paid[0].resource_id.as_deref(),
            Some(payout_id.as_str())
        );
        let told_failed = recorded(&db, &tenant, "payout.failed").await;
        assert_eq!(told_failed.len(), 1);
        assert_eq!(told_failed[0].data["payout_id"], payout_id.as_str());
        assert_eq!(told_failed[0].data["failure_reason"], "account closed");
        assert_eq!(told_failed[0].deliveries, vec![ENDPOINT.to_owned()]);

        let expense =
            json!({"expense_id": "fee_1", "amount": 35, "currency": "EUR", "category": "fee"});
        let first = gateway(&db, &tenant, "expense.recorded", 20, expense.clone()).await;
        let resent = gateway(&db, &tenant, "expense.recorded", 21, expense).await;
        apply_batch(&db, &[(tenant.clone(), first)])
            .await
            .expect("expense");
        apply_event(&hooks, &tenant, &resent).await.expect("resent");
        let told = recorded(&db, &tenant, "expense.recorded").await;
        assert_eq!(told.len(), 1, "a re-sent expense is recorded once");
        assert_eq!(told[0].data["external_id"], "fee_1");
        assert_eq!(told[0].data["amount"], 35);
        assert_eq!(told[0].data["category"], "fee");
        assert!(
            told[0].data["expense_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("exp_"))
        );
        assert_eq!(told[0].deliveries, vec![ENDPOINT.to_owned()]);
        assert_eq!(count_all(&db, &tenant).await, 3);
    }
}
