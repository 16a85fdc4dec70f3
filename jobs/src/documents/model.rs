//! A document as stored: its kind, data, status (`queued` → `rendering` → `ready` | `failed`),
//! and once rendered its page count, size, SHA-256 and storage key.

use super::code::VerificationCode;
use super::follow_up::EmailFollowUp;
use super::kinds::DocumentKind;
use crate::ids::{BatchId, DocumentId, EmailId, JobId, TenantId};
use crate::words::word_enum;

word_enum!(
    /// Where a document stands.
    DocumentStatus {
        /// Recorded; its render job is waiting for a worker.
        Queued => "queued",
        /// A worker is rendering it.
        Rendering => "rendering",
        /// Rendered and stored; the content can be downloaded.
        Ready => "ready",
        /// Could not be rendered; `failure_reason` says why.
        Failed => "failed",
    }
);

/// A document record. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: DocumentId,
    pub tenant: TenantId,
    pub kind: DocumentKind,
    pub status: DocumentStatus,
    /// The validated data, issuer resolved, as JSON.
    pub data: serde_json::Value,
    /// The client's own key/values, returned as given.
    pub metadata: Option<serde_json::Value>,
    /// The render job (derived from the document id).
    pub job_id: JobId,
    pub batch_id: Option<BatchId>,
    pub issuer: String,
    pub verification_code: Option<VerificationCode>,
    pub verification_url: Option<String>,
    pub receipt_number: Option<String>,
    pub pages: Option<u32>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub storage_key: Option<String>,
    pub failure_reason: Option<String>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub rendered_at: Option<i64>,
    /// The email to send once ready (receipts of payments, certificates of batches).
    pub follow_up: Option<EmailFollowUp>,
    /// The follow-up email, once created.
    pub email_id: Option<EmailId>,
    /// Why the follow-up email could not be created.
    pub email_error: Option<String>,
}

/// The id of the job that renders `document`: derived, so enqueueing it again is a no-op.
pub fn render_job_id(document: &DocumentId) -> JobId {
    let suffix = document.as_str().trim_start_matches("doc_");
    JobId::from_trusted(format!("job_render-{suffix}"))
}

/// The id of the `n`th document of a batch: derived, so expanding a batch twice is a no-op.
pub fn batch_document_id(batch: &BatchId, n: usize) -> DocumentId {
    let suffix = batch.as_str().trim_start_matches("cbat_");
    DocumentId::from_trusted(format!("doc_{suffix}-{n:05}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_parse_as_ids() {
        let doc = DocumentId::new();
        let job = render_job_id(&doc);
        assert_eq!(job.as_str().parse::<JobId>().unwrap(), job);
        let batch = BatchId::new();
        let member = batch_document_id(&batch, 42);
        assert!(member.as_str().ends_with("-00042"));
        assert_eq!(member.as_str().parse::<DocumentId>().unwrap(), member);
        assert_eq!(
            render_job_id(&member).as_str().parse::<JobId>().unwrap(),
            render_job_id(&member)
        );
    }
}
