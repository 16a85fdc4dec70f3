//! The `email.*` events back to the tenant's app ([`crate::events`]), built from a delivery
//! outcome or a tracking event. The write that makes the change records them in its own
//! transaction ([`super::claim::finish`], [`super::claim_batch::sent_many`],
//! [`super::event_store::insert_on`]), and only when the change happened.
//!
//! Each event's id comes from a key naming the change ([`NewEvent::of_change`]), and the events
//! of an outcome are built once, before the write and its retries, so writing the same change
//! again records nothing new:
//! - a delivery outcome: `{email}:{status}:{attempt}` (the attempt tells a second deferral
//!   from the first);
//! - a suppressed address at the final outcome: `{email}:suppressed:{address}`;
//! - an open, click or unsubscribe: `{email}:{sighting}`, the random id the tracking request
//!   got when it was seen ([`Tracked::sighting`]).

use super::event_store::Tracked;
use super::model::{Email, EmailStatus, EventKind};
use super::repo::recipient_keys;
use super::suppressions;
use crate::clock::from_ms;
use crate::db::Db;
use crate::events::data::email::{AnymailEventType, EmailEventData, RejectReason};
use crate::events::{EventType, NewEvent};

/// What an outcome's events say beyond its status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    /// The SMTP server's reply (or the connection error of a deferral).
    pub mta_response: Option<String>,
    /// Why it did not go out (bounced and failed outcomes).
    pub reject_reason: Option<RejectReason>,
    /// What went wrong, for a failure.
    pub description: Option<String>,
    /// Recorded `sent` without a conversation after an attempt died mid-transmission.
    pub unconfirmed: bool,
}

impl Detail {
    /// An outcome the SMTP server answered with `reply`.
    pub fn reply(reply: impl Into<String>) -> Detail {
        Detail {
            mta_response: Some(reply.into()),
            ..Detail::default()
        }
    }
}

/// The event type and anymail word of a delivery outcome; `None` for statuses that are not
/// told (`queued`, `sending`, `cancelled`) and for `suppressed`, which is told per address.
fn outcome_kind(status: EmailStatus) -> Option<(EventType, AnymailEventType)> {
    Some(match status {
        EmailStatus::Sent => (EventType::EmailSent, AnymailEventType::Sent),
        EmailStatus::Deferred => (EventType::EmailDeferred, AnymailEventType::Deferred),
        EmailStatus::Bounced => (EventType::EmailBounced, AnymailEventType::Bounced),
        EmailStatus::Failed => (EventType::EmailFailed, AnymailEventType::Failed),
        EmailStatus::Queued
        | EmailStatus::Sending
        | EmailStatus::Suppressed
        | EmailStatus::Cancelled => return None,
    })
}

/// anymail's reject reason for a suppression recorded for `reason`.
pub fn suppression_reason(reason: &str) -> RejectReason {
    match reason {
        suppressions::BOUNCED => RejectReason::Bounced,
        suppressions::UNSUBSCRIBED => RejectReason::Unsubscribed,
        suppressions::MANUAL => RejectReason::Blocked,
        _ => RejectReason::Other,
    }
}

/// Each suppressed address with its suppression's reason, for the `email.suppressed` events.
/// A lookup that fails says `other` rather than hold up recording the outcome.
pub async fn suppression_reasons(
    db: &Db,
    email: &Email,
    suppressed: &[String],
) -> Vec<(String, RejectReason)> {
    if suppressed.is_empty() {
        return Vec::new();
    }
    let found = suppressions::reasons(db, &email.tenant, suppressed)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(email = %email.id, error = %e, "could not read the suppression reasons; saying `other`");
            Vec::new()
        });
    suppressed
        .iter()
        .map(|address| {
            let reason = found
                .iter()
                .find(|(a, _)| a == address)
                .map_or(RejectReason::Other, |(_, r)| suppression_reason(r));
            (address.clone(), reason)
        })
        .collect()
}

/// The email's fields every event of it carries.
fn about(email: &Email, kind: AnymailEventType, at: i64) -> EmailEventData {
    EmailEventData {
        event_type: kind,
        email_id: email.id.as_str().to_owned(),
        message_id: Some(email.message_id.clone()),
        recipient: None,
        recipients: Vec::new(),
        timestamp: from_ms(at),
        tags: email.tags.clone(),
        metadata: email.metadata.clone(),
        click_url: None,
        user_agent: None,
        mta_response: None,
        reject_reason: None,
        description: None,
        machine: false,
        machine_reason: None,
        unconfirmed: false,
        attempt: None,
    }
}

/// Sets `recipients`, and `recipient` when there is exactly one.
fn with_recipients(mut data: EmailEventData, recipients: Vec<String>) -> EmailEventData {
    data.recipient = match recipients.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    data.recipients = recipients;
    data
}

/// The events of an attempt's outcome at `at`: its own (`email.sent`, `.deferred`, `.bounced`,
/// `.failed`) and, once the email is final, one `email.suppressed` per address left out
/// (`suppressed`: each with its suppression's reason).
pub fn outcome(
    email: &Email,
    status: EmailStatus,
    at: i64,
    detail: &Detail,
    suppressed: &[(String, RejectReason)],
) -> Vec<NewEvent> {
    let mut events = Vec::with_capacity(1 + suppressed.len());
    if let Some((kind, word)) = outcome_kind(status) {
        let envelope: Vec<String> = recipient_keys(email)
            .into_iter()
            .filter(|k| !suppressed.iter().any(|(s, _)| s == k))
            .collect();
        let mut data = with_recipients(about(email, word, at), envelope);
        data.mta_response = detail.mta_response.clone();
        data.reject_reason = detail.reject_reason;
        data.description = detail.description.clone();
        data.unconfirmed = detail.unconfirmed;
        data.attempt = Some(email.attempts);
        let key = format!("{}:{}:{}", email.id, status, email.attempts);
        events.push(NewEvent::of_change(
            &email.tenant,
            kind,
            email.id.as_str(),
            at,
            &key,
            &data,
        ));
    }
    if status.is_final() {
        for (address, reason) in suppressed {
            let mut data = with_recipients(
                about(email, AnymailEventType::Rejected, at),
                vec![address.clone()],
            );
            data.reject_reason = Some(*reason);
            let key = format!("{}:suppressed:{address}", email.id);
            events.push(NewEvent::of_change(
                &email.tenant,
                EventType::EmailSuppressed,
                email.id.as_str(),
                at,
                &key,
                &data,
            ));
        }
    }
    events
}

/// What a tracking event's app event says about its email, read from the email's row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmailFacts {
    pub message_id: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Option<serde_json::Value>,
    /// Every recipient's normalised address.
    pub recipients: Vec<String>,
}

/// The app event of an open, click or unsubscribe; `None` for kinds the tracking path does not
/// write. `facts` is `None` when the email's row is gone: the event still says what is known.
pub fn tracked(t: &Tracked, facts: Option<&EmailFacts>) -> Option<NewEvent> {
    let (kind, word) = match t.kind {
        EventKind::Opened => (EventType::EmailOpened, AnymailEventType::Opened),
        EventKind::Clicked => (EventType::EmailClicked, AnymailEventType::Clicked),
        EventKind::Unsubscribed => (EventType::EmailUnsubscribed, AnymailEventType::Unsubscribed),
        _ => return None,
    };
    let facts = facts.cloned().unwrap_or_default();
    // An unsubscribe concerns the addresses it suppressed, which its history row lists.
    let recipients = match t.kind {
        EventKind::Unsubscribed => t
            .data
            .as_ref()
            .and_then(|d| d.get("addresses"))
            .and_then(|a| serde_json::from_value::<Vec<String>>(a.clone()).ok())
            .unwrap_or(facts.recipients),
        _ => facts.recipients,
    };
    let data = EmailEventData {
        event_type: word,
        email_id: t.email.as_str().to_owned(),
        message_id: facts.message_id,
        recipient: None,
        recipients: Vec::new(),
        timestamp: from_ms(t.at),
        tags: facts.tags,
        metadata: facts.metadata,
        click_url: (t.kind == EventKind::Clicked)
            .then(|| t.link.clone())
            .flatten(),
        user_agent: t.user_agent.clone(),
        mta_response: None,
        reject_reason: None,
        description: None,
        machine: t.machine.is_some(),
        machine_reason: t.machine.clone(),
        unconfirmed: false,
        attempt: None,
    };
    let data = with_recipients(data, recipients);
    let key = format!("{}:{}", t.email, t.sighting);
    Some(NewEvent::of_change(
        &t.tenant,
        kind,
        t.email.as_str(),
        t.at,
        &key,
        &data,
    ))
}
