//! Rendering documents to PDF with krilla (measured here at hundreds of one-page certificates
//! per second per core and about 25 KB each; genpdf managed 4.5/s and 3.4 MB).
//!
//! [`render`] is a pure, blocking function: data in, bytes out. Callers run it on a blocking
//! thread (see `job_types::documents`). The output is deterministic: the creation date comes
//! from the data and the PDF's document id from a hash of the input, so the same input gives
//! byte-identical PDFs and the recorded sha256 means something to a verifier.
//!
//! Layouts (one module per kind) produce pages of drawing operations ([`layout`]); [`emit`]
//! writes them. Text the embedded font cannot draw is refused up front with the field's name.

mod certificate;
pub mod emit;
pub mod fonts;
mod investor;
pub mod layout;
pub mod qr;
mod receipt;
#[cfg(test)]
mod tests;
mod text;

use sha2::{Digest, Sha256};

use super::code::VerificationCode;
use super::kinds::DocumentData;
use emit::PdfMeta;
use layout::Weight;

/// Most pages one document may have.
pub const MAX_PAGES: usize = 60;

/// Everything a document's PDF depends on, and nothing else.
#[derive(Debug, Clone)]
pub struct RenderInput {
    pub data: DocumentData,
    /// Who issues the document (for certificates, already resolved into the data).
    pub issuer: String,
    /// Certificates: the code and the URL its QR code points to.
    pub verification: Option<(VerificationCode, String)>,
    /// Receipts: the per-tenant receipt number.
    pub receipt_number: Option<String>,
}

/// A rendered PDF.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: u32,
    /// Hex SHA-256 of `pdf`.
    pub sha256: String,
}

/// Why a document could not be rendered. Every variant is permanent: rendering is
/// deterministic, so trying again gives the same answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("{field} contains {ch:?} (U+{code:04X}), which the document font cannot draw", code = *ch as u32)]
    Unsupported { field: String, ch: char },
    #[error("the document would need more than {0} pages")]
    TooManyPages(usize),
    #[error("{0}")]
    Invalid(String),
    #[error("PDF engine error: {0}")]
    Engine(String),
}

/// Lays out and writes the PDF for `input`. Blocking and CPU-bound: run it off the async threads.
pub fn render(input: &RenderInput) -> Result<Rendered, RenderError> {
    let fonts = fonts::fonts()
        .ok_or_else(|| RenderError::Engine("embedded fonts are unreadable".into()))?;
    for (field, text, weight) in texts(input) {
        let face = match weight {
            Weight::Regular => &fonts.regular,
            Weight::Bold => &fonts.bold,
        };
        if let Some(ch) = face.missing(&text) {
            return Err(RenderError::Unsupported { field, ch });
        }
    }
    let (pages, title, created) = match &input.data {
        DocumentData::Certificate(d) => {
            let (code, url) = input.verification.as_ref().ok_or_else(|| {
                RenderError::Invalid("a certificate needs a verification code".into())
            })?;
            let pages = certificate::layout(fonts, d, &input.issuer, code, url)?;
            let created = d.issued_on.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            (pages, format!("Certificate: {}", d.course_title), created)
        }
        DocumentData::Receipt(d) => {
            let number = input.receipt_number.as_deref().unwrap_or("");
            let pages = receipt::layout(fonts, d, &input.issuer, number)?;
            (pages, format!("Receipt {number}"), Some(d.paid_at))
        }
        DocumentData::InvestorUpdate(d) => {
            let pages = investor::layout(fonts, d)?;
            let created = d
                .published_on
                .and_then(|p| p.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc());
            (
                pages,
                format!("{}: investor update {}", d.company, d.period),
                created,
            )
        }
    };
    let meta = PdfMeta {
        title,
        author: input.issuer.clone(),
        created: created.map(|t| {
            use chrono::{Datelike, Timelike};
            let year = u16::try_from(t.year()).unwrap_or(1970);
            (
                year,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
        }),
        document_id: content_id(input),
    };
    let pdf = emit::emit(fonts, &pages, &meta)?;
    let sha256 = hex::encode(Sha256::digest(&pdf));
    Ok(Rendered {
        pages: pages.pages.len() as u32,
        pdf,
        sha256,
    })
}

/// A hash of everything the PDF depends on: its document id.
fn content_id(input: &RenderInput) -> String {
    let mut h = Sha256::new();
    h.update(input.data.kind().as_str());
    h.update([0]);
    h.update(input.data.to_json().to_string());
    h.update([0]);
    h.update(&input.issuer);
    if let Some((code, url)) = &input.verification {
        h.update([0]);
        h.update(code.as_str());
        h.update([0]);
        h.update(url);
    }
    if let Some(n) = &input.receipt_number {
        h.update([0]);
        h.update(n);
    }
    hex::encode(&h.finalize()[..16])
}

/// Every text a layout prints, with the field it comes from and the face it is drawn in.
fn texts(input: &RenderInput) -> Vec<(String, String, Weight)> {
    let mut out = vec![("issuer".to_owned(), input.issuer.clone(), Weight::Regular)];
    let mut add = |field: &str, text: &str, w: Weight| {
        out.push((format!("data.{field}"), text.to_owned(), w))
    };
    match &input.data {
        DocumentData::Certificate(d) => {
            add("recipient_name", &d.recipient_name, Weight::Bold);
            add("course_title", &d.course_title, Weight::Bold);
        }
        DocumentData::Receipt(d) => {
            add("reference", &d.reference, Weight::Regular);
            add("customer_name", &d.customer_name, Weight::Regular);
            if let Some(p) = &d.payment_id {
                add("payment_id", p, Weight::Regular);
            }
            for (i, item) in d.line_items.iter().enumerate() {
                add(
                    &format!("line_items[{i}].description"),
                    &item.description,
                    Weight::Regular,
                );
            }
        }
        DocumentData::InvestorUpdate(d) => {
            add("company", &d.company, Weight::Bold);
            add("period", &d.period, Weight::Regular);
            for (i, k) in d.kpis.iter().enumerate() {
                add(&format!("kpis[{i}].name"), &k.name, Weight::Regular);
                add(&format!("kpis[{i}].value"), &k.value, Weight::Bold);
                add(
                    &format!("kpis[{i}].change"),
                    k.change.as_deref().unwrap_or(""),
                    Weight::Regular,
                );
            }
            for (i, s) in d.sections.iter().enumerate() {
                add(&format!("sections[{i}].heading"), &s.heading, Weight::Bold);
                add(&format!("sections[{i}].body"), &s.body, Weight::Regular);
            }
        }
    }
    out
}
