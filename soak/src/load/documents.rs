//! Documents through `POST /v1/documents`: certificates (some emailed to their recipient once
//! rendered) and receipts with line items; and, about once a minute, a certificate batch through
//! `POST /v1/certificate-batches` of 20 to 50 recipients, a quarter of them with an address (each
//! gets one email with their certificate). Every creation carries an `Idempotency-Key` and is
//! retried through outages like the other kinds.

use rand::Rng;
use serde_json::{Value, json};

use super::Ctx;
use crate::ledger::{Batch, Document};

/// Which document to submit.
#[derive(Debug, Clone, Copy)]
pub enum Mix {
    Certificate {
        emailed: bool,
    },
    /// A receipt of this many line items.
    Receipt {
        lines: usize,
    },
}

impl Mix {
    pub fn pick(rng: &mut impl Rng) -> Mix {
        if rng.random_bool(0.25) {
            Mix::Receipt {
                lines: rng.random_range(1..=4),
            }
        } else {
            Mix::Certificate {
                emailed: rng.random_bool(0.2),
            }
        }
    }

    fn body(self, n: u64) -> Value {
        match self {
            Mix::Certificate { emailed } => {
                let mut data = json!({"recipient_name": format!("Zoë Ångström {n}"),
                    "course_title": "Chaos engineering in practice", "issued_on": "2025-03-14",
                    "credits": 1.5});
                let mut body = json!({"kind": "certificate", "metadata": {"n": n.to_string()}});
                if emailed {
                    data["recipient_email"] = json!(format!("certified-{n}@soak.example"));
                    body["email"] = json!({});
                }
                body["data"] = data;
                body
            }
            Mix::Receipt { lines } => {
                let items: Vec<Value> = (0..lines)
                    .map(|i| json!({"description": format!("Seat {i}"), "quantity": 1, "amount": 1250 + 100 * i as i64}))
                    .collect();
                let amount: i64 = (0..lines).map(|i| 1250 + 100 * i as i64).sum();
                json!({"kind": "receipt", "metadata": {"n": n.to_string()},
                    "data": {"reference": format!("soak-order-{n}"), "paid_at": "2025-03-14T10:00:00Z",
                             "customer_name": format!("Customer {n}"), "amount": amount,
                             "currency": "EUR", "line_items": items}})
            }
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Mix::Certificate { .. } => "certificate",
            Mix::Receipt { .. } => "receipt",
        }
    }
}

/// Submits document `n` and records it once accepted.
pub async fn submit(ctx: Ctx, n: u64, mix: Mix) {
    let key = format!("document-{n}");
    if let Some(id) = ctx
        .create("documents", "/v1/documents", &mix.body(n), &key)
        .await
    {
        ctx.ledger.lock().documents.push(Document {
            id,
            kind: mix.kind(),
            emailed: matches!(mix, Mix::Certificate { emailed: true }),
        });
    }
}

/// Which batch to submit: for each recipient, whether they have an address.
#[derive(Debug, Clone)]
pub struct BatchMix {
    recipients: Vec<bool>,
}

impl BatchMix {
    pub fn pick(rng: &mut impl Rng) -> BatchMix {
        let size = rng.random_range(20..=50);
        BatchMix {
            recipients: (0..size).map(|_| rng.random_bool(0.25)).collect(),
        }
    }
}

/// Submits batch `n` and records it once accepted.
pub async fn submit_batch(ctx: Ctx, n: u64, mix: BatchMix) {
    let key = format!("batch-{n}");
    let recipients: Vec<Value> = mix
        .recipients
        .iter()
        .enumerate()
        .map(|(i, emailed)| {
            let mut r = json!({"name": format!("Batch {n} attendee {i}")});
            if *emailed {
                r["email"] = json!(format!("attendee-{n}-{i}@soak.example"));
            }
            r
        })
        .collect();
    let body = json!({"course_title": format!("Soak cohort {n}"), "issued_on": "2025-03-14",
        "credits": 3, "recipients": recipients,
        "email": {"subject": "Your certificate, {{ recipient_name }}",
                  "html": "<p>Well done, {{ recipient_name }}. Verify it at {{ verification_url }}.</p>"}});
    if let Some(id) = ctx
        .create("batches", "/v1/certificate-batches", &body, &key)
        .await
    {
        ctx.ledger.lock().batches.push(Batch {
            id,
            recipients: mix.recipients.len(),
            emailed: mix.recipients.iter().filter(|e| **e).count(),
        });
    }
}
