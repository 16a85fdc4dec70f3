//! `/v1/documents`: render certificates, receipts and investor updates in the background, follow
//! them, download them, list them, and revoke certificates. Handlers call
//! `longshore_jobs::documents::service`, which the workers share.

use longshore_jobs::documents::kinds::DocumentKind;
use longshore_jobs::documents::service::{self, DocumentError, NewDocument};
use longshore_jobs::ids::DocumentId;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::document_views::{CreateDocument, DocumentList, DocumentView, content_disposition};
use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency;
use crate::problem::ApiError;
use crate::request_id::RequestId;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum DocumentsTag {
    /// PDF documents: certificates (publicly verifiable), receipts, investor updates.
    Documents,
}

impl From<DocumentError> for ApiError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::Invalid(i) => i.into(),
            DocumentError::NotFound => ApiError::not_found("no such document"),
            DocumentError::Conflict(why) => ApiError::conflict(why),
            DocumentError::Db(db) => db.into(),
            DocumentError::Queue(q) => q.into(),
            DocumentError::Storage(s) => {
                tracing::warn!(error = %s, "document storage error");
                ApiError::unavailable("file storage")
            }
            DocumentError::Corrupt(why) => {
                tracing::error!(error = %why, "corrupt document");
                ApiError::internal()
            }
        }
    }
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted: the document is recorded and its render job queued.
    #[oai(status = 202)]
    Document(Json<DocumentView>),
}

#[derive(ApiResponse)]
enum Found {
    /// The document.
    #[oai(status = 200)]
    Document(Json<DocumentView>),
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of documents.
    #[oai(status = 200)]
    Documents(Json<DocumentList>),
}

#[derive(ApiResponse)]
enum Content {
    /// The PDF.
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(
        Binary<Vec<u8>>,
        /// The SHA-256 of the PDF, quoted.
        #[oai(header = "ETag")]
        String,
        /// `inline` with a file name.
        #[oai(header = "Content-Disposition")]
        String,
    ),
    /// `If-None-Match` matched: the client's copy is current.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

fn parse_id(raw: &str) -> Result<DocumentId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such document"))
}

/// The documents API.
pub struct DocumentsApi;

#[OpenApi(prefix_path = "/v1", tag = "DocumentsTag::Documents")]
impl DocumentsApi {
    /// Render a document.
    ///
    /// Records the document (`queued`) and enqueues its render job on the `documents` queue.
    /// Bad data is a 422 naming the field (e.g. `data.line_items`). With an `Idempotency-Key`,
    /// repeating the request within 24 hours returns the same document.
    #[oai(path = "/documents", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        request_id: Data<&RequestId>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<CreateDocument>,
    ) -> Result<Accepted, ApiError> {
        let tenant = auth.0;
        let request = NewDocument {
            kind: body.value.kind,
            data: body.value.data.0,
            metadata: body.value.metadata,
            email: body.value.email,
        };
        let doc = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/documents",
            &body.sha256,
            202,
            |work_key| async {
                let s = &state.services;
                let doc = service::create(
                    &s.db,
                    s.out.as_ref(),
                    &s.config.public_base(),
                    &tenant,
                    work_key.map(|k| k.id(DocumentId::derived)),
                    request,
                    Some(request_id.0.0.clone()),
                )
                .await?;
                Ok(DocumentView::from(doc))
            },
        )
        .await?;
        Ok(Accepted::Document(Json(doc)))
    }

    /// Get a document: its status, and once ready its pages, size and SHA-256.
    #[oai(path = "/documents/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let doc = service::get(&state.services.db, &auth.0, &parse_id(&id.0)?).await?;
        Ok(Found::Document(Json(doc.into())))
    }

    /// Download a ready document's PDF (`ETag` is its SHA-256; 409 until it is ready).
    #[oai(path = "/documents/:id/content", method = "get")]
    async fn content(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
    ) -> Result<Content, ApiError> {
        let id = parse_id(&id.0)?;
        if let Some(tag) = if_none_match.0.as_deref() {
            let doc = service::get(&state.services.db, &auth.0, &id).await?;
            if let Some(sha) = doc
                .sha256
                .filter(|s| tag.split(',').any(|t| t.trim().trim_matches('"') == s))
            {
                return Ok(Content::NotModified(format!("\"{sha}\"")));
            }
        }
        let (doc, bytes) = service::content(
            &state.services.db,
            state.services.storage.as_ref(),
            &auth.0,
            &id,
        )
        .await?;
        let etag = format!("\"{}\"", doc.sha256.clone().unwrap_or_default());
        Ok(Content::Pdf(Binary(bytes), etag, content_disposition(&doc)))
    }

    /// List documents, newest first.
    #[oai(path = "/documents", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only documents of this kind.
        kind: Query<Option<DocumentKind>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Listed, ApiError> {
        let limit = page_limit(limit.0)?;
        let cursor = id_cursor::<DocumentId>(cursor.0)?;
        let (docs, next) = service::list(
            &state.services.db,
            &auth.0,
            kind.0,
            cursor.as_ref().map(|c| c.as_str()),
            limit,
        )
        .await?;
        Ok(Listed::Documents(Json(DocumentList {
            has_more: next.is_some(),
            next_cursor: next,
            data: docs.into_iter().map(DocumentView::from).collect(),
        })))
    }

    /// Revoke a certificate: its verification code answers "not valid" from now on.
    #[oai(path = "/documents/:id/revoke", method = "post")]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let doc = service::revoke(&state.services.db, &auth.0, &parse_id(&id.0)?).await?;
        Ok(Found::Document(Json(doc.into())))
    }
}

/// Every documents-related API, for the OpenAPI service tuple.
pub type DocumentApis = (
    DocumentsApi,
    super::certificate_batches::CertificateBatchesApi,
);

/// The documents-related APIs.
pub fn document_apis() -> DocumentApis {
    (
        DocumentsApi,
        super::certificate_batches::CertificateBatchesApi,
    )
}
