//! The document jobs on the `documents` queue: `document.render` renders and stores one
//! document, then carries out its email follow-up if it has one (a receipt to the customer, a
//! certificate to its recipient); `certificate_batch.expand` turns a batch into documents and
//! enqueues their renders.
//! The logic lives in `documents::work`; these are the typed envelopes.

use serde::{Deserialize, Serialize};

use crate::documents::work;
use crate::error::JobError;
use crate::ids::{BatchId, DocumentId};
use crate::registry::{JobContext, JobKind};

/// Renders one document (enqueued by `POST /v1/documents` and by batch expansion).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderDocument {
    pub document_id: DocumentId,
}

impl JobKind for RenderDocument {
    const NAME: &'static str = "document.render";
    const QUEUE: &'static str = "documents";
    const MAX_ATTEMPTS: u32 = 5;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        work::render_document(&ctx.services, &ctx.meta, &self.document_id).await
    }
}

/// Records a batch's certificates and enqueues their render jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpandBatch {
    pub batch_id: BatchId,
}

impl JobKind for ExpandBatch {
    const NAME: &'static str = "certificate_batch.expand";
    const QUEUE: &'static str = "documents";
    const MAX_ATTEMPTS: u32 = 10;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        work::expand_batch(&ctx.services, &ctx.meta, &self.batch_id).await
    }
}
