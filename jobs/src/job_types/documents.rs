//! The document jobs on the `documents` queue: `document.render` renders and stores one
//! document, then carries out its email follow-up if it has one (a receipt to the customer, a
//! certificate to its recipient); `certificate_batch.expand` turns a batch into documents and
//! enqueues their renders.
//! The logic lives in `documents::work`; these are the typed envelopes.

use serde::{Deserialize, Serialize};

use crate::documents::work;
use crate::email::service::Creator;
use crate::error::JobError;
use crate::ids::{BatchId, DocumentId};
use crate::registry::{JobContext, JobKind};

/// Renders one document (enqueued by `POST /v1/documents` and by batch expansion).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderDocument {
    pub document_id: DocumentId,
}

impl JobKind for RenderDocument {
    const NAME: &'static str = "document.render";
    const QUEUE: &'static str = "documents";
    const MAX_ATTEMPTS: u32 = 5;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let s = &ctx.services;
        let emails = Creator {
            db: &s.db,
            out: s.out.as_ref(),
            documents: &s.pdfs(),
            storage: s.storage.as_ref(),
        };
        let renderer = work::Renderer {
            db: &s.db,
            storage: s.storage.as_ref(),
            renders: &s.renders,
            emails: &emails,
        };
        work::render_document(&renderer, &ctx.meta, &self.document_id).await
    }

    async fn on_dead(self, ctx: JobContext, error: String) -> Result<(), JobError> {
        work::fail_dead(&ctx.services.db, &self.document_id, &error).await
    }
}

/// Records a batch's certificates and enqueues their render jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpandBatch {
    pub batch_id: BatchId,
}

impl JobKind for ExpandBatch {
    const NAME: &'static str = "certificate_batch.expand";
    const QUEUE: &'static str = "documents";
    const MAX_ATTEMPTS: u32 = 10;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let s = &ctx.services;
        work::expand_batch(&s.db, s.out.as_ref(), &ctx.meta, &self.batch_id).await
    }
}
