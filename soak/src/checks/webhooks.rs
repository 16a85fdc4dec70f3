//! Signed gateway webhooks: every event the gateway got a `200` for is stored once (one inbox
//! row per gateway event id, whatever the retries and deliberate resends), applied once (one
//! `applied` entry in its payment's history), and the ledger's totals equal the signed amounts:
//! per payment, the captured amount is the signed success amount and the refunded amount the
//! sum of the signed refunds. A resend after a `200` must be answered as a duplicate.
//!
//! Both gateways count: Standard Webhooks events (id in `webhook-id`, each refund its own
//! amount) and Stripe events (id in the body, `charge.refunded` carrying the refunded total).
//! One Stripe case is not an application: a `charge.refunded` whose total a later one already
//! applied (the later event overtook it) is `ignored` as "not higher", and rightly, since the
//! later total includes it; it counts as completed when the payment's totals are right.

use std::collections::HashMap;

use serde_json::Value;

use super::{Finding, Snapshot, Verdict, time};
use crate::ledger::Entries;

pub fn check(snapshot: &Snapshot, ledger: &Entries) -> Verdict {
    let mut v = Verdict::new("webhooks");
    let mut rows: HashMap<&str, Vec<&Value>> = HashMap::new();
    for row in &snapshot.inbox {
        if let Some(id) = row["event_id"].as_str() {
            rows.entry(id).or_default().push(row);
        }
    }
    let (mut signed_captured, mut signed_refunded, mut captured, mut refunded) =
        (0i64, 0i64, 0i64, 0i64);
    let mut superseded = 0;
    for payment in &ledger.payments {
        let record = snapshot.payments.get(&payment.id);
        let history: Vec<&Value> = record
            .and_then(|p| p["history"].as_array())
            .map(|h| h.iter().collect())
            .unwrap_or_default();
        let (mut want_captured, mut want_refunded) = (0, 0);
        let pending_before = v.pending.len();
        for event in &payment.events {
            let accepted = event.fresh_answers + event.duplicate_answers > 0;
            if !accepted {
                continue;
            }
            v.accepted += 1;
            if event.fresh_answers > 1 {
                v.duplicated.push(Finding::new(
                    &event.id,
                    format!("answered as new {} times", event.fresh_answers),
                ));
            }
            let mine = rows.get(event.id.as_str()).cloned().unwrap_or_default();
            if mine.len() > 1 {
                v.duplicated.push(Finding::new(
                    &event.id,
                    format!("stored {} times", mine.len()),
                ));
            }
            let Some(row) = mine.first() else {
                v.lost
                    .push(Finding::new(&event.id, "answered 200, never stored"));
                continue;
            };
            let inbox_id = row["id"].as_str().unwrap_or_default();
            let applied = history
                .iter()
                .filter(|h| h["event"] == inbox_id && h["outcome"] == "applied")
                .count();
            match (row["status"].as_str().unwrap_or_default(), applied) {
                ("processed", 1) => v.complete(time(&row["updated_at"])),
                ("processed", 0) => v.lost.push(Finding::new(
                    inbox_id,
                    format!("{}: processed, not in the payment's history", event.id),
                )),
                ("processed", n) => {
                    v.duplicated.push(Finding::new(
                        inbox_id,
                        format!("{}: applied {n} times", event.id),
                    ));
                }
                ("ignored", 0)
                    if payment.provider == "stripe"
                        && !event.is_success()
                        && row["reason"]
                            .as_str()
                            .is_some_and(|r| r.contains("not higher")) =>
                {
                    superseded += 1;
                    v.complete(time(&row["updated_at"]));
                }
                ("received" | "deferred", _) => v.pending.push(Finding::new(
                    inbox_id,
                    format!("{}: {}", event.id, row["status"]),
                )),
                (status, _) => v.lost.push(Finding::new(
                    inbox_id,
                    format!(
                        "{}: {status} ({})",
                        event.id,
                        row["reason"].as_str().unwrap_or("no reason")
                    ),
                )),
            }
            if event.is_success() {
                want_captured += event.amount;
            } else {
                want_refunded += event.amount;
            }
        }
        let got_captured = record
            .and_then(|p| p["amount_captured"].as_i64())
            .unwrap_or(0);
        let got_refunded = record
            .and_then(|p| p["amount_refunded"].as_i64())
            .unwrap_or(0);
        // Totals are compared once every event of the payment has been handled.
        let settled = v.pending.len() == pending_before;
        if settled && (got_captured, got_refunded) != (want_captured, want_refunded) {
            v.violations.push(Finding::new(
                &payment.id,
                format!(
                    "captured {got_captured} / refunded {got_refunded}, signed {want_captured} / {want_refunded}{}",
                    if payment.out_of_order { " (a refund came first)" } else { "" }
                ),
            ));
        }
        signed_captured += want_captured;
        signed_refunded += want_refunded;
        captured += got_captured;
        refunded += got_refunded;
    }
    let resent = ledger
        .payments
        .iter()
        .flat_map(|p| &p.events)
        .filter(|e| e.resent)
        .count();
    let reordered = ledger.payments.iter().filter(|p| p.out_of_order).count();
    let stripe = ledger
        .payments
        .iter()
        .filter(|p| p.provider == "stripe")
        .count();
    v.notes.push(format!(
        "ledger: captured {captured} (signed {signed_captured}), refunded {refunded} (signed {signed_refunded}) minor units over {} payments ({stripe} through the Stripe gateway, {} Standard Webhooks); {resent} events resent on purpose, {reordered} refunds delivered before their success",
        ledger.payments.len(),
        ledger.payments.len() - stripe
    ));
    if superseded > 0 {
        v.notes.push(format!(
            "{superseded} Stripe refund totals ignored as already covered by a later total (counted completed)"
        ));
    }
    v
}
