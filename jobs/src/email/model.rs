//! An email as stored, the words its lifecycle speaks (statuses and event kinds), and what the
//! API reports about it (counters, events).
//!
//! Lifecycle: `queued` → `sending` → `sent` | `deferred` (→ `sending` again) | `bounced` |
//! `failed` | `suppressed`; `cancelled` before it is sent.

use serde::{Deserialize, Serialize};

use crate::words::word_enum;

use super::attachments::AttachmentRef;
use crate::ids::{DocumentId, EmailId, JobId, TenantId};

word_enum!(
    /// Where an email stands.
    EmailStatus {
        /// Recorded; its send job waits for a worker (or for `send_at`).
        Queued => "queued",
        /// A worker holds the send claim and is talking to the mail server.
        Sending => "sending",
        /// The mail server accepted it.
        Sent => "sent",
        /// The server answered 4xx, timed out or was unreachable; another attempt is scheduled.
        Deferred => "deferred",
        /// The server answered 5xx: permanent, not retried; the recipients are suppressed.
        Bounced => "bounced",
        /// Gave up (still deferred at the tenant's give-up time), or could not be built.
        Failed => "failed",
        /// Every recipient is on the tenant's suppression list: no SMTP conversation took place.
        Suppressed => "suppressed",
        /// Withdrawn before it was sent.
        Cancelled => "cancelled",
    }
);

impl EmailStatus {
    /// True once nothing more will happen to the email's delivery.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            EmailStatus::Sent
                | EmailStatus::Bounced
                | EmailStatus::Failed
                | EmailStatus::Suppressed
                | EmailStatus::Cancelled
        )
    }
}

word_enum!(
    /// What happened to an email.
    EventKind {
        /// Recorded and its send job enqueued.
        Queued => "queued",
        /// Accepted by the mail server (data: the reply).
        Sent => "sent",
        /// A transient failure; retried (data: reply or error, next attempt).
        Deferred => "deferred",
        /// A permanent rejection (data: the reply).
        Bounced => "bounced",
        /// Delivery was abandoned (data: why).
        Failed => "failed",
        /// Not sent: every recipient is suppressed (data: the addresses).
        Suppressed => "suppressed",
        /// The tracking pixel was fetched.
        Opened => "opened",
        /// A tracked link was followed (data: the link).
        Clicked => "clicked",
        /// A recipient unsubscribed (data: the addresses suppressed).
        Unsubscribed => "unsubscribed",
        /// Withdrawn before sending.
        Cancelled => "cancelled",
    }
);

/// An email as stored. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub id: EmailId,
    pub tenant: TenantId,
    pub status: EmailStatus,
    /// The send job (derived from the email id).
    pub job_id: JobId,
    pub from: String,
    pub reply_to: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    /// The HTML body as given or rendered (links are rewritten only in the sent copy).
    pub html: Option<String>,
    /// The text body as given, rendered, or derived from the HTML.
    pub text: String,
    pub template: Option<String>,
    /// Ready documents of the tenant, or stored files (a report's CSV, a client's inline file),
    /// attached at send time.
    pub attachments: Vec<AttachmentRef>,
    pub track_opens: bool,
    pub track_clicks: bool,
    pub tags: Vec<String>,
    pub metadata: Option<serde_json::Value>,
    /// `<…@domain>`: stable across attempts, so a duplicate copy is recognisable downstream.
    pub message_id: String,
    pub send_at: Option<i64>,
    /// SMTP conversations started.
    pub attempts: u32,
    /// The server's reply (or the error) of the latest attempt.
    pub last_reply: Option<String>,
    /// The latest claim took over from an attempt that ended without recording its outcome.
    pub interrupted: bool,
    /// Recipients left out because they were suppressed.
    pub suppressed: Vec<String>,
    pub request_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
}

/// One event in an email's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub at: i64,
    /// For opens and clicks: whether it looks automated, and why.
    pub machine: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// For clicks: the original link.
    pub link: Option<String>,
    pub data: Option<serde_json::Value>,
}

/// Engagement counts of one class (human or machine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Engagement {
    /// Pixel fetches.
    pub opens: u64,
    /// Distinct openers (by a keyed hash of IP and user agent).
    pub unique_opens: u64,
    /// Link follows.
    pub clicks: u64,
    /// Distinct clickers.
    pub unique_clicks: u64,
}

/// Engagement of an email, human and likely-machine events counted apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub human: Engagement,
    pub machine: Engagement,
}

/// The id of an email's send job: derived, so enqueueing it again is a no-op.
pub fn send_job_id(email: &EmailId) -> JobId {
    let suffix = email.as_str().trim_start_matches("em_");
    JobId::from_trusted(format!("job_email-{suffix}"))
}

/// The id of the email that a document's follow-up creates: derived, so a re-run render job or
/// a replayed chain finds the email it already created instead of sending a second one.
pub fn follow_up_email_id(document: &DocumentId) -> EmailId {
    let suffix = document.as_str().trim_start_matches("doc_");
    EmailId::from_trusted(format!("em_doc-{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_job_ids_derive() {
        for s in EmailStatus::ALL {
            assert_eq!(s.as_str().parse::<EmailStatus>().unwrap(), *s);
        }
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), *k);
        }
        let id = EmailId::new();
        let job = send_job_id(&id);
        assert_eq!(job.as_str().parse::<JobId>().unwrap(), job);
        assert_eq!(send_job_id(&id), job);
        let doc = DocumentId::new();
        let follow = follow_up_email_id(&doc);
        assert_eq!(follow.as_str().parse::<EmailId>().unwrap(), follow);
        assert_eq!(
            send_job_id(&follow).as_str().parse::<JobId>().unwrap(),
            send_job_id(&follow)
        );
    }
}
