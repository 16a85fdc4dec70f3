//! Documents as email attachments: the [`Documents`] port that email reads them through.

use async_trait::async_trait;

use super::model::{Document, DocumentStatus};
use super::repo;
use super::service::{DocumentError, content};
use crate::db::{Db, DbError};
use crate::email::attachments::{Documents, LoadError, Readiness};
use crate::email::message::Attachment;
use crate::ids::{DocumentId, TenantId};
use crate::storage::FileStore;

/// A tenant's rendered documents, read from the database and storage.
pub struct Pdfs<'a> {
    pub db: &'a Db,
    pub storage: &'a dyn FileStore,
}

#[async_trait]
impl Documents for Pdfs<'_> {
    async fn readiness(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
    ) -> Result<Option<Readiness>, DbError> {
        Ok(repo::get(self.db, tenant, id).await?.map(|doc| {
            if doc.status == DocumentStatus::Ready {
                Readiness::Ready
            } else {
                Readiness::NotReady(doc.status.to_string())
            }
        }))
    }

    async fn pdf(&self, tenant: &TenantId, id: &DocumentId) -> Result<Attachment, LoadError> {
        match content(self.db, self.storage, tenant, id).await {
            Ok((doc, bytes)) => Ok(Attachment {
                filename: attachment_name(&doc),
                content_type: "application/pdf".into(),
                bytes,
            }),
            Err(DocumentError::Db(e)) => Err(LoadError::Later(e.to_string())),
            Err(DocumentError::Storage(e)) => Err(LoadError::Later(e.to_string())),
            Err(e) => Err(LoadError::Never(format!("attachment {id}: {e}"))),
        }
    }
}

/// `receipt-R-000001.pdf`, `certificate-doc_….pdf`: a name that tells the recipient what it is.
pub fn attachment_name(doc: &Document) -> String {
    let label = doc
        .receipt_number
        .clone()
        .unwrap_or_else(|| doc.id.to_string());
    format!("{}-{label}.pdf", doc.kind.as_str().replace('_', "-"))
}
