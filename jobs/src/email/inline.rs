//! Attachments as a client gives them to `POST /v1/emails`: a ready document by id, or a file
//! inline (`filename`, `content_type`, base64 `content`). [`parse`] turns the request's list
//! into [`Requested`] attachments, naming each bad field (`attachments[1].content`);
//! [`InlineFile::store`] writes an inline file to the file store.
//!
//! Inline bytes are never kept in the email row. Once the whole request is valid they are
//! written under `email-attachments/<tenant id>/<sha256 hex>`: content-addressed per tenant, so
//! the same file attached twice, or sent again by a retried request, is one object. The email
//! records a [`StoredFile`], which send time loads like a report's CSV.
//!
//! Retention: these objects are never deleted. Emails are kept (no retention sweep removes
//! them), and one object may serve many emails of the tenant, so deleting it with one email
//! could break another. An object whose email was never recorded (the enqueue failed after the
//! write) is left behind too; a retry of the request uses it again.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use lettre::message::header::ContentType;

use super::attachments::StoredFile;
use crate::ids::{DocumentId, TenantId};
use crate::storage::{FileKey, FileStore, StorageError, sha256_hex};
use crate::validation::FieldError;

/// Most attachments per email, documents and inline files together.
pub const MAX_ATTACHMENTS: usize = 10;
/// Most bytes of inline files per email, decoded, all files together (10 MiB). The request
/// body limit (`LONGSHORE_MAX_BODY_BYTES`, 2 MiB by default: about 1.5 MiB decoded) usually
/// binds first.
pub const MAX_INLINE_BYTES: usize = 10 * 1024 * 1024;
/// Longest file name, in bytes of UTF-8.
pub const MAX_FILENAME_BYTES: usize = 255;
/// Longest content type, in bytes.
const MAX_CONTENT_TYPE_BYTES: usize = 255;
/// The content type of an inline file that gives none.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
/// The storage area of inline files (keys are `<area>/<tenant id>/<sha256 hex>`).
const AREA: &str = "email-attachments";

/// Standard alphabet; padding optional (ASCII whitespace, as in MIME's wrapped lines, is
/// dropped before decoding).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One attachment as the request gives it: `document_id` alone, or `content` with `filename`
/// (and optionally `content_type`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentInput {
    pub document_id: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    /// Base64 of the file's bytes.
    pub content: Option<String>,
}

impl AttachmentInput {
    /// A document (`doc_…`) to attach.
    pub fn document(id: impl Into<String>) -> Self {
        AttachmentInput {
            document_id: Some(id.into()),
            ..AttachmentInput::default()
        }
    }
}

/// A well-formed attachment: a document still to be checked for readiness, or a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    Document(DocumentId),
    Inline(InlineFile),
}

/// An inline file, checked: a safe name, a MIME type that parses, the decoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl InlineFile {
    /// Writes the bytes under their content address in the tenant's folder, unless an object of
    /// that size is already there, and returns what the email records.
    pub async fn store(
        self,
        storage: &dyn FileStore,
        tenant: &TenantId,
    ) -> Result<StoredFile, StorageError> {
        let key = FileKey::new(format!("{AREA}/{tenant}/{}", sha256_hex(&self.bytes)))
            .map_err(|e| StorageError::Misconfigured(e.to_string()))?;
        match storage.head(&key).await {
            Ok(info) if info.bytes == self.bytes.len() as u64 => {}
            Ok(_) | Err(StorageError::NotFound) => {
                storage.put(&key, self.bytes).await?;
            }
            Err(e) => return Err(e),
        }
        Ok(StoredFile {
            key: key.as_str().to_owned(),
            filename: self.filename,
            content_type: self.content_type,
        })
    }
}

/// The request's well-formed attachments, in order, each with its position in the request;
/// every problem is added to `errors` with its field.
pub fn parse(items: &[AttachmentInput], errors: &mut Vec<FieldError>) -> Vec<(usize, Requested)> {
    if items.len() > MAX_ATTACHMENTS {
        errors.push(FieldError::new(
            "attachments",
            format!("at most {MAX_ATTACHMENTS}"),
        ));
        return Vec::new();
    }
    let out: Vec<(usize, Requested)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((i, parse_one(&format!("attachments[{i}]"), a, errors)?)))
        .collect();
    let inline: usize = out
        .iter()
        .map(|(_, r)| match r {
            Requested::Inline(f) => f.bytes.len(),
            Requested::Document(_) => 0,
        })
        .sum();
    if inline > MAX_INLINE_BYTES {
        errors.push(FieldError::new(
            "attachments",
            format!("inline files may hold at most {MAX_INLINE_BYTES} bytes in all (decoded); this request has {inline}"),
        ));
    }
    out
}

fn parse_one(at: &str, a: &AttachmentInput, errors: &mut Vec<FieldError>) -> Option<Requested> {
    let field = |name: &str| format!("{at}.{name}");
    if let Some(raw) = &a.document_id {
        let inline = [
            ("filename", a.filename.is_some()),
            ("content_type", a.content_type.is_some()),
            ("content", a.content.is_some()),
        ];
        let mut mixed = false;
        for (name, _) in inline.iter().filter(|(_, given)| *given) {
            mixed = true;
            errors.push(FieldError::new(
                field(name),
                "not allowed with `document_id`: give a document id or an inline file, not both",
            ));
        }
        let Ok(id) = raw.parse::<DocumentId>() else {
            errors.push(FieldError::new(
                field("document_id"),
                "must be a document id (doc_…)",
            ));
            return None;
        };
        return (!mixed).then_some(Requested::Document(id));
    }
    let Some(content) = &a.content else {
        let (name, message) = if a.filename.is_some() || a.content_type.is_some() {
            (field("content"), "is required: the file's bytes in base64")
        } else {
            (
                at.to_owned(),
                "give `document_id`, or `filename` and `content` (base64)",
            )
        };
        errors.push(FieldError::new(name, message));
        return None;
    };
    let filename = match &a.filename {
        None => Err("is required with `content`".to_owned()),
        Some(f) => check_filename(f),
    }
    .map_err(|why| errors.push(FieldError::new(field("filename"), why)));
    let content_type = check_content_type(a.content_type.as_deref())
        .map_err(|why| errors.push(FieldError::new(field("content_type"), why)));
    let bytes = decode(content).map_err(|why| errors.push(FieldError::new(field("content"), why)));
    Some(Requested::Inline(InlineFile {
        filename: filename.ok()?,
        content_type: content_type.ok()?,
        bytes: bytes.ok()?,
    }))
}

/// A name the recipient sees: 1 to 255 bytes, no path separators, no control characters, not
/// only spaces, not `.` or `..`.
fn check_filename(name: &str) -> Result<String, String> {
    if name.trim().is_empty() || name.len() > MAX_FILENAME_BYTES {
        return Err(format!(
            "must be 1 to {MAX_FILENAME_BYTES} bytes, not only spaces"
        ));
    }
    if name.contains(['/', '\\']) || matches!(name, "." | "..") {
        return Err("must be a file name, not a path (no `/` or `\\`)".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name.to_owned())
}

/// A MIME type as the message builder parses it (`type/subtype`, parameters allowed), naming a
/// single part: no wildcard, no `multipart/*` (the bytes are not a multipart body).
fn check_content_type(given: Option<&str>) -> Result<String, String> {
    let Some(raw) = given else {
        return Ok(DEFAULT_CONTENT_TYPE.to_owned());
    };
    let ct = raw.trim();
    let invalid = || {
        format!(
            "must be a MIME type such as `application/pdf` or `text/plain; charset=utf-8` (at most {MAX_CONTENT_TYPE_BYTES} bytes)"
        )
    };
    if ct.len() > MAX_CONTENT_TYPE_BYTES
        || ct.chars().any(char::is_control)
        || ContentType::parse(ct).is_err()
    {
        return Err(invalid());
    }
    // The parser lets an empty subtype (`text/`) through.
    let essence = ct.split(';').next().unwrap_or_default();
    let Some((kind, subtype)) = essence.trim().split_once('/') else {
        return Err(invalid());
    };
    if kind.is_empty() || subtype.is_empty() {
        return Err(invalid());
    }
    if kind == "*" || subtype == "*" {
        return Err("must name one type, not a wildcard".into());
    }
    if kind.eq_ignore_ascii_case("multipart") {
        return Err("cannot be multipart/*: an attachment is a single part".into());
    }
    Ok(ct.to_owned())
}

/// The bytes of base64 `content`.
fn decode(content: &str) -> Result<Vec<u8>, String> {
    let compact: Vec<u8> = content
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    BASE64
        .decode(&compact)
        .map_err(|e| format!("must be base64 (standard alphabet): {e}"))
}
