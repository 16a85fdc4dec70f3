//! What the load generators were told the API accepted, per kind: the side of the ledger the
//! checks hold Longshore's final records against. Only accepted work counts; a submission the
//! API refused or never answered (through a restart, say) is counted apart, as a client sees it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

/// A `diagnostic.*` job, accepted with `202`.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub accepted_at: DateTime<Utc>,
}

/// An email accepted with `202`.
#[derive(Debug, Clone)]
pub struct Email {
    pub id: String,
    /// Sent to an address the sink refuses with 550: it should end `bounced` or `suppressed`.
    pub bounces: bool,
}

/// An open or click the API answered (pixel 200, click 302).
#[derive(Debug, Clone)]
pub struct TrackingHit {
    pub email_id: String,
    pub click: bool,
    pub at: DateTime<Utc>,
}

/// One gateway event the fake gateway signed.
#[derive(Debug, Clone)]
pub struct GatewayEvent {
    /// The gateway's event id (`webhook-id`, or the Stripe event's `id`).
    pub id: String,
    /// `payment.succeeded` or `refund.succeeded` (Standard Webhooks),
    /// `payment_intent.succeeded` or `charge.refunded` (Stripe).
    pub kind: &'static str,
    /// The amount in minor units: captured, or this refund's (a Stripe `charge.refunded` signs
    /// the refunded total, which is the sum of these).
    pub amount: i64,
    /// The inbox id from the first `200` (`None` until accepted).
    pub inbox_id: Option<String>,
    /// `200` answers saying `duplicate: false`: at most one is allowed.
    pub fresh_answers: u32,
    /// `200` answers saying `duplicate: true`.
    pub duplicate_answers: u32,
    /// Sent again on purpose after it was accepted (the answer must say duplicate).
    pub resent: bool,
}

impl GatewayEvent {
    /// The payment's success (else a refund).
    pub fn is_success(&self) -> bool {
        matches!(self.kind, "payment.succeeded" | "payment_intent.succeeded")
    }
}

/// A payment created through the API and the gateway events sent about it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    pub events: Vec<GatewayEvent>,
    /// A refund was delivered before the success it follows.
    pub out_of_order: bool,
    /// The gateway's provider: `standard` or `stripe`.
    pub provider: &'static str,
}

/// A document accepted with `202` through `POST /v1/documents`.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    /// `certificate` or `receipt`.
    pub kind: &'static str,
    /// A certificate to be emailed to its recipient once ready (one follow-up email).
    pub emailed: bool,
}

/// A certificate batch accepted with `202`.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: String,
    /// Recipients given: the batch must end with exactly this many certificates.
    pub recipients: usize,
    /// Recipients given an email address (each gets one email with their certificate).
    pub emailed: usize,
}

/// An HTTP task accepted with `201`.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    /// The app's path, which says how it answers (`/fail/2`, `/slow/1500`, …).
    pub path: String,
}

/// Submissions that never got a 2xx, per kind: refused (4xx) or given up (outage).
#[derive(Debug, Clone, Default)]
pub struct NotAccepted {
    pub refused: Vec<String>,
    /// Abandoned submissions: the `Idempotency-Key` (or event id) and the last answer.
    pub gave_up: Vec<(String, String)>,
}

/// Everything accepted during the soak.
#[derive(Debug, Default)]
pub struct Entries {
    pub jobs: Vec<Job>,
    pub emails: Vec<Email>,
    pub tracking: Vec<TrackingHit>,
    pub payments: Vec<Payment>,
    pub tasks: Vec<Task>,
    pub documents: Vec<Document>,
    pub batches: Vec<Batch>,
    pub not_accepted: BTreeMap<&'static str, NotAccepted>,
}

/// The shared ledger.
#[derive(Clone, Default)]
pub struct Ledger(Arc<Mutex<Entries>>);

impl Ledger {
    /// The entries, for reading or recording.
    pub fn lock(&self) -> MutexGuard<'_, Entries> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a submission of `kind` that was refused with an answer (kept for the report).
    pub fn refused(&self, kind: &'static str, why: String) {
        self.lock()
            .not_accepted
            .entry(kind)
            .or_default()
            .refused
            .push(why);
    }

    /// Records a submission of `kind` abandoned after its deadline.
    pub fn gave_up(&self, kind: &'static str, key: &str, last: &str) {
        self.lock()
            .not_accepted
            .entry(kind)
            .or_default()
            .gave_up
            .push((key.to_owned(), last.to_owned()));
    }
}
