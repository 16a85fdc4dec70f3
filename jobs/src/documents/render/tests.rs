//! Rendering each kind end to end: valid PDFs, expected page counts and extractable text
//! (through `pdftotext` from poppler-utils), deterministic bytes, and clear failures.

use std::io::Write;
use std::process::Command;

use serde_json::json;

use super::*;
use crate::documents::kinds::{DocumentData, DocumentKind};

fn input(kind: DocumentKind, data: serde_json::Value) -> RenderInput {
    let data = DocumentData::parse(kind, "data", &data).expect("valid fixture");
    let verification = (kind == DocumentKind::Certificate).then(|| {
        let code = VerificationCode::with_random_part("7KQ2MXH4RT9B0VZ3P");
        let url = format!("https://docs.example.com/v/{}", code.grouped());
        (code, url)
    });
    RenderInput {
        data,
        issuer: "Acme Training Ltd".into(),
        verification,
        receipt_number: (kind == DocumentKind::Receipt).then(|| "R-000042".to_owned()),
    }
}

/// Certificate data for `name`.
pub fn certificate(name: &str) -> serde_json::Value {
    json!({"recipient_name": name, "course_title": "Advanced Rust for Services", "issued_on": "2026-03-14", "credits": 7.5, "issuer": "Acme Training Ltd"})
}

fn receipt() -> serde_json::Value {
    json!({
        "amount": 123_450, "currency": "USD", "reference": "ORD-2026-0042", "paid_at": "2026-03-01T10:30:00Z",
        "customer_name": "Łukasz Wróbel",
        "line_items": [{"description": "Workshop seat", "quantity": 2, "amount": 100_000}, {"description": "Lunch", "amount": 23_450}]
    })
}

fn investor_update(paragraphs: usize) -> serde_json::Value {
    let body = (0..paragraphs)
        .map(|i| format!("Paragraph {i}: revenue grew steadily as customers in Europe and Asia adopted the platform, and the team shipped the features investors asked about last quarter."))
        .collect::<Vec<_>>()
        .join("\n\n");
    json!({
        "company": "Ολυμπία Systems", "period": "Q3 2026", "published_on": "2026-10-05",
        "kpis": [{"name": "ARR", "value": "$1.2M", "change": "+12%"}, {"name": "Customers", "value": "340"}],
        "sections": [{"heading": "Highlights", "body": body}, {"heading": "Outlook", "body": "Steady."}]
    })
}

fn code_text() -> String {
    VerificationCode::with_random_part("7KQ2MXH4RT9B0VZ3P").grouped()
}

fn pdftotext(pdf: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(file.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_certificate_is_one_page_with_its_text_and_is_deterministic() {
    let doc = render(&input(DocumentKind::Certificate, certificate("Zoë Ñúñez"))).unwrap();
    assert!(doc.pdf.starts_with(b"%PDF-"));
    assert_eq!(doc.pages, 1);
    assert!(doc.pdf.len() < 60_000, "{} bytes", doc.pdf.len());
    let text = pdftotext(&doc.pdf);
    for expected in [
        "Zoë Ñúñez",
        "Advanced Rust for Services",
        "7.5 CPD credits",
        "14 March 2026",
        &code_text(),
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    let again = render(&input(DocumentKind::Certificate, certificate("Zoë Ñúñez"))).unwrap();
    assert_eq!(again.sha256, doc.sha256, "same input, same bytes");
    let other = render(&input(DocumentKind::Certificate, certificate("Ann Other"))).unwrap();
    assert_ne!(other.sha256, doc.sha256);
}

#[test]
fn non_latin_names_extract_as_written() {
    for name in ["Łukasz Wróbel", "Ολυμπία", "Zoë Ñúñez", "Алексей Смирнов"]
    {
        let doc = render(&input(DocumentKind::Certificate, certificate(name))).unwrap();
        assert!(pdftotext(&doc.pdf).contains(name), "{name}");
    }
}

#[test]
fn a_receipt_prints_amounts_for_its_currency() {
    let doc = render(&input(DocumentKind::Receipt, receipt())).unwrap();
    assert_eq!(doc.pages, 1);
    let text = pdftotext(&doc.pdf);
    for expected in [
        "RECEIPT",
        "R-000042",
        "ORD-2026-0042",
        "Łukasz Wróbel",
        "USD 1,000.00",
        "USD 234.50",
        "USD 1,234.50",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
}

#[test]
fn a_long_investor_update_flows_onto_more_pages() {
    let doc = render(&input(DocumentKind::InvestorUpdate, investor_update(60))).unwrap();
    assert!(doc.pages >= 2, "{} pages", doc.pages);
    let text = pdftotext(&doc.pdf);
    assert!(text.contains("Ολυμπία Systems"));
    assert!(text.contains("Paragraph 0:") && text.contains("Paragraph 59:"));
    assert!(text.contains(&format!("page {} of {}", doc.pages, doc.pages)));
    let short = render(&input(DocumentKind::InvestorUpdate, investor_update(2))).unwrap();
    assert_eq!(short.pages, 1);
}

#[test]
fn text_the_font_cannot_draw_is_a_clear_error() {
    let err = render(&input(DocumentKind::Certificate, certificate("Crab 🦀"))).unwrap_err();
    assert_eq!(
        err,
        RenderError::Unsupported {
            field: "data.recipient_name".into(),
            ch: '🦀'
        }
    );
    assert!(err.to_string().contains("U+1F980"), "{err}");
}

/// The page as a grey picture: `pdftoppm -gray` writes a binary PGM (`P5`).
fn rasterise(pdf: &[u8], dpi: u32) -> (usize, usize, Vec<u8>) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pdf).unwrap();
    let out = Command::new("pdftoppm")
        .args(["-gray", "-r", &dpi.to_string(), "-singlefile"])
        .arg(file.path())
        .output()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pgm = out.stdout;
    // Header: "P5", width, height, max value, each followed by one whitespace byte.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = pgm[at + 1..].to_vec();
    assert_eq!(pixels.len(), w * h);
    (w, h, pixels)
}

#[test]
fn the_printed_qr_code_opens_the_verification_page() {
    let input = input(DocumentKind::Certificate, certificate("Zoë Ñúñez"));
    let doc = render(&input).unwrap();
    let (w, h, pixels) = rasterise(&doc.pdf, 150);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    let (_, url) = grids[0].decode().expect("the QR code decodes");
    assert_eq!(url, input.verification.unwrap().1);
}
