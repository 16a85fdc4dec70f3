//! The JSON shapes of the email API: the email to send, the email as returned (status,
//! attempts, last SMTP reply, engagement counters, events), and list pages.

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::email::attachments::AttachmentRef as StoredAttachment;
use longshore_jobs::email::inline::AttachmentInput;
use longshore_jobs::email::model::{Counters, Email, EmailStatus, Engagement, Event, EventKind};
use longshore_jobs::email::service::NewEmail;
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

/// One attachment, in one of two shapes: `{"document_id": "doc_…"}` attaches a ready PDF
/// document of yours; `{"filename", "content_type"?, "content"}` attaches a file given inline
/// (base64). Giving fields of both shapes, or neither, is a 422 naming the field.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailAttachment {
    /// A ready document of the same tenant (`doc_…`), attached as its PDF. Alone: no other
    /// field goes with it.
    #[oai(skip_serializing_if_is_none)]
    pub document_id: Option<String>,
    /// Inline file: the name the recipient sees, e.g. `invoice.pdf`; required with `content`.
    /// 1 to 255 bytes, no `/` or `\`, no control characters.
    #[oai(skip_serializing_if_is_none)]
    pub filename: Option<String>,
    /// Inline file: its MIME type, e.g. `application/pdf` or `text/plain; charset=utf-8`
    /// (not `multipart/*`); `application/octet-stream` when omitted.
    #[oai(skip_serializing_if_is_none)]
    pub content_type: Option<String>,
    /// Inline file: its bytes in base64 (standard alphabet; padding optional, line breaks
    /// ignored). Inline files of one email hold at most 10 MiB decoded in all, and the request
    /// must fit the body limit (2 MiB unless the server is configured otherwise).
    #[oai(skip_serializing_if_is_none)]
    pub content: Option<String>,
}

impl From<EmailAttachment> for AttachmentInput {
    fn from(a: EmailAttachment) -> Self {
        AttachmentInput {
            document_id: a.document_id,
            filename: a.filename,
            content_type: a.content_type,
            content: a.content,
        }
    }
}

/// An attachment as shown: a document by id, or a file (given inline, or a report's CSV and
/// PDF) by name and type; never the bytes.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct AttachmentView {
    /// The attached document (`doc_…`).
    #[oai(skip_serializing_if_is_none)]
    pub document_id: Option<String>,
    /// For files that are not documents: the name the recipient sees.
    #[oai(skip_serializing_if_is_none)]
    pub filename: Option<String>,
    /// For files that are not documents: the MIME type they are sent with.
    #[oai(skip_serializing_if_is_none)]
    pub content_type: Option<String>,
}

impl From<StoredAttachment> for AttachmentView {
    fn from(a: StoredAttachment) -> Self {
        match a {
            StoredAttachment::Document(id) => AttachmentView {
                document_id: Some(id),
                filename: None,
                content_type: None,
            },
            StoredAttachment::File(f) => AttachmentView {
                document_id: None,
                filename: Some(f.filename),
                content_type: Some(f.content_type),
            },
        }
    }
}

/// An email to send: either `template` (+ `variables`) or `subject` with `html` and/or `text`.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEmail {
    /// Recipients: `ada@example.com` or `Ada Lovelace <ada@example.com>`; 1 to 50 with cc and bcc.
    #[serde(default)]
    pub to: Vec<String>,
    #[oai(skip_serializing_if_is_none)]
    pub cc: Option<Vec<String>>,
    #[oai(skip_serializing_if_is_none)]
    pub bcc: Option<Vec<String>>,
    /// The sender; the tenant's default (`PUT /v1/email-settings`) when omitted.
    #[oai(skip_serializing_if_is_none)]
    pub from: Option<String>,
    /// Where replies go; the tenant's default when omitted.
    #[oai(skip_serializing_if_is_none)]
    pub reply_to: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub subject: Option<String>,
    /// The HTML body; its http(s) links are tracked unless `track_clicks` is false.
    #[oai(skip_serializing_if_is_none)]
    pub html: Option<String>,
    /// The text body; derived from `html` when omitted.
    #[oai(skip_serializing_if_is_none)]
    pub text: Option<String>,
    /// A template name (`/v1/templates`); a variable it uses but `variables` lacks is a 422.
    #[oai(skip_serializing_if_is_none)]
    pub template: Option<String>,
    /// The template's variables, a JSON object.
    #[oai(skip_serializing_if_is_none)]
    pub variables: Option<serde_json::Value>,
    /// At most 10: ready documents by id and files given inline (base64).
    #[oai(skip_serializing_if_is_none)]
    pub attachments: Option<Vec<EmailAttachment>>,
    /// Add an open-tracking pixel (default true).
    #[oai(skip_serializing_if_is_none)]
    pub track_opens: Option<bool>,
    /// Route links through the click tracker (default true).
    #[oai(skip_serializing_if_is_none)]
    pub track_clicks: Option<bool>,
    /// Labels to filter by, at most 10.
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<Vec<String>>,
    /// Your own key/values (a JSON object, at most 4 KB), returned as given.
    #[oai(skip_serializing_if_is_none)]
    pub metadata: Option<serde_json::Value>,
    /// Send no earlier than this time (RFC 3339); now when omitted.
    #[oai(skip_serializing_if_is_none)]
    pub send_at: Option<DateTime<Utc>>,
}

impl From<CreateEmail> for NewEmail {
    fn from(c: CreateEmail) -> Self {
        NewEmail {
            to: c.to,
            cc: c.cc.unwrap_or_default(),
            bcc: c.bcc.unwrap_or_default(),
            from: c.from,
            reply_to: c.reply_to,
            subject: c.subject,
            html: c.html,
            text: c.text,
            template: c.template,
            variables: c.variables,
            attachments: c
                .attachments
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            track_opens: c.track_opens,
            track_clicks: c.track_clicks,
            tags: c.tags.unwrap_or_default(),
            metadata: c.metadata,
            send_at: c.send_at,
        }
    }
}

/// Opens and clicks: people's at the top level, likely machines' (privacy proxies, scanners,
/// headless clients) under `machine`.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct CountersView {
    pub opens: u64,
    pub unique_opens: u64,
    pub clicks: u64,
    pub unique_clicks: u64,
    /// The same counts for events that look automated.
    pub machine: Engagement,
}

impl From<Counters> for CountersView {
    fn from(c: Counters) -> Self {
        CountersView {
            opens: c.human.opens,
            unique_opens: c.human.unique_opens,
            clicks: c.human.clicks,
            unique_clicks: c.human.unique_clicks,
            machine: c.machine,
        }
    }
}

/// Something that happened to an email.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct EventView {
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// Opens and clicks: whether it looks automated.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<bool>,
    /// Why it looks automated.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_reason: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Clicks: the link followed.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Details: the SMTP reply, the next retry, the suppressed addresses.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        let engagement = matches!(e.kind, EventKind::Opened | EventKind::Clicked);
        EventView {
            kind: e.kind,
            at: from_ms(e.at),
            machine: engagement.then_some(e.machine.is_some()),
            machine_reason: e.machine,
            user_agent: e.user_agent,
            ip: e.ip,
            link: e.link,
            data: e.data,
        }
    }
}

/// An email and what became of it.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct EmailView {
    /// `em_…`
    pub id: String,
    pub status: EmailStatus,
    /// The send job (`GET /v1/jobs/{id}`).
    pub job_id: String,
    pub from: String,
    #[oai(skip_serializing_if_is_none)]
    pub reply_to: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    #[oai(skip_serializing_if_is_none)]
    pub template: Option<String>,
    pub attachments: Vec<AttachmentView>,
    pub track_opens: bool,
    pub track_clicks: bool,
    pub tags: Vec<String>,
    #[oai(skip_serializing_if_is_none)]
    pub metadata: Option<serde_json::Value>,
    /// Stable across attempts.
    pub message_id: String,
    #[oai(skip_serializing_if_is_none)]
    pub send_at: Option<DateTime<Utc>>,
    /// SMTP conversations started.
    pub attempts: u32,
    /// The server's reply (or the error) of the latest attempt.
    #[oai(skip_serializing_if_is_none)]
    pub last_smtp_reply: Option<String>,
    /// Recipients left out because they are suppressed.
    pub suppressed_recipients: Vec<String>,
    pub counters: CountersView,
    /// The history, oldest first (on `GET /v1/emails/{id}`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
    /// The HTML as stored (on `GET /v1/emails/{id}`; the sent copy has tracked links).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The text part as sent (on `GET /v1/emails/{id}`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub sent_at: Option<DateTime<Utc>>,
}

impl EmailView {
    /// The summary shape (lists, create): no events or bodies.
    pub fn summary(e: Email, counters: Counters) -> Self {
        EmailView {
            id: e.id.to_string(),
            status: e.status,
            job_id: e.job_id.to_string(),
            from: e.from,
            reply_to: e.reply_to,
            to: e.to,
            cc: e.cc,
            bcc: e.bcc,
            subject: e.subject,
            template: e.template,
            attachments: e.attachments.into_iter().map(Into::into).collect(),
            track_opens: e.track_opens,
            track_clicks: e.track_clicks,
            tags: e.tags,
            metadata: e.metadata,
            message_id: e.message_id,
            send_at: e.send_at.map(from_ms),
            attempts: e.attempts,
            last_smtp_reply: e.last_reply,
            suppressed_recipients: e.suppressed,
            counters: counters.into(),
            events: None,
            html: None,
            text: None,
            created_at: from_ms(e.created_at),
            updated_at: from_ms(e.updated_at),
            sent_at: e.sent_at.map(from_ms),
        }
    }

    /// The full shape: with events and bodies.
    pub fn full(e: Email, counters: Counters, events: Vec<Event>) -> Self {
        let (html, text) = (e.html.clone(), e.text.clone());
        EmailView {
            events: Some(events.into_iter().map(EventView::from).collect()),
            html,
            text: Some(text),
            ..EmailView::summary(e, counters)
        }
    }
}

/// A page of emails, newest first.
#[derive(Debug, Object)]
pub struct EmailList {
    pub data: Vec<EmailView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}
