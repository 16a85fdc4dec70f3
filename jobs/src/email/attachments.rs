//! What an email attaches, and loading the bytes at send time.
//!
//! Two kinds of attachment: a ready PDF document of the same tenant (attached by id), and a
//! stored file that is not a document (a report's CSV and PDF, or a file a client gave inline to
//! `POST /v1/emails`, stored by [`super::inline`]). Bytes are never stored with the email: they
//! are read from storage when the message is built, so a retried send reads them again.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::message::Attachment;
use super::model::Email;
use crate::db::DbError;
use crate::ids::{DocumentId, TenantId};
use crate::storage::{FileKey, FileStore, StorageError};

/// Whether a document can be attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not (yet) rendered: the document's status word, for the client's error.
    NotReady(String),
}

/// The documents an email may attach. `documents` implements it, so email never imports the
/// documents module (documents send email; email only reads their files through this).
#[async_trait]
pub trait Documents: Send + Sync {
    /// Whether the tenant's document `id` can be attached; `None` when there is no such
    /// document of this tenant.
    async fn readiness(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
    ) -> Result<Option<Readiness>, DbError>;

    /// A ready document's PDF, named for the recipient, its bytes checked.
    async fn pdf(&self, tenant: &TenantId, id: &DocumentId) -> Result<Attachment, LoadError>;
}

/// For emails that attach no documents (a report's emails attach stored files): every id is
/// "no such document".
pub struct NoDocuments;

#[async_trait]
impl Documents for NoDocuments {
    async fn readiness(&self, _: &TenantId, _: &DocumentId) -> Result<Option<Readiness>, DbError> {
        Ok(None)
    }

    async fn pdf(&self, _: &TenantId, id: &DocumentId) -> Result<Attachment, LoadError> {
        Err(LoadError::Never(format!(
            "attachment {id}: no such document"
        )))
    }
}

/// One attachment of an email, as stored (JSON): a document id is a plain string (the shape
/// emails had before stored files existed), a stored file an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttachmentRef {
    /// A ready document (`doc_…`) of the email's tenant, attached as its PDF.
    Document(String),
    /// A file in storage under the tenant's folder (a report's CSV, an inline attachment).
    File(StoredFile),
}

/// A stored file to attach, named and typed for the recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFile {
    /// The storage key, `<area>/<tenant id>/…`.
    pub key: String,
    /// The file name the recipient sees.
    pub filename: String,
    /// The MIME type, e.g. `text/csv; charset=utf-8`.
    pub content_type: String,
}

impl AttachmentRef {
    /// The document id, for document attachments.
    pub fn document_id(&self) -> Option<&str> {
        match self {
            AttachmentRef::Document(id) => Some(id),
            AttachmentRef::File(_) => None,
        }
    }
}

/// Why the attachments could not be loaded: try again later (storage or database unreachable),
/// or never (a missing or foreign file, a document that is not ready).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Later(String),
    #[error("{0}")]
    Never(String),
}

/// The email's attachments with their bytes, in order.
pub async fn load(
    documents: &dyn Documents,
    storage: &dyn FileStore,
    email: &Email,
) -> Result<Vec<Attachment>, LoadError> {
    let mut out = Vec::with_capacity(email.attachments.len());
    for a in &email.attachments {
        out.push(match a {
            AttachmentRef::Document(raw) => {
                let id: DocumentId = raw.parse().map_err(|_| {
                    LoadError::Never(format!("attachment `{raw}` is not a document id"))
                })?;
                documents.pdf(&email.tenant, &id).await?
            }
            AttachmentRef::File(f) => load_file(storage, &email.tenant, f).await?,
        });
    }
    Ok(out)
}

/// A stored file, which must live in the tenant's own folder (`<area>/<tenant>/…`).
async fn load_file(
    storage: &dyn FileStore,
    tenant: &TenantId,
    f: &StoredFile,
) -> Result<Attachment, LoadError> {
    if f.key.split('/').nth(1) != Some(tenant.as_str()) {
        return Err(LoadError::Never(format!(
            "attachment {}: not a file of this tenant",
            f.filename
        )));
    }
    let key = FileKey::new(f.key.clone())
        .map_err(|e| LoadError::Never(format!("attachment {}: {e}", f.filename)))?;
    match storage.get(&key).await {
        Ok(bytes) => Ok(Attachment {
            filename: f.filename.clone(),
            content_type: f.content_type.clone(),
            bytes,
        }),
        Err(StorageError::NotFound) => Err(LoadError::Never(format!(
            "attachment {}: the stored file is gone",
            f.filename
        ))),
        Err(e) => Err(LoadError::Later(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_stay_plain_strings_and_files_are_objects() {
        let list = vec![
            AttachmentRef::Document("doc_1".into()),
            AttachmentRef::File(StoredFile {
                key: "reports/ten_1/rep_1.csv".into(),
                filename: "r.csv".into(),
                content_type: "text/csv".into(),
            }),
        ];
        let text = serde_json::to_string(&list).unwrap();
        assert!(text.starts_with(r#"["doc_1",{"key":"#), "{text}");
        let back: Vec<AttachmentRef> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, list);
        let old: Vec<AttachmentRef> = serde_json::from_str(r#"["doc_2"]"#).unwrap();
        assert_eq!(old[0].document_id(), Some("doc_2"));
    }
}
