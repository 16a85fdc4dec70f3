//! "When this document is ready, send this email with it attached": a follow-up stored with the
//! document and carried out by its render job right after the PDF is stored.
//!
//! The email's id is derived from the document's ([`follow_up_email_id`]) and created through
//! [`email::service::create_internal`], which is idempotent on it: a render job that runs again
//! (a retry, a re-enqueue, a replayed chain) finds the email it created and creates nothing new.
//! Receipts of payments and certificates of batches use it.
//!
//! Failure policy: an email that cannot be built (no sender default, a template that was deleted,
//! a variable it needs is missing) is not a render failure. The document stays `ready`, the reason
//! is recorded in its `email_error`, and the job succeeds; running the chain again after the
//! tenant fixed the cause (for a receipt: retrying its job) creates the email and clears the
//! reason. Database or queue failures are retried with the render job.

use serde::{Deserialize, Serialize};

use super::batches::BatchEmail;
use super::certificate::{CertificateData, format_credits};
use super::kinds::DocumentData;
use super::model::Document;
use super::receipt::ReceiptData;
use super::repo;
use crate::email::inline::AttachmentInput;
use crate::email::model::follow_up_email_id;
use crate::email::service::{Creator, EmailError, InternalEmail, NewEmail};
use crate::email::templates::{self, Template};
use crate::error::JobError;
use crate::validation::Invalid;

/// The email to send once the document is ready: a stored template, or a subject with an HTML
/// and/or text body. Subject and bodies are templates too (`{{ recipient_name }}`), rendered with
/// the document's variables (see [`document_variables`]) and `variables`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailFollowUp {
    /// Recipients, as `POST /v1/emails` takes them.
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Extra variables (a JSON object), on top of the document's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The default email of a receipt: to the customer, naming the amount and the receipt number.
pub fn receipt_email(to: String) -> EmailFollowUp {
    EmailFollowUp {
        to: vec![to],
        template: None,
        subject: Some("Your receipt {{ receipt_number }} from {{ issuer }}".into()),
        html: Some(
            "<p>Hello {{ customer_name }},</p>\
             <p>Thank you for your payment of {{ amount }} (reference {{ reference }}).</p>\
             <p>Your receipt {{ receipt_number }} is attached.</p>\
             <p>{{ issuer }}</p>"
                .into(),
        ),
        text: None,
        variables: None,
        tags: vec!["receipt".into()],
    }
}

/// The default email of a certificate: to its recipient, with the verification link.
pub fn certificate_email(to: String) -> EmailFollowUp {
    EmailFollowUp {
        to: vec![to],
        template: None,
        subject: Some("Your certificate: {{ course_title }}".into()),
        html: Some(
            "<p>Hello {{ recipient_name }},</p>\
             <p>Your certificate for {{ course_title }}, issued by {{ issuer }} on {{ issued_on }}, \
             is attached.</p>\
             <p>Anyone can check it at <a href=\"{{ verification_url|safe }}\">{{ verification_url|safe }}</a>.</p>"
                .into(),
        ),
        text: None,
        variables: None,
        tags: vec!["certificate".into()],
    }
}

/// A certificate's email: the chosen template or subject and HTML, or the default message when
/// none is chosen (no spec, or an empty one).
pub fn certificate_follow_up(spec: Option<&BatchEmail>, to: String) -> EmailFollowUp {
    match spec {
        Some(spec) if spec.template.is_some() || spec.subject.is_some() => EmailFollowUp {
            to: vec![to],
            template: spec.template.clone(),
            subject: spec.subject.clone(),
            html: spec.html.clone(),
            text: None,
            variables: None,
            tags: vec!["certificate".into()],
        },
        _ => certificate_email(to),
    }
}

/// What a follow-up's subject and body may use, by document kind.
///
/// Certificates: `recipient_name`, `course_title`, `issued_on`, `credits`, `issuer`,
/// `verification_url`, `document_id`. Receipts: `customer_name`, `amount` (formatted with its
/// currency), `reference`, `paid_at`, `receipt_number`, `issuer`, `payment_id`, `document_id`.
pub fn document_variables(doc: &Document, data: &DocumentData) -> serde_json::Value {
    let mut vars = match data {
        DocumentData::Certificate(c) => certificate_variables(c),
        DocumentData::Receipt(r) => receipt_variables(r),
        DocumentData::InvestorUpdate(d) => serde_json::json!({
            "company": d.company, "period": d.period,
        }),
    };
    if let Some(map) = vars.as_object_mut() {
        map.insert("document_id".into(), doc.id.to_string().into());
        map.insert("issuer".into(), doc.issuer.clone().into());
        if let Some(url) = &doc.verification_url {
            map.insert("verification_url".into(), url.clone().into());
        }
        if let Some(n) = &doc.receipt_number {
            map.insert("receipt_number".into(), n.clone().into());
        }
    }
    vars
}

fn certificate_variables(c: &CertificateData) -> serde_json::Value {
    serde_json::json!({
        "recipient_name": c.recipient_name,
        "course_title": c.course_title,
        "issued_on": c.issued_on.to_string(),
        "credits": c.credits.map(format_credits),
    })
}

fn receipt_variables(r: &ReceiptData) -> serde_json::Value {
    let amount = match (r.amount, r.currency()) {
        (Some(a), Some(c)) => c.format(a),
        _ => String::new(),
    };
    serde_json::json!({
        "customer_name": r.customer_name,
        "amount": amount,
        "reference": r.reference,
        "paid_at": r.paid_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        "payment_id": r.payment_id,
    })
}

impl EmailFollowUp {
    /// The email request for `doc`: the document attached, subject and bodies rendered.
    fn request(&self, doc: &Document) -> Result<NewEmail, Invalid> {
        let data = DocumentData::from_stored(doc.kind, &doc.data.to_string())
            .map_err(|e| Invalid::one("data", format!("stored data does not decode: {e}")))?;
        let mut vars = document_variables(doc, &data);
        if let (Some(map), Some(extra)) = (
            vars.as_object_mut(),
            self.variables.as_ref().and_then(|v| v.as_object()),
        ) {
            map.extend(extra.clone());
        }
        let mut req = NewEmail {
            to: self.to.clone(),
            attachments: vec![AttachmentInput::document(doc.id.to_string())],
            tags: self.tags.clone(),
            metadata: Some(serde_json::json!({ "document_id": doc.id })),
            ..NewEmail::default()
        };
        match &self.template {
            Some(name) => {
                req.template = Some(name.clone());
                req.variables = Some(vars);
            }
            None => {
                let inline = Template {
                    name: format!("{}-email", doc.kind),
                    subject: self.subject.clone().unwrap_or_default(),
                    html: self.html.clone(),
                    text: self.text.clone(),
                    created_at: 0,
                    updated_at: 0,
                };
                let rendered = templates::render(&inline, &vars)?;
                req.subject = Some(rendered.subject);
                req.html = rendered.html;
                req.text = rendered.text;
            }
        }
        Ok(req)
    }
}

/// Carries out a ready document's follow-up, if it has one (see the module doc).
pub async fn run(
    emails: &Creator<'_>,
    doc: &Document,
    request_id: Option<String>,
) -> Result<(), JobError> {
    let Some(spec) = &doc.follow_up else {
        return Ok(());
    };
    if doc.email_id.is_some() {
        return Ok(());
    }
    let db = emails.db;
    let request = match spec.request(doc) {
        Ok(r) => r,
        Err(why) => return record_error(emails, doc, &why.to_string()).await,
    };
    let email = InternalEmail {
        id: follow_up_email_id(&doc.id),
        request,
        files: Vec::new(),
    };
    match emails.create_internal(&doc.tenant, email, request_id).await {
        Ok(email) => {
            repo::set_email(db, &doc.id, &email.id)
                .await
                .map_err(JobError::retryable)?;
            tracing::info!(document = %doc.id, email = %email.id, "follow-up email created");
            Ok(())
        }
        Err(EmailError::Invalid(why)) => record_error(emails, doc, &why.to_string()).await,
        Err(EmailError::NotFound(why) | EmailError::Conflict(why)) => {
            record_error(emails, doc, &why).await
        }
        Err(e @ (EmailError::Db(_) | EmailError::Queue(_) | EmailError::Storage(_))) => {
            Err(JobError::retryable(e))
        }
    }
}

async fn record_error(emails: &Creator<'_>, doc: &Document, why: &str) -> Result<(), JobError> {
    let reason = format!("email not sent: {why}");
    tracing::warn!(document = %doc.id, reason = %reason, "follow-up email not created");
    repo::set_email_error(emails.db, &doc.id, &reason)
        .await
        .map_err(JobError::retryable)
}
