//! `document.ready`, `document.failed`, `document.revoked` and `certificate_batch.completed`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::from_ms;
use crate::documents::kinds::DocumentKind;
use crate::documents::model::{Document, DocumentStatus};

/// The data of `document.ready`, `document.failed` and `document.revoked`: the document as it
/// stood right after the change (without its content, which `GET /v1/documents/{id}/content`
/// serves).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct DocumentEventData {
    /// The document's id (`doc_…`).
    pub document_id: String,
    /// `certificate`, `receipt` or `investor_update`.
    pub kind: DocumentKind,
    /// The stored status after the change: `ready` or `failed` (a revoked certificate stays
    /// `ready`; `revoked_at` says it was revoked).
    pub status: DocumentStatus,
    /// The key/values the document was created with, returned as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub metadata: Option<serde_json::Value>,
    /// The certificate batch it belongs to (`cbat_…`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub batch_id: Option<String>,
    /// Receipts: the receipt number (`R-000042`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub receipt_number: Option<String>,
    /// Certificates: where anyone can check it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub verification_url: Option<String>,
    /// Ready documents: the number of pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub pages: Option<u32>,
    /// Ready documents: the PDF's size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub bytes: Option<i64>,
    /// Ready documents: the PDF's SHA-256, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub sha256: Option<String>,
    /// Failed documents: why it could not be rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub failure_reason: Option<String>,
    /// When the PDF was stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub rendered_at: Option<DateTime<Utc>>,
    /// When the certificate was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the document was requested.
    pub created_at: DateTime<Utc>,
}

impl From<&Document> for DocumentEventData {
    fn from(doc: &Document) -> Self {
        DocumentEventData {
            document_id: doc.id.to_string(),
            kind: doc.kind,
            status: doc.status,
            metadata: doc.metadata.clone(),
            batch_id: doc.batch_id.as_ref().map(ToString::to_string),
            receipt_number: doc.receipt_number.clone(),
            verification_url: doc.verification_url.clone(),
            pages: doc.pages,
            bytes: doc.bytes,
            sha256: doc.sha256.clone(),
            failure_reason: doc.failure_reason.clone(),
            rendered_at: doc.rendered_at.map(from_ms),
            revoked_at: doc.revoked_at.map(from_ms),
            created_at: from_ms(doc.created_at),
        }
    }
}

/// The data of `certificate_batch.completed`: every certificate of the batch is `ready` or
/// `failed`. Sent again if a failed certificate is later rendered after all (its job retried),
/// with the new counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct CertificateBatchEventData {
    /// The batch's id (`cbat_…`).
    pub batch_id: String,
    /// How many certificates the batch asked for (one per recipient).
    pub total: u32,
    /// How many are `ready`.
    pub rendered: u32,
    /// How many are `failed` (their documents say why).
    pub failed: u32,
    /// When the last certificate reached its final state.
    pub completed_at: DateTime<Utc>,
}
