//! Certificate, receipt and investor-update data (`POST /v1/documents`, batches), through to
//! the PDF.

use longshore_jobs::documents::code::VerificationCode;
use longshore_jobs::documents::kinds::{DocumentData, DocumentKind};
use longshore_jobs::documents::render::{MAX_PAGES, RenderInput, render};

use crate::input::{first_line, text};

/// A document's `kind` and `data`. Input: the kind's word (anything else tries every kind),
/// `\n`, the data's JSON.
///
/// Asserts that data that parses is stored as JSON that reads back equal and parses again
/// unchanged (what a batch or a re-render reads), and renders to a PDF of at most
/// [`MAX_PAGES`] pages or is refused with a render error, never a panic in layout or the PDF
/// engine.
pub fn document_data(data: &[u8]) {
    let (kind, json) = first_line(data);
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let kinds = match text(kind).and_then(|k| k.parse().ok()) {
        Some(k) => vec![k],
        None => DocumentKind::ALL.to_vec(),
    };
    for kind in kinds {
        let Ok(parsed) = DocumentData::parse(kind, "data", &value) else {
            continue;
        };
        let stored = parsed.to_json().to_string();
        let read = DocumentData::from_stored(kind, &stored).expect("stored data reads back");
        assert_eq!(read, parsed);
        let stored: serde_json::Value = serde_json::from_str(&stored).expect("stored JSON");
        assert_eq!(
            DocumentData::parse(kind, "data", &stored).ok(),
            Some(parsed.clone())
        );
        let input = RenderInput {
            data: parsed,
            issuer: "Fuzz Academy".into(),
            verification: Some((
                VerificationCode::from_trusted("7KQ2MXH4RT9B0VZ3PE"),
                "https://verify.example/v/7KQ2MX-H4RT9B-0VZ3PE".into(),
            )),
            receipt_number: Some("R-000042".into()),
        };
        if let Ok(pdf) = render(&input) {
            assert!((1..=MAX_PAGES as u32).contains(&pdf.pages));
            assert!(pdf.pdf.starts_with(b"%PDF-"));
        }
    }
}
