//! The `email.*` events: one data shape for all of them, in django-anymail's normalized
//! tracking-event vocabulary (`AnymailTrackingEvent`), so a receiver that already maps an
//! ESP's webhooks through anymail maps Longshore's field for field.
//!
//! Per email or per recipient: anymail's events are per recipient because ESPs report per
//! recipient. Longshore sends each email as one SMTP transaction to all its recipients and
//! signs one tracking token per message, naming the email, not the recipient. So an event is
//! one per change of the email (one `email.sent` however many recipients), and `recipients`
//! lists every address it concerns; `recipient` is set whenever that is a single address
//! (always for a one-recipient email). The exception is `email.suppressed`: each address has
//! its own suppression and reason, so there is one event per suppressed address.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::words::word_enum;

word_enum!(
    /// anymail's `event_type` word for what happened.
    AnymailEventType {
        /// The SMTP server accepted the message (`email.sent`).
        Sent => "sent",
        /// A temporary failure; another attempt is scheduled (`email.deferred`).
        Deferred => "deferred",
        /// The server refused the message for good (`email.bounced`).
        Bounced => "bounced",
        /// Delivery was abandoned (`email.failed`).
        Failed => "failed",
        /// The open pixel was fetched (`email.opened`).
        Opened => "opened",
        /// A tracked link was followed (`email.clicked`).
        Clicked => "clicked",
        /// A recipient unsubscribed (`email.unsubscribed`).
        Unsubscribed => "unsubscribed",
        /// Not sent to a suppressed address (`email.suppressed`).
        Rejected => "rejected",
    }
);

word_enum!(
    /// anymail's `reject_reason` word: why a message did not (or will not) reach a recipient.
    RejectReason {
        /// The address bounced (now, or earlier and so it is suppressed).
        Bounced => "bounced",
        /// The recipient unsubscribed earlier.
        Unsubscribed => "unsubscribed",
        /// The stored address could not be used.
        Invalid => "invalid",
        /// Still deferred at the tenant's give-up time.
        TimedOut => "timed_out",
        /// The tenant suppressed the address by hand.
        Blocked => "blocked",
        /// Anything else (the message could not be built, an attachment is gone, …).
        Other => "other",
    }
);

/// The data of every `email.*` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct EmailEventData {
    /// What happened, in anymail's words (`sent`, `deferred`, `bounced`, `failed`, `opened`,
    /// `clicked`, `unsubscribed`, and `rejected` for `email.suppressed`).
    pub event_type: AnymailEventType,
    /// The email (`em_…`), as the API returned it when the email was created.
    pub email_id: String,
    /// The `Message-ID` header Longshore set (`<…@domain>`), the same on every attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub message_id: Option<String>,
    /// The address the event concerns when it is one: always for `email.suppressed`, and for
    /// every event of an email with a single recipient. Tracking links name the email, not the
    /// recipient, so an open of an email sent to several people has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub recipient: Option<String>,
    /// Every (normalised) address the event concerns: the envelope of a delivery outcome, the
    /// addresses an unsubscribe suppressed, all recipients of an opened or clicked email.
    pub recipients: Vec<String>,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// The email's tags, as the request that created it gave them.
    pub tags: Vec<String>,
    /// The email's metadata, as the request that created it gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub metadata: Option<serde_json::Value>,
    /// `email.clicked`: the original link that was followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub click_url: Option<String>,
    /// Opens, clicks and unsubscribes: the `User-Agent` of the request (up to 512 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub user_agent: Option<String>,
    /// The SMTP server's reply (or, for `email.deferred`, the connection error when no reply
    /// came); for `email.failed` after retries, the last reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub mta_response: Option<String>,
    /// `email.bounced`, `email.failed`, `email.suppressed`: why, in anymail's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub reject_reason: Option<RejectReason>,
    /// A human-readable account of a failure (`email.failed`: what went wrong).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub description: Option<String>,
    /// Opens and clicks: true when it looks automated (a privacy proxy's prefetch, a security
    /// scanner, a headless client, …) rather than a person; false otherwise.
    pub machine: bool,
    /// Why an open or click looks automated (`privacy proxy prefetch`, `security scanner`,
    /// `clicked at delivery`, …), when `machine` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub machine_reason: Option<String>,
    /// `email.sent` only: true when the previous attempt died after transmitting the message and
    /// it was recorded sent without a second conversation (the server may not have accepted it).
    pub unconfirmed: bool,
    /// Delivery outcomes: the SMTP attempt (1 for the first) the event is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub attempt: Option<u32>,
}
