//! The JSON shapes of the documents API: request bodies (the `data` schema is one of the three
//! kinds' schemas, documented in OpenAPI) and the document as returned.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::documents::batches::BatchEmail;
use longshore_jobs::documents::certificate::CertificateData;
use longshore_jobs::documents::from_payment::ReceiptFromPayment;
use longshore_jobs::documents::investor::InvestorUpdateData;
use longshore_jobs::documents::kinds::DocumentKind;
use longshore_jobs::documents::model::{Document, DocumentStatus};
use longshore_jobs::documents::receipt::ReceiptData;
use poem_openapi::Object;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde::{Deserialize, Serialize};

/// A document's `data`: its schema depends on `kind`. Checked by the server against the kind's
/// schema, so errors name the field (`data.recipient_name`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentDataBody(pub serde_json::Value);

impl Type for DocumentDataBody {
    const IS_REQUIRED: bool = true;
    type RawValueType = serde_json::Value;
    type RawElementValueType = serde_json::Value;

    fn name() -> Cow<'static, str> {
        "DocumentData".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(
                "`CertificateData` for `certificate`, `ReceiptData` or `ReceiptFromPayment` for `receipt`, `InvestorUpdateData` for `investor_update`.",
            ),
            one_of: vec![
                CertificateData::schema_ref(),
                ReceiptData::schema_ref(),
                ReceiptFromPayment::schema_ref(),
                InvestorUpdateData::schema_ref(),
            ],
            ..MetaSchema::ANY
        }))
    }

    fn register(registry: &mut Registry) {
        CertificateData::register(registry);
        ReceiptData::register(registry);
        ReceiptFromPayment::register(registry);
        InvestorUpdateData::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for DocumentDataBody {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        Ok(DocumentDataBody(value.unwrap_or_default()))
    }
}

impl ToJSON for DocumentDataBody {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(self.0.clone())
    }
}

/// A document to render.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDocument {
    /// What to render: `certificate`, `receipt` or `investor_update`.
    pub kind: DocumentKind,
    /// The kind's data (see `CertificateData`, `ReceiptData`, `InvestorUpdateData`). A receipt of
    /// a Longshore payment is just `{"payment_id": "pay_…"}` (`ReceiptFromPayment`).
    pub data: DocumentDataBody,
    /// Your own key/values (a JSON object up to 4 KB), returned as given.
    #[serde(default)]
    #[oai(skip_serializing_if_is_none)]
    pub metadata: Option<serde_json::Value>,
    /// Certificates only: once rendered, email the PDF to `data.recipient_email`. `{}` sends the
    /// default message; or give a stored `template`, or `subject` + `html` (rendered with the
    /// certificate's variables: `recipient_name`, `course_title`, `verification_url`, …).
    #[serde(default)]
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<BatchEmail>,
}

/// A document and where it stands.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct DocumentView {
    /// `doc_…`
    pub id: String,
    pub kind: DocumentKind,
    /// `queued` → `rendering` → `ready` | `failed`.
    pub status: DocumentStatus,
    /// The render job (`GET /v1/jobs/{job_id}` shows its attempts).
    pub job_id: String,
    /// The certificate batch this document belongs to.
    #[oai(skip_serializing_if_is_none)]
    pub batch_id: Option<String>,
    /// Pages, once ready.
    #[oai(skip_serializing_if_is_none)]
    pub pages: Option<u32>,
    /// Size of the PDF in bytes, once ready.
    #[oai(skip_serializing_if_is_none)]
    pub bytes: Option<i64>,
    /// Hex SHA-256 of the PDF, once ready (also the content's `ETag`).
    #[oai(skip_serializing_if_is_none)]
    pub sha256: Option<String>,
    /// Certificates: the code printed on it, verifiable at `/v/{code}`.
    #[oai(skip_serializing_if_is_none)]
    pub verification_code: Option<String>,
    /// Certificates: the public verification page (the QR code's target).
    #[oai(skip_serializing_if_is_none)]
    pub verification_url: Option<String>,
    /// Receipts: the per-tenant receipt number.
    #[oai(skip_serializing_if_is_none)]
    pub receipt_number: Option<String>,
    /// Why rendering failed.
    #[oai(skip_serializing_if_is_none)]
    pub failure_reason: Option<String>,
    /// Certificates: true once revoked (its code no longer verifies).
    pub revoked: bool,
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Where to download the PDF, once ready.
    #[oai(skip_serializing_if_is_none)]
    pub content_url: Option<String>,
    /// The data as validated (defaults such as the issuer filled in).
    pub data: serde_json::Value,
    #[oai(skip_serializing_if_is_none)]
    pub metadata: Option<serde_json::Value>,
    /// The email this document is sent with once ready (a payment's receipt, a batch's
    /// certificate), once created.
    #[oai(skip_serializing_if_is_none)]
    pub email_id: Option<String>,
    /// Why that email could not be created (e.g. no sender default).
    #[oai(skip_serializing_if_is_none)]
    pub email_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub rendered_at: Option<DateTime<Utc>>,
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        let ready = d.status == DocumentStatus::Ready;
        DocumentView {
            content_url: ready.then(|| format!("/v1/documents/{}/content", d.id)),
            id: d.id.to_string(),
            kind: d.kind,
            status: d.status,
            job_id: d.job_id.to_string(),
            batch_id: d.batch_id.map(|b| b.to_string()),
            pages: d.pages,
            bytes: d.bytes,
            sha256: d.sha256,
            verification_code: d.verification_code.map(|c| c.grouped()),
            verification_url: d.verification_url,
            receipt_number: d.receipt_number,
            failure_reason: d.failure_reason,
            revoked: d.revoked_at.is_some(),
            revoked_at: d.revoked_at.map(from_ms),
            data: d.data,
            metadata: d.metadata,
            email_id: d.email_id.map(|e| e.to_string()),
            email_error: d.email_error,
            created_at: from_ms(d.created_at),
            updated_at: from_ms(d.updated_at),
            rendered_at: d.rendered_at.map(from_ms),
        }
    }
}

/// A page of documents, newest first.
#[derive(Debug, Object)]
pub struct DocumentList {
    pub data: Vec<DocumentView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// The `Content-Disposition` of a document's download: an ASCII file name, and for
/// certificates the recipient's name in UTF-8 (RFC 6266 `filename*`).
pub fn content_disposition(d: &Document) -> String {
    let ascii = match (&d.kind, &d.receipt_number) {
        (DocumentKind::Receipt, Some(n)) => format!("receipt-{n}.pdf"),
        (DocumentKind::Receipt, None) => format!("receipt-{}.pdf", d.id),
        (DocumentKind::Certificate, _) => format!("certificate-{}.pdf", d.id),
        (DocumentKind::InvestorUpdate, _) => format!("investor-update-{}.pdf", d.id),
    };
    let name = d.data.get("recipient_name").and_then(|v| v.as_str());
    match (d.kind, name) {
        (DocumentKind::Certificate, Some(name)) => {
            let encoded: String = format!("certificate-{name}.pdf")
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
        }
        _ => format!("inline; filename=\"{ascii}\""),
    }
}
